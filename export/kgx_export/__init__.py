"""kgx model side: data preparation, PEFT training, ONNX export and parity.

Packages: data (OIE2016 -> token-labelled rows), train (PEFT methods and
the training loop), onnx_export (merge/bake, ONNX export, parity), cards (model
cards), baselines (spaCy rules, CaRB and throughput comparisons); shared:
common (paths, labels, I/O), metrics (span metrics), parse (spaCy).
Run `python -m kgx_export.onnx_export`, `python -m kgx_export.train` or
`python -m kgx_export.<package>.<module>` with export/ on PYTHONPATH (the
Makefile does this).
"""
