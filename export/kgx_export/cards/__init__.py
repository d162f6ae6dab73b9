"""Model cards (README.md) for each kind of model, from shared sections.
"""
