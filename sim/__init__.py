"""cocotb + Verilator simulation, activity counters, energy and cycle models."""
