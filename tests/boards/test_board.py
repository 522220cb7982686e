"""Board files: every shipped board loads; bad files are refused naming the file, the key and the reason."""

import json

import pytest

from firebrick.boards.board import BOARDS_DIR, DEFAULT_BOARD, board_names, load_board
from firebrick.cli import main
from firebrick.errors import UnknownNameError
from firebrick.schema import ConfigError

SHIPPED = ["arty_a7", "asic45", "icebreaker", "pynq_z2", "ulx3s", "ulx3s_12f", "zc706", "zcu104"]


def test_every_shipped_board_loads_with_its_datasheet_figures():
    assert board_names() == SHIPPED
    boards = {name: load_board(name) for name in SHIPPED}
    assert DEFAULT_BOARD == "ulx3s"
    ulx3s = boards["ulx3s"]
    assert (ulx3s.device, ulx3s.family, ulx3s.package, ulx3s.speed_grade) == ("LFE5U-85F", "ecp5", "CABGA381", "6")
    assert ulx3s.resources.dsps == 156 and ulx3s.resources.block_ram.blocks == 208
    assert ulx3s.resources.block_ram.bits == 208 * 18 * 1024  # 3,744 Kbit of EBR
    assert boards["icebreaker"].resources.other_ram.bits == 4 * 256 * 1024  # SPRAM
    assert boards["zc706"].resources.dsps == 900 and boards["zc706"].resources.block_ram.blocks == 545
    assert boards["zcu104"].resources.other_ram.primitive == "URAM288"
    assert boards["asic45"].resources is None and boards["asic45"].toolchain is None
    for board in boards.values():
        assert board.energy.name == board.name and board.energy.source
        if board.kind == "fpga":
            assert board.synth_command in ("synth_ecp5", "synth_ice40", "synth_xilinx")


def test_a_variant_overrides_only_what_differs():
    base, variant = load_board("ulx3s"), load_board("ulx3s_12f")
    assert variant.resources.dsps == 28 and variant.resources.block_ram.blocks == 32
    assert variant.resources.block_ram.configs == base.resources.block_ram.configs  # inherited inside a nested mapping
    assert variant.package == base.package and variant.energy.mac_pj == base.energy.mac_pj
    assert variant.energy.static_mw != base.energy.static_mw
    assert load_board("pynq_z2").family == "xc7" and load_board("zcu104").family == "xcup"


def _write(tmp_path, name, text):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("edit, key, reason", [
    ("resources:\n  luts: many\n", "resources.luts", "must be an integer, not 'many'"),
    ("resources:\n  lutz: 5\n", "resources.lutz", "unknown key"),
    ("clock_mhz: -5\n", "", "clock_mhz must be positive"),
    ("energy:\n  memory: {model: dram}\n", "energy.memory", "memory model must be one of"),
    ("family: stratix\n", "", "family must be one of"),
    # large RAM the generator would mark for synthesis: UltraScale+ and iCE40 only (refused at load, not at synthesis)
    ("resources:\n  other_ram: {primitive: X, blocks: 1, bits_per_block: 8, configs: [[4, 2]], ram_style: huge}\n", "",
     "the generator uses large RAM on xcup (UltraRAM) and ice40 (SPRAM) only, not on ecp5"),
])
def test_errors_name_the_file_the_key_and_the_reason(tmp_path, edit, key, reason):
    path = _write(tmp_path, "mine", f"extends: {BOARDS_DIR / 'ulx3s'}\n" + edit)
    with pytest.raises(ConfigError) as info:
        load_board(path)
    assert info.value.source == str(path) and info.value.key == key and reason in info.value.reason


def test_missing_keys_bad_yaml_cycles_and_unknown_boards(tmp_path):
    with pytest.raises(ConfigError, match=r"b\.yaml: device: missing; it must be a string"):
        load_board(_write(tmp_path, "b", "description: x\nkind: fpga\nfamily: ecp5\nclock_mhz: 10\nenergy: {}\n"))
    with pytest.raises(ConfigError, match=r"c\.yaml: not valid YAML: line 2"):
        load_board(_write(tmp_path, "c", "description: x\n  bad: [1\n"))
    _write(tmp_path, "d", "extends: e\n")
    with pytest.raises(ConfigError, match="extends: 'e' leads back to this file"):
        load_board(_write(tmp_path, "e", "extends: d\n"))
    with pytest.raises(ConfigError, match="name: set by the loader"):
        load_board(_write(tmp_path, "f", f"extends: {BOARDS_DIR / 'ulx3s'}\nname: other\n"))
    with pytest.raises(UnknownNameError, match="unknown board 'ulx4s': did you mean 'ulx3s'"):
        load_board("ulx4s")


def test_a_user_board_file_from_a_path(tmp_path):
    path = _write(tmp_path, "my_ecp5", f"extends: {BOARDS_DIR / 'ulx3s'}\nclock_mhz: 40\n")
    board = load_board(str(path))
    assert board.name == "my_ecp5" and board.clock_mhz == 40 and board.source == str(path)


def test_boards_command_lists_every_board(capsys):
    assert main(["boards", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["boards"]
    assert [b["name"] for b in listed] == SHIPPED
    ulx3s = next(b for b in listed if b["name"] == "ulx3s")
    assert ulx3s["resources"]["luts"] == 83640 and ulx3s["resources"]["ram_bits"] == 208 * 18432
    assert main(["boards"]) == 0
    text = capsys.readouterr().out
    assert "LFE5U-85F" in text and "synthesis only" in text and "bitstream" in text


def test_the_ice40s_spram_is_counted_as_single_port_ram(tmp_path):
    spram = load_board("icebreaker").resources.other_ram
    assert spram.used_by_generator and spram.single_port and spram.native_shape == (16384, 16)
    path = _write(tmp_path, "dual", f"extends: {BOARDS_DIR / 'icebreaker'}\nresources:\n  other_ram: {{single_port: false}}\n")
    with pytest.raises(ConfigError, match=r"dual\.yaml: other_ram.single_port: the iCE40's SPRAM is single-port"):
        load_board(path)
