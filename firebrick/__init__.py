"""firebrick: co-design of SqueezeNet/ZynqNet-like CNNs and the FPGA/ASIC accelerators that run them."""

__version__ = "0.1.0"
