"""Fine-tune a token classifier with a PEFT adapter: see train/trainer.py.
Run: python -m kgx_export.train --method lora|prefix|prompt [--scheme single|predicate|layered]
"""
from kgx_export.train.trainer import main

main()
