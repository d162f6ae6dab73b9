"""Training data: OIE2016 tuples projected onto tokens (prepare, project), the
predicate-indexed rows (predicates) and labels aligned to sub-tokens (align).
"""
