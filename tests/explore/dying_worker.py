"""A point evaluator that kills its own worker process the first time it sees hardware.rows == 8 (for the runner test)."""

import os
from pathlib import Path

from firebrick.explore.runner import _safe_evaluate


def evaluate_or_die(spec_dict, point, out_dir):
    marker = Path(out_dir) / "died-once"
    if point.get("hardware.rows") == 8 and not marker.exists():
        marker.write_text("")
        os._exit(9)  # as if killed or out of memory
    return _safe_evaluate(spec_dict, point, out_dir)
