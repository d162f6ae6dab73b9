"""First names and the gender of the people GAP gives them, for the
resolver's agreement check.

Takes: GAP development (`../shared/data/gap`, training data only).
Gives: models/kgx-coref-minilm/first_names.tsv, `NAME<TAB>m|f` a line,
sorted: the first word of every two-or-more-word A and B name
(`data.candidate_names`: both carry the pronoun's gender), kept when every row that has it agrees on one gender. kgx never links a
he/she pronoun to an entity whose full name starts with a first name of
the other gender ("Anna Berg hired Tom Lee. He ..." cannot be Anna Berg);
a name not in the file constrains nothing.
Run: python -m kgx_export.coref.names
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from kgx_export.coref.data import candidate_names, read_gap
from kgx_export.coref.train import GAP, OUT

# Words that open a name but are not first names (kgx drops titles from names).
NOT_FIRST = {"Mr", "Mrs", "Ms", "Miss", "Dr", "Sir", "Dame", "Lord", "Lady", "Saint", "St", "The", "King", "Queen",
             "Prince", "Princess", "General", "Captain", "Judge", "President", "Professor", "Father", "Sister"}


def first_name_genders(rows: list[dict]) -> dict[str, str]:
    """First word -> "m" or "f", for first words that GAP only ever gives one gender."""
    seen: dict[str, set[str]] = defaultdict(set)
    for feminine, words in candidate_names(rows):
        first = words[0].rstrip(".") if words else ""
        if len(words) >= 2 and first.isalpha() and first[0].isupper() and len(first) > 1 and first not in NOT_FIRST:
            seen[first].add("f" if feminine else "m")
    return {name: genders.pop() for name, genders in sorted(seen.items()) if len(genders) == 1}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gap", type=Path, default=GAP / "gap-development.tsv")
    ap.add_argument("--out", type=Path, default=OUT / "first_names.tsv")
    a = ap.parse_args(argv)
    names = first_name_genders(read_gap(a.gap))
    a.out.write_text("".join(f"{n}\t{g}\n" for n, g in names.items()), encoding="utf-8")
    counts = {g: sum(v == g for v in names.values()) for g in ("m", "f")}
    print(f"{a.out}: {len(names)} first names ({counts['m']} masculine, {counts['f']} feminine)")


if __name__ == "__main__":
    main()
