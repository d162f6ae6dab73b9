"""kgx model side: data preparation, LoRA training, ONNX export and parity.

Modules: project (tuple -> token labels), prepare (OIE2016 -> jsonl),
align (labels -> first sub-tokens), metrics, train, onnx_tools, parity,
card, build. Run them as `python -m kgx_export.<module>` with export/ on
PYTHONPATH (the Makefile does this).
"""
