"""Amaranth accelerator generator: systolic array, on-chip SRAM, controller, top level."""
