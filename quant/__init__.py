"""Quantization: calibration, dynamic fixed point, codebooks, the dataflow graph and its golden executor."""
