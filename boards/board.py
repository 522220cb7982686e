"""Boards and technologies: `boards/*.yaml` loaded into a validated `Board`.

A board file names the device, its resources, the default clock, the open
toolchain (if any) and the energy table that prices a frame. `extends: NAME`
makes a variant: the named file's mapping with this file's keys laid over it
(nested mappings merge key by key), so a variant states only what differs.
"""

from __future__ import annotations

import dataclasses
import functools
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firebrick.errors import unknown_name
from firebrick.schema import ConfigError, from_mapping, merge, read_yaml_mapping
from firebrick.boards.energy_table import EnergyTable

BOARDS_DIR = Path(__file__).parent
DEFAULT_BOARD = "ulx3s"
KINDS = ("fpga", "asic")
#: where a board file's clock comes from: the board's oscillator as it is, a PLL clock that place-and-route
#: met for the default design, or an assumption (no open timing flow)
CLOCK_BASES = ("oscillator", "measured", "assumed")
#: the Yosys synthesis command per family (ASICs have none here)
SYNTH_COMMANDS = {"ecp5": "synth_ecp5", "ice40": "synth_ice40", "xc7": "synth_xilinx", "xcup": "synth_xilinx"}
PLACE_ROUTE_TOOLS = ("nextpnr-ecp5", "nextpnr-ice40")
#: families whose large RAM the generator uses, and the Yosys option that maps it: UltraScale+ UltraRAM and iCE40
#: UltraPlus SPRAM
LARGE_RAM_FAMILIES = {"xcup": "-uram", "ice40": "-spram"}


@dataclass(frozen=True)
class BlockRam:
    """The device's block RAM: how many blocks and the (depth, width) shapes one block can take."""

    primitive: str
    blocks: int
    bits_per_block: int
    configs: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if self.blocks < 0 or self.bits_per_block <= 0 or not self.configs:
            raise ValueError("block RAM needs blocks >= 0, bits_per_block > 0 and at least one [depth, width] config")

    @property
    def bits(self) -> int:
        return self.blocks * self.bits_per_block


@dataclass(frozen=True)
class OtherRam:
    """Large RAM beside the block RAM (UltraScale+ UltraRAM, iCE40 SPRAM). It has no initial contents, so it can
    hold only memories the design writes before it reads: those loaded at run time, and the activations.

    With `configs` (the widest is its block's own shape; narrower ones are synthesis packing narrow words into the
    block's lanes) and `ram_style` (the attribute value that asks Yosys and Vivado for it), the fit check counts it
    and the generator puts memories there when the block RAM is short; without them it is listed only.
    `single_port` (iCE40 SPRAM): one address a cycle, so it holds only memories that are not written while the
    accelerator reads them: those loaded before the frames run, not the activations."""

    primitive: str
    blocks: int
    bits_per_block: int
    configs: tuple[tuple[int, int], ...] = ()
    ram_style: str | None = None
    single_port: bool = False

    def __post_init__(self) -> None:
        if self.blocks < 0 or self.bits_per_block <= 0:
            raise ValueError("other_ram needs blocks >= 0 and bits_per_block > 0")
        if bool(self.configs) != bool(self.ram_style):
            raise ValueError("other_ram: configs and ram_style go together (both to use the RAM, neither to list it only)")

    @property
    def used_by_generator(self) -> bool:
        return bool(self.configs)

    @property
    def native_shape(self) -> tuple[int, int]:
        """The block's own (depth, width): the widest of `configs`."""
        return max(self.configs, key=lambda shape: shape[1])

    @property
    def bits(self) -> int:
        return self.blocks * self.bits_per_block


@dataclass(frozen=True)
class Resources:
    luts: int
    ffs: int
    dsps: int
    dsp_primitive: str
    #: LUT inputs (4 on Lattice, 6 on Xilinx): what a "LUT" counts
    lut_inputs: int
    #: LUTs one int8 x int8 multiplier takes when no DSP is left (Yosys with `booth`)
    luts_per_lut_multiplier: int
    block_ram: BlockRam
    #: the rest of the design's LUTs ~ base + per_pe x rows x cols + per_lane x cols + per_lane_squared x cols^2
    #: (PE accumulators; the lane crossbars, 2 x cols banks by cols lanes; write-back, controller), fitted to
    #: Yosys runs of whole accelerators (see the board file)
    logic_luts_base: int = 0
    logic_luts_per_pe: float = 0
    logic_luts_per_lane: float = 0
    logic_luts_per_lane_squared: float = 0
    #: what a design loaded at run time adds to that (the loader, the memories' write ports, the program memory's
    #: decode) ~ loader_base + loader_per_lane x cols; 0 where the model above was fitted to loaded designs
    logic_luts_loader_base: float = 0
    logic_luts_loader_per_lane: float = 0
    other_ram: OtherRam | None = None

    def __post_init__(self) -> None:
        if min(self.luts, self.ffs, self.dsps, self.logic_luts_base, self.logic_luts_per_pe, self.logic_luts_per_lane,
               self.logic_luts_per_lane_squared, self.logic_luts_loader_base, self.logic_luts_loader_per_lane) < 0 \
                or self.lut_inputs not in (4, 6) or self.luts_per_lut_multiplier <= 0:
            raise ValueError("luts, ffs, dsps and the logic model must be >= 0, lut_inputs 4 or 6, luts_per_lut_multiplier > 0")

    def logic_luts(self, pes: int, cols: int, *, loaded: bool) -> float:
        """LUTs of everything but the multipliers, for rows x cols = `pes` PEs and `cols` lanes (`loaded`: memories
        filled at run time, not baked)."""
        loader = self.logic_luts_loader_base + self.logic_luts_loader_per_lane * cols if loaded else 0
        return (self.logic_luts_base + self.logic_luts_per_pe * pes + self.logic_luts_per_lane * cols
                + self.logic_luts_per_lane_squared * cols * cols + loader)

    @property
    def ram_bits(self) -> int:
        return self.block_ram.bits + (self.other_ram.bits if self.other_ram else 0)


