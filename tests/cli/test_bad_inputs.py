"""Every command with bad inputs: exit 1, one line naming the problem, no traceback, nothing written, before the work."""

import argparse
import dataclasses
import pickle
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from firebrick.boards.build import build_accelerator
from firebrick.cli import main
from firebrick.hw.params import ArrayParams
from firebrick.quant.fbg import save_graph
from firebrick.quant.ops import Conv


def _image_folder(root, classes, per_class):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_checkpoint, small_graph):
    root = tmp_path_factory.mktemp("bad")
    f = {"root": root, "checkpoint": tiny_checkpoint}
    f["a_file"] = root / "a_file"
    f["a_file"].write_text("not a folder")
    f["a_folder"] = root / "a_folder"
    f["a_folder"].mkdir()
    (root / "empty").mkdir()
    f["empty"] = root / "empty"
    f["few_images"] = _image_folder(root / "few", ["a", "b"], 2)
    f["three_classes"] = _image_folder(root / "three", ["a", "b", "c"], 10)
    f["pickle"] = root / "plain.pt"
    f["pickle"].write_bytes(pickle.dumps({"weights": argparse.Namespace(lr=0.1)}))  # a plain pickle of an object
    f["garbage"] = root / "garbage.pt"
    f["garbage"].write_bytes(b"\x00not a zip" * 20)
    document = torch.load(tiny_checkpoint, weights_only=True)
    document["state_dict"] = {k: v for k, v in document["state_dict"].items() if "conv1" not in k}
    torch.save(document, root / "mismatch.pt")
    f["mismatch"] = root / "mismatch.pt"
    f["graph"] = root / "small.fbg"
    save_graph(small_graph, f["graph"])
    edited = small_graph.copy()
    conv = next(n for n, op in edited.items() if isinstance(op, Conv))
    op = edited.op(conv)
    weight = op.quant.weight.copy()
    weight.flat[0] = 1000
    edited.set_op(conv, dataclasses.replace(op, quant=dataclasses.replace(op.quant, weight=weight)))
    f["edited_graph"] = root / "edited.fbg"
    save_graph(edited, f["edited_graph"])
    f["build"] = root / "build"
    build_accelerator(small_graph, ArrayParams(rows=2, cols=2), f["build"], board="ulx3s")
    f["no_manifest"] = root / "no_manifest"
    shutil.copytree(f["build"], f["no_manifest"])
    (f["no_manifest"] / "manifest.json").unlink()
    f["mixed"] = root / "mixed"
    shutil.copytree(f["build"], f["mixed"])
    with open(f["mixed"] / "accelerator.v", "a") as verilog:
        verilog.write("// edited\n")
    f["code_board"] = root / "code_board.yaml"
    f["code_board"].write_text("extends: ulx3s\ntoolchain: {platform: 'os:system'}\n")
    f["bad_yaml"] = root / "bad.yaml"
    f["bad_yaml"].write_text("description: [unclosed\n")
    f["escape_spec"] = root / "escape.yaml"
    f["escape_spec"].write_text("name: ../../../x\ntraining: null\nmodel: {base: tiny8}\n")
    return f


