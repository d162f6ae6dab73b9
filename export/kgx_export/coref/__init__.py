"""Coreference resolver: data (GAP), the pronoun-antecedent scorer, training, ONNX export with parity."""
