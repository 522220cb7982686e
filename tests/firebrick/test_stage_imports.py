"""The stage folders import each other in one direction only, in the order the README states."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: folder -> its import name under `firebrick.`, in dependency order: each may import only those before it
STAGES = ["firebrick", "models", "quant", "hw", "boards", "sim", "explore", "cli"]
RANK = {name: i for i, name in enumerate(STAGES)}


def imported_stages(path: Path) -> set[tuple[str, int]]:
    """(stage, line) of every `firebrick.STAGE` import in a file, function-level imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + ([f"{node.module}.{alias.name}" for alias in node.names] if node.module == "firebrick" else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "firebrick":
                stage = parts[1] if len(parts) > 1 and parts[1] in RANK else "firebrick"
                found.add((stage, node.lineno))
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_only_the_stages_before_it(stage):
    folder = ROOT / stage
    files = sorted(folder.rglob("*.py"))
    assert files, f"no Python files under {folder}"
    upward = [f"{path.relative_to(ROOT)}:{line} imports firebrick.{other}"
              for path in files for other, line in sorted(imported_stages(path)) if RANK[other] > RANK[stage]]
    assert not upward, "imports against the stage order " + " -> ".join(STAGES) + ":\n" + "\n".join(upward)


def test_the_checker_sees_function_level_and_package_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from firebrick.sim.energy import frame_energy\nfrom firebrick import explore\nimport firebrick.errors\n")
    assert imported_stages(sample) == {("sim", 2), ("explore", 3), ("firebrick", 3), ("firebrick", 4)}
