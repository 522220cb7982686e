"""Numbers as people read them, in tables and reports: thousands separated, no exponents, yes/no."""

from __future__ import annotations


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):  # counts that arrive as floats read as counts
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, (tuple, list)):
        return "x".join(str(v) for v in value)
    return "" if value is None else str(value)
