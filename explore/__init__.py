"""Co-design sweeps: specs, search, result store, Pareto analysis, reports."""