CASES = [  # (argv with {placeholders}, what the one line must say)
    ("cost nosuchnet", "unknown model 'nosuchnet'"),
    ("cost {root}/missing.pt", "does not exist"),
    ("train --model nosuchnet", "unknown model"),
    ("train --model squeezenet_tiny8 --dataset nosuchdata -o {root}/t.pt", "unknown dataset 'nosuchdata'"),
    ("train --model squeezenet_tiny8 --dataset {empty} -o {root}/t.pt", "no images found"),
    ("train --model squeezenet_tiny8 --dataset {few_images} -o {root}/t.pt", "too few images for a val, test split"),
    ("train --model squeezenet_tiny8 --epochs 0 -o {root}/t.pt", "epochs must be a positive integer"),
    ("train --model squeezenet_tiny8 --workers 0 -o {root}/t.pt", "workers must be a positive integer"),
    ("train --model squeezenet_tiny8 --workers 2 --epochs 2 --warmup-epochs 5 -o {root}/t.pt", "warmup_epochs must be"),
    ("train --model squeezenet_tiny8 -o {a_folder}", "is a folder; give a file name"),
    ("train --model squeezenet_tiny8 -o {a_file}/inside.pt", "is a file, not a folder"),
    ("quantize {root}/missing.pt", "does not exist"),
    ("quantize {pickle}", "is a plain pickle of Python objects"),
    ("quantize {garbage}", "truncated or not a torch checkpoint"),
    ("quantize {mismatch}", "weights do not match its network spec (missing classifier.conv10.bias"),
    ("quantize {checkpoint} --bits 1 -o {root}/q.fbg", "bit"),
    ("quantize {checkpoint} --layer-bits nonsense -o {root}/q.fbg", "--layer-bits 'nonsense'"),
    ("quantize {checkpoint} -o {a_folder}", "is a folder; give a file name"),
    ("quantize {checkpoint} --dataset {three_classes} -o {root}/q.fbg", "but the model was trained on digits"),
    ("evaluate {root}/missing.fbg", "does not exist"),
    ("evaluate {garbage}", "not a readable graph file"),
    ("evaluate {edited_graph} --dataset digits", "field quant.weight: holds 1000"),
    ("build {root}/missing.fbg -o {root}/b", "does not exist"),
    ("build {edited_graph} -o {root}/b", "field quant.weight: holds 1000"),
    ("build {graph} --board nosuchboard -o {root}/b", "unknown board 'nosuchboard'"),
    ("build {graph} --board {bad_yaml} -o {root}/b", "bad.yaml"),
    ("build {graph} --board {code_board} -o {root}/b", "toolchain.platform: platform must name an amaranth-boards platform"),
    ("build {graph} --cols 6 -o {root}/b", "array cols must be a power of two"),
    ("build {graph} --act-sram-words 10 -o {root}/b", "activation SRAM too small"),
    ("build {graph} -o {a_file}", "is a file; give a folder"),
    ("estimate nosuchnet", "unknown model 'nosuchnet'"),
    ("estimate squeezenet1_1 --board zc706", "is a max-pool"),
    ("estimate {edited_graph}", "field quant.weight: holds 1000"),
    ("estimate {graph} --cols 6", "array cols must be a power of two"),
    ("estimate {graph} --board nosuchboard", "unknown board 'nosuchboard'"),
    ("estimate {graph} --clock 0", "--clock must be a positive frequency"),
    ("estimate {graph} --input 64", "apply to a zoo name or a checkpoint"),
    ("simulate {root}/missing", "not a complete build"),
    ("simulate {no_manifest}", "missing manifest.json"),
    ("simulate {mixed}", "is a mixed or edited build: accelerator.v"),
    ("simulate {build} --count 0", "--count must be at least 1"),
    ("simulate {build} --image {root}/missing.png", "cannot read image"),
    ("explore run {root}/missing.yaml", "missing.yaml"),
    ("explore run {escape_spec}", "name: must be a plain name"),
    ("explore run {bad_yaml}", "bad.yaml"),
    ("explore resume {empty}", "holds no sweep"),
    ("explore report {empty}", "holds no sweep"),
    ("explore verify {empty}", "holds no sweep"),
    ("explore export {empty} --point 3", "holds no sweep"),
    ("flow --model nosuchnet -o {root}/flow", "unknown model"),
    ("flow -o {a_file}", "is a file; give a folder"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[c[0].split(" {")[0] + f" #{i}" for i, c in enumerate(CASES)])
def test_a_bad_input_is_one_line_and_exit_1(files, capsys, argv, message):
    before = sorted(p.relative_to(files["root"]) for p in files["root"].rglob("*"))
    code = main(argv.format(**files).split())
    out, err = capsys.readouterr()
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("firebrick ") and message in err, err
    assert "Traceback" not in err + out
    assert sorted(p.relative_to(files["root"]) for p in files["root"].rglob("*")) == before  # nothing written
