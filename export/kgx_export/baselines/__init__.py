"""Baselines and comparisons: the spaCy dependency rules, the CaRB dev table
and the throughput comparison of the models.
"""
