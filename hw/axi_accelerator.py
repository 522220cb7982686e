"""The accelerator (loaded at run time) behind standard interfaces: AXI4-Stream ports and an AXI4-Lite register block.

Ports (Verilog names as a Zynq / PYNQ block design or an AXI DMA expects them):
- `s_axis_load_*` (tdata 32, tvalid, tready, tlast): the load stream (load_format.py);
- `s_axis_image_*` (tdata `cols` lanes x lane bits, padded to whole bytes; tlast ignored: the
  frame's length is the program's): the image, as the `image` stream;
- `m_axis_scores_*` (tdata 16, the score sign-extended; tlast on the frame's last class);
- `s_axil_*` (32-bit data, 8-bit byte addresses, all five channels): `REGISTERS`.

The register block answers one read and one write at a time (OKAY; SLVERR
for an address that is no register). Writes: CONTROL bit 0 = 1 clears
STATUS.done. A frame starts with its first image beat; there is no start bit.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.accelerator import Accelerator
from firebrick.hw.activity_counters import Counters
from firebrick.hw.block_ram import LargeRam
from firebrick.hw.compiler import Program
from firebrick.hw.load_format import Envelope

#: ID register: "FBRK"
ID = int.from_bytes(b"FBRK", "little")
#: the register map's version (bumped when a register moves or changes meaning)
INTERFACE_VERSION = 1
SCORE_BITS = 16


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    access: str
    description: str


def registers() -> list[Register]:
    """The register map: fixed words, then each activity counter as two 32-bit words (low, high)."""
    fixed = [
        Register("ID", 0x00, "ro", 'magic "FBRK" (0x4B524246)'),
        Register("VERSION", 0x04, "ro", f"register map version ({INTERFACE_VERSION})"),
        Register("ENVELOPE", 0x08, "ro", "the envelope ID a load must carry (load_format.py)"),
        Register("STATUS", 0x0C, "ro", "bit 0 loaded, bit 1 busy (a frame runs), bit 2 done (a frame finished since the last "
                                       "clear), bits 4-6 load error (LoadError), bit 8 conflict, bit 9 overrun"),
        Register("CONTROL", 0x10, "wo", "bit 0: write 1 to clear STATUS.done"),
        Register("FRAMES", 0x14, "ro", "frames finished since reset (wraps at 2^32)"),
    ]
    counters = []
    for i, name in enumerate(Counters.members):
        counters += [Register(f"{name.upper()}_LO", 0x20 + 8 * i, "ro", f"activity counter {name} of the last frame, bits 0-31"),
                     Register(f"{name.upper()}_HI", 0x24 + 8 * i, "ro", f"activity counter {name}, bits 32-63")]
    return fixed + counters


def _bytes(bits: int) -> int:
    return 8 * -(-bits // 8)


class AxiAccelerator(wiring.Component):
    def __init__(self, program: Program, *, envelope: Envelope | None = None, dsp_multipliers: bool = False,
                 large_ram: LargeRam | None = None) -> None:
        self.core = Accelerator(program, loadable=True, envelope=envelope, dsp_multipliers=dsp_multipliers, large_ram=large_ram)
        self.envelope = self.core.envelope
        p = program.params
        self.image_bits = _bytes(p.cols * p.lane_act_bits)
        super().__init__({
            "s_axis_load_tdata": In(32), "s_axis_load_tvalid": In(1), "s_axis_load_tready": Out(1), "s_axis_load_tlast": In(1),
            "s_axis_image_tdata": In(self.image_bits), "s_axis_image_tvalid": In(1), "s_axis_image_tready": Out(1),
            "s_axis_image_tlast": In(1),
            "m_axis_scores_tdata": Out(SCORE_BITS), "m_axis_scores_tvalid": Out(1), "m_axis_scores_tready": In(1),
            "m_axis_scores_tlast": Out(1),
            "s_axil_awaddr": In(8), "s_axil_awvalid": In(1), "s_axil_awready": Out(1),
            "s_axil_wdata": In(32), "s_axil_wstrb": In(4), "s_axil_wvalid": In(1), "s_axil_wready": Out(1),
            "s_axil_bresp": Out(2), "s_axil_bvalid": Out(1), "s_axil_bready": In(1),
            "s_axil_araddr": In(8), "s_axil_arvalid": In(1), "s_axil_arready": Out(1),
            "s_axil_rdata": Out(32), "s_axil_rresp": Out(2), "s_axil_rvalid": Out(1), "s_axil_rready": In(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.core = core = self.core
        p = self.core.params
        # streams: renamed, the load's last into its payload, scores sign-extended
        m.d.comb += [
            core.load.payload.data.eq(self.s_axis_load_tdata), core.load.payload.last.eq(self.s_axis_load_tlast),
            core.load.valid.eq(self.s_axis_load_tvalid), self.s_axis_load_tready.eq(core.load.ready),
            core.image.payload.eq(self.s_axis_image_tdata[:p.cols * p.lane_act_bits]),
            core.image.valid.eq(self.s_axis_image_tvalid), self.s_axis_image_tready.eq(core.image.ready),
            self.m_axis_scores_tdata.eq(core.scores.payload.as_signed()), self.m_axis_scores_tvalid.eq(core.scores.valid),
            self.m_axis_scores_tlast.eq(core.scores_last), core.scores.ready.eq(self.m_axis_scores_tready),
            core.debug_pause.eq(0), core.debug_resume.eq(0), core.debug_address.eq(0),
        ]
        # status the registers show
        done, busy, frames = Signal(), Signal(), Signal(32)
        clear_done = Signal()
        with m.If(core.frame_done):
            m.d.sync += [done.eq(1), busy.eq(0), frames.eq(frames + 1)]
        with m.Elif(clear_done):
            m.d.sync += done.eq(0)
        with m.If(core.image.valid & core.image.ready):
            m.d.sync += busy.eq(1)
        status = Cat(core.loaded, busy, done, Signal(), core.load_error.as_value(), Signal(), core.conflict, core.overrun)
        values = {"ID": ID, "VERSION": INTERFACE_VERSION, "ENVELOPE": self.envelope.id, "STATUS": status, "FRAMES": frames}
        counters = core.counters.as_value()
        for name in Counters.members:
            field = Counters[name]
            wide = counters[field.offset:field.offset + field.shape.width]
            values[f"{name.upper()}_LO"] = wide[:32]
            values[f"{name.upper()}_HI"] = wide[32:64] if field.shape.width > 32 else 0

        # AXI4-Lite reads: address taken when no response is pending, data registered
        with m.If(self.s_axil_rvalid & self.s_axil_rready):
            m.d.sync += self.s_axil_rvalid.eq(0)
        m.d.comb += self.s_axil_arready.eq(~self.s_axil_rvalid)
        with m.If(self.s_axil_arvalid & ~self.s_axil_rvalid):
            m.d.sync += [self.s_axil_rvalid.eq(1), self.s_axil_rdata.eq(0), self.s_axil_rresp.eq(0b10)]  # SLVERR unless known
            with m.Switch(self.s_axil_araddr[2:]):
                for reg in registers():
                    if reg.access == "ro":
                        with m.Case(reg.offset >> 2):
                            m.d.sync += [self.s_axil_rdata.eq(values[reg.name]), self.s_axil_rresp.eq(0)]
                    else:
                        with m.Case(reg.offset >> 2):
                            m.d.sync += self.s_axil_rresp.eq(0)  # a write-only register reads as 0
        # AXI4-Lite writes: address and data together, one response at a time
        with m.If(self.s_axil_bvalid & self.s_axil_bready):
            m.d.sync += self.s_axil_bvalid.eq(0)
        take = Signal()
        m.d.comb += [take.eq(self.s_axil_awvalid & self.s_axil_wvalid & ~self.s_axil_bvalid),
                     self.s_axil_awready.eq(take), self.s_axil_wready.eq(take)]
        control = next(r for r in registers() if r.name == "CONTROL")
        with m.If(take):
            known = self.s_axil_awaddr[2:] == (control.offset >> 2)
            m.d.sync += [self.s_axil_bvalid.eq(1), self.s_axil_bresp.eq(Cat(Signal(), ~known))]  # OKAY or SLVERR
            m.d.comb += clear_done.eq(known & self.s_axil_wstrb[0] & self.s_axil_wdata[0])
        return m


def register_map_json(envelope: Envelope) -> dict:
    return {"interface_version": INTERFACE_VERSION, "id": f"0x{ID:08X}", "envelope": f"0x{envelope.id:08X}",
            "data_bits": 32, "address_bits": 8,
            "registers": [{"name": r.name, "offset": f"0x{r.offset:02X}", "access": r.access, "description": r.description}
                          for r in registers()]}


def register_map_header(envelope: Envelope) -> str:
    lines = ["/* firebrick accelerator: AXI4-Lite register map (generated; byte offsets) */", "#ifndef FIREBRICK_REGS_H",
             "#define FIREBRICK_REGS_H", f"#define FIREBRICK_ID 0x{ID:08X}u", f"#define FIREBRICK_INTERFACE_VERSION {INTERFACE_VERSION}u",
             f"#define FIREBRICK_ENVELOPE 0x{envelope.id:08X}u"]
    lines += [f"#define FIREBRICK_{r.name} 0x{r.offset:02X}u /* {r.access}: {r.description} */" for r in registers()]
    return "\n".join(lines + ["#endif", ""])
