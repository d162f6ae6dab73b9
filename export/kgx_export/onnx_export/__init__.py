"""Merge or bake an adapter, export ONNX, enforce parity (merged, layered,
virtual; shared steps in common, onnx_tools, parity, timing).
"""