@dataclass(frozen=True)
class Toolchain:
    """The open flow for the family: Yosys synthesis and, where one exists, nextpnr and a packer."""

    synth_args: tuple[str, ...] = ()
    place_route: str | None = None
    place_route_args: tuple[str, ...] = ()
    pack: str | None = None
    #: the amaranth-boards platform ("module:Class") whose pins and clock the bitstream uses
    platform: str | None = None
    #: why a step is missing (e.g. Xilinx timing needs Vivado)
    note: str = ""

    def __post_init__(self) -> None:
        if self.place_route is not None and self.place_route not in PLACE_ROUTE_TOOLS:
            raise ValueError(f"place_route must be one of {', '.join(PLACE_ROUTE_TOOLS)} or absent, not {self.place_route!r}")
        if self.platform is not None:
            try:
                platform_module(self.platform)
            except ValueError as exc:
                raise ConfigError("", "toolchain.platform", str(exc)) from None


@functools.cache
def amaranth_board_modules() -> frozenset[str]:
    """The board modules amaranth-boards ships (listed from the package, none imported)."""
    try:
        import amaranth_boards
    except ImportError:
        return frozenset()
    return frozenset(m.name for m in pkgutil.iter_modules(amaranth_boards.__path__) if not m.ispkg)


def platform_module(platform: str) -> str:
    """The amaranth-boards module of a board file's "amaranth_boards.MODULE:Class"; only that package's boards are allowed.

    A board file is data: it may name a board of amaranth-boards, never a module of its own to import.
    """
    module, _, name = platform.partition(":")
    package, _, board = module.partition(".")
    if package != "amaranth_boards" or board not in amaranth_board_modules() or not name.isidentifier():
        raise ValueError(f"platform must name an amaranth-boards platform as amaranth_boards.MODULE:Class "
                         f"(e.g. amaranth_boards.ulx3s:ULX3S_85F_Platform), not {platform!r}")
    return module


@dataclass(frozen=True)
class Board:
    description: str
    kind: str
    family: str
    device: str
    clock_mhz: float
    energy: EnergyTable
    package: str = ""
    speed_grade: str = ""
    resources: Resources | None = None
    toolchain: Toolchain | None = None
    #: the board's oscillator, where the default clock comes from a PLL
    oscillator_mhz: float | None = None
    #: what `clock_mhz` is: "oscillator", "measured" (a PLL clock the default design met) or "assumed"
    clock_basis: str = "assumed"
    #: the file's stem and the file the board was read from (set by the loader)
    name: str = ""
    source: str = ""
    extends: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.clock_mhz <= 0:
            raise ValueError(f"clock_mhz must be positive, not {self.clock_mhz}")
        if self.clock_basis not in CLOCK_BASES:
            raise ValueError(f"clock_basis must be one of {', '.join(CLOCK_BASES)}, not {self.clock_basis!r}")
        if self.kind == "fpga":
            if self.family not in SYNTH_COMMANDS:
                raise ValueError(f"family must be one of {', '.join(SYNTH_COMMANDS)} for an FPGA, not {self.family!r}")
            if self.resources is None or self.toolchain is None:
                raise ValueError("an FPGA board needs resources and toolchain")
            other = self.resources.other_ram
            if other is not None and other.used_by_generator and self.family not in LARGE_RAM_FAMILIES:
                raise ValueError(f"other_ram.configs / ram_style: the generator uses large RAM on xcup (UltraRAM) and "
                                 f"ice40 (SPRAM) only, not on {self.family}; list it without them")
            if other is not None and other.used_by_generator and self.family == "ice40" and not other.single_port:
                raise ValueError("other_ram.single_port: the iCE40's SPRAM is single-port (Yosys maps only single-port "
                                 "memories there); set it true")

    @property
    def synth_command(self) -> str | None:
        return SYNTH_COMMANDS.get(self.family)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("extends")
        if self.resources is not None:
            out["resources"]["block_ram"]["bits"] = self.resources.block_ram.bits
            out["resources"]["ram_bits"] = self.resources.ram_bits
        return out


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.yaml"))


def _board_path(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        return Path(text)
    path = BOARDS_DIR / f"{text}.yaml"
    if not path.exists():
        raise unknown_name("board", text, board_names())
    return path


def _resolved_mapping(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    data = read_yaml_mapping(path)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(str(path), "extends", f"must name a board, not {parent!r}")
    parent_path = path.parent / f"{parent}.yaml"
    if not parent_path.exists():
        parent_path = _board_path(parent)
    if parent_path.resolve() in seen or parent_path.resolve() == path.resolve():
        raise ConfigError(str(path), "extends", f"{parent!r} leads back to this file (a cycle of extends)")
    return merge(_resolved_mapping(parent_path, seen + (path.resolve(),)), data)


def load_board(name_or_path: str | Path) -> Board:
    """A board by name (`ulx3s`) or by YAML path, validated; errors name the file, key and reason."""
    path = _board_path(name_or_path)
    data = _resolved_mapping(path)
    if "name" in data or "source" in data:
        raise ConfigError(str(path), "name" if "name" in data else "source", "set by the loader from the file name; remove it")
    board = from_mapping(Board, data, str(path))
    return dataclasses.replace(board, name=path.stem, source=str(path), energy=dataclasses.replace(board.energy, name=path.stem))
