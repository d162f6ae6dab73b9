"""Projection of OIE tuples onto whitespace tokens (kgx_export.data.project)."""
from kgx_export.data.project import choose_triple, parse_oie_line, project


def labels(sentence, a1, pred, a2):
    return project(sentence.split(), a1, pred, a2)


def test_exact_contiguous():
    p = labels("Courtaulds ' spinoff reflects pressure on British industry",
               "Courtaulds ' spinoff", "reflects", "pressure on British industry")
    assert p.labels == ["SRC"] * 3 + ["REL"] + ["TGT"] * 4
    assert (p.missing, p.overlap, p.unordered) == (0, 0, 0)


def test_missing_words_are_skipped_and_counted():
    p = labels("he prepares to boost share prices", "he", "might boost", "share prices")
    assert p.labels == ["SRC", "O", "O", "REL", "TGT", "TGT"]
    assert p.missing == 1 and p.complete()
    p = labels("the cat ate fish", "the cat", "[is] ate", "big fish")
    assert p.labels == ["SRC", "SRC", "REL", "TGT"] and p.missing == 2


def test_repeated_words_keep_order_and_stay_close():
    s = "the cat saw the dog and the cat ran"
    assert labels(s, "the cat", "saw", "the dog").labels[:5] == ["SRC", "SRC", "REL", "TGT", "TGT"]
    # "ran" is at the end: the later "the cat" is closer but the earlier keeps SRC<REL order
    p = labels(s, "the cat", "ran", "the dog")
    assert p.labels == ["SRC", "SRC", "O", "TGT", "TGT", "O", "O", "O", "REL"]
    # the closest occurrence is chosen when order is equal
    p = labels("a dog saw a cat and then a dog saw a mouse", "a dog", "saw", "a mouse")
    assert p.labels[7:] == ["SRC", "SRC", "REL", "TGT", "TGT"]
    assert p.labels[:7] == ["O"] * 7


def test_punctuation_tokens():
    s = "Mr. Smith , the CEO , said the company 's sales rose ."
    p = labels(s, "Mr. Smith , the CEO", "said", "the company 's sales rose")
    assert p.labels == ["SRC"] * 5 + ["O", "REL"] + ["TGT"] * 5 + ["O"]


def test_overlapping_args_never_share_words():
    p = labels("John said he would come", "John", "said", "said he would come")
    assert p.labels == ["SRC", "REL", "TGT", "TGT", "TGT"]
    assert p.overlap == 1 and p.complete()
    # the second part fully inside the first: nothing left for it
    p = labels("big red house", "big red house", "red", "house")
    assert not p.complete()


def test_out_of_order_tuple_still_projects():
    p = labels("`` I 'm fine , '' vows Rennie", "Rennie", "vows", "I 'm fine")
    assert p.labels == ["O", "TGT", "TGT", "TGT", "O", "O", "REL", "SRC"]


def test_choose_triple_skips_incomplete_tuples():
    lines = ["a b c d\tb\tb\ta",  # no ARG2
             "a b c d\tx\tx\ta\tc",  # predicate absent from the sentence
             "a b c d\tc\tc\tb\td",
             "a b c d\tb\tb\ta\tc"]
    tuples = [parse_oie_line(l)[1] for l in lines]
    idx, p = choose_triple("a b c d".split(), tuples)
    assert idx == 2 and p.labels == ["O", "SRC", "REL", "TGT"]
    assert choose_triple("a b".split(), tuples[:2]) is None
