"""Fine-tuning: the PEFT methods (methods), the layered and virtual-token
model pieces (layered, virtual) and the training loop (trainer).
"""
