"""The command line: JSON documents, human tables, one-line errors with non-zero exits."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from firebrick.boards.board import load_board
from firebrick.cli import main


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def test_models_json(capsys):
    doc = run_json(capsys, "models")
    models = {m["name"]: m for m in doc["models"]}
    assert doc["default"] == "squeezenet_tiny32_hw"
    assert models["squeezenet1_1"]["params"] == 1_235_496 and models["squeezenet1_1"]["macs"] == 387_747_520
    assert models["zynqnet"]["hardware_ready"] and not models["squeezenet1_0"]["hardware_ready"]
    assert models["squeezenet1_0"]["input"] == [3, 227, 227]


def test_models_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "squeezenet1_1" in out and "1,235,496" in out and "387,747,520" in out


def test_cost_json(capsys):
    doc = run_json(capsys, "cost", "zynqnet")
    assert doc["params"] == 2_528_800 and doc["macs"] == 529_301_504
    assert doc["input"] == [3, 256, 256]
    assert sum(layer["macs"] for layer in doc["layers"]) == doc["macs"]
    first = doc["layers"][0]
    assert first["name"] == "conv1" and first["out_shape"] == [64, 128, 128]


def test_cost_at_another_input(capsys):
    doc = run_json(capsys, "cost", "squeezenet1_1", "--input", "224")
    assert doc["macs"] == 349_151_936


def test_cost_table(capsys):
    assert main(["cost", "squeezenet1_0"]) == 0
    out = capsys.readouterr().out
    assert "fire9.expand3x3" in out and "1,248,424 params" in out


def test_unknown_model_is_one_line_and_exit_1(capsys):
    assert main(["cost", "resnet50"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model 'resnet50'" in err and "Traceback" not in err


def test_train_then_cost_of_the_checkpoint(capsys, tmp_path):
    ckpt = tmp_path / "tiny.pt"
    argv = ["train", "--model", "squeezenet_tiny8", "--dataset", "digits", "--epochs", "2", "-o", str(ckpt), "--no-progress"]
    doc = run_json(capsys, *argv)
    assert doc["checkpoint"] == str(ckpt) and doc["epochs"] == 2
    assert set(doc["accuracy"]) == {"train", "val", "test"} and doc["accuracy"]["test"] > 0.2
    assert doc["dataset"]["name"] == "digits" and doc["dataset"]["split_sizes"]["test"] == 359
    # a second run finds the finished checkpoint and trains nothing
    again = run_json(capsys, *argv)
    assert again["train_seconds"] == doc["train_seconds"] and again["history"] == doc["history"]
    cost = run_json(capsys, "cost", str(ckpt))
    assert cost["model"] == "squeezenet_tiny8" and cost["params"] == doc["params"]


def test_train_on_two_workers_reports_the_batch_rule(capsys, tmp_path):
    argv = ["train", "--model", "squeezenet_tiny8", "--epochs", "2", "--workers", "2", "--batch-size", "32", "--lr", "0.05",
            "-o", str(tmp_path / "two.pt"), "--no-progress"]
    assert main(argv) == 0
    assert "2 workers (gloo) x batch 32 = global batch 64; peak rate 0.1 = 2 x 0.05, warm-up 1 epoch(s)" in capsys.readouterr().out
    assert run_json(capsys, *argv)["parallel"]["workers"] == 2  # finished: reported again, nothing trained
    assert main([*argv[:-3], "--workers", "0", "-o", str(tmp_path / "none.pt")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "workers must be a positive integer" in err and not (tmp_path / "none.pt").exists()


def test_train_on_an_image_folder_with_no_images(capsys, tmp_path):
    (tmp_path / "a").mkdir()
    assert main(["train", "--model", "squeezenet_tiny8", "--dataset", str(tmp_path), "-o", str(tmp_path / "x.pt")]) == 1
    err = capsys.readouterr().err
    assert "no images found" in err and "Traceback" not in err
    assert not (tmp_path / "x.pt").exists()


def test_cost_of_a_broken_checkpoint(capsys, tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"\x00" * 100)
    assert main(["cost", str(path)]) == 1
    assert "is truncated or not a torch checkpoint" in capsys.readouterr().err


def test_flow_trains_the_default_and_reports(capsys, tmp_path):
    doc = run_json(capsys, "flow", "-o", str(tmp_path), "--epochs", "1", "--no-progress")
    assert doc["model"] == "squeezenet_tiny32_hw" and doc["dataset"]["name"] == "digits"
    assert Path(doc["checkpoint"]).is_file() and Path(doc["graph"]).is_file()
    assert doc["stages"] == ["train", "quantize", "build", "simulate"] and doc["quantization"]["weight_bits"] == 8
    assert doc["simulation"]["bit_exact"] and doc["simulation"]["cycles"] == doc["cycles_per_frame"]
    assert (Path(doc["build"]) / "accelerator.v").is_file() and doc["board"] == "ulx3s" and doc["array"] == [8, 8]
    assert doc["cycles_per_frame"] > 0 and doc["frames_per_second"] == pytest.approx(load_board("ulx3s").clock_mhz * 1e6 / doc["cycles_per_frame"])
    assert doc["macs"] == 1_226_752 and 0.0 <= doc["accuracy"]["test"] <= 1.0
    assert doc["float_accuracy"] == doc["accuracy"]["test"] and 0.0 <= doc["quant_accuracy"] <= 1.0


def test_installed_console_script():
    exe = Path(sys.executable).with_name("firebrick")
    result = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("firebrick ")


def test_usage_error_exits_2():
    with pytest.raises(SystemExit) as exc:
        main(["cost"])
    assert exc.value.code == 2


def test_quantize_and_evaluate(capsys, tmp_path, tiny_checkpoint):
    graph = tmp_path / "tiny.fbg"
    doc = run_json(capsys, "quantize", str(tiny_checkpoint), "-o", str(graph), "--calibration", "64")
    assert graph.is_file() and doc["graph"] == str(graph)
    assert 0 <= doc["quant_accuracy"] <= 1 and 0 <= doc["float_accuracy"] <= 1
    names = [layer["name"] for layer in doc["layers"]]
    assert names[0] == "input" and "fire2.concat" in names
    conv1 = doc["layers"][1]
    assert {"in_format", "weight_format", "out_format", "shift", "weight_bytes", "macs", "saturated"} <= set(conv1)
    evaluated = run_json(capsys, "evaluate", str(graph))
    assert evaluated["accuracy"] == doc["quant_accuracy"] and evaluated["images"] == 359
    assert main(["quantize", str(tiny_checkpoint), "-o", str(tmp_path / "cb.fbg"), "--codebook-bits", "3", "--layer-bits", "conv1=6"]) == 0
    out = capsys.readouterr().out
    assert "cb3" in out and "s6." in out and "accuracy on digits test split" in out


def test_quantize_errors_are_one_line(capsys, tmp_path, tiny_checkpoint):
    assert main(["quantize", str(tiny_checkpoint), "--bits", "1", "-o", str(tmp_path / "x.fbg")]) == 1
    assert "bits must be an integer in 2..16, not 1" in capsys.readouterr().err
    assert main(["quantize", str(tiny_checkpoint), "--layer-bits", "conv1", "-o", str(tmp_path / "x.fbg")]) == 1
    assert "write LAYER=WEIGHT_BITS[:ACTIVATION_BITS]" in capsys.readouterr().err
    assert not (tmp_path / "x.fbg").exists()
    (tmp_path / "bad.fbg").write_text("nope")
    assert main(["evaluate", str(tmp_path / "bad.fbg")]) == 1
    assert "not a readable graph file" in capsys.readouterr().err


def test_quantize_refuses_a_max_pool_model(capsys, tmp_path):
    ckpt = tmp_path / "pool.pt"
    assert main(["train", "--model", "squeezenet_tiny8", "--epochs", "1", "-o", str(ckpt), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["quantize", str(ckpt), "-o", str(tmp_path / "pool.fbg")]) == 1
    err = capsys.readouterr().err
    assert "layer 'pool2' is a max-pool" in err and "stride-2 3x3 convolution" in err


def test_help_does_not_import_torch():
    import subprocess
    import sys

    check = "import sys; from firebrick.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_your_own_model_as_onnx_or_pt2_quantizes_builds_and_estimates(capsys, tmp_path):
    import torch
    import torch.nn.functional as F
    from torch import nn

    from firebrick.models.datasets import load_dataset

    class Mine(nn.Module):  # written by a user: no zoo, a mean for the global pool
        def __init__(self):
            super().__init__()
            self.stem, self.mid, self.head = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.Conv2d(16, 10, 1)

        def forward(self, x):
            return self.head(F.relu(self.mid(F.relu(self.stem(x))))).mean(dim=(2, 3))

    torch.manual_seed(0)
    model = Mine()
    x, y = load_dataset("digits", channels=1, size=8).tensors("train")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for step in range(150):
        index = torch.randint(0, len(x), (64,))
        loss = F.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.onnx.export(model.eval(), (torch.zeros(1, 1, 8, 8),), str(tmp_path / "mine.onnx"), dynamo=False)

    assert main(["quantize", str(tmp_path / "mine.onnx")]) == 1
    assert "is your own model (ONNX): name the data" in capsys.readouterr().err
    document = run_json(capsys, "quantize", str(tmp_path / "mine.onnx"), "--dataset", "digits", "--no-progress")
    assert document["graph"] == str(tmp_path / "mine.fbg") and document["float_accuracy"] > 0.5
    assert abs(document["quant_accuracy"] - document["float_accuracy"]) < 0.05
    assert [layer["kind"] for layer in document["layers"]][-1] == "global_avg_pool"
    built = run_json(capsys, "build", str(tmp_path / "mine.fbg"), "--rows", "4", "--cols", "4", "-o", str(tmp_path / "build"))
    estimate = run_json(capsys, "estimate", str(tmp_path / "mine.fbg"), "--rows", "4", "--cols", "4")
    assert estimate["cycles"] == built["cycles_per_frame"] and estimate["fits"]

    # the same model as a torch.export program: the same graph, so the same quantized accuracy and cycles
    torch.export.save(torch.export.export(model.eval(), (torch.zeros(1, 1, 8, 8),)), str(tmp_path / "mine.pt2"))
    assert main(["quantize", str(tmp_path / "mine.pt2")]) == 1
    assert "is your own model (torch.export): name the data" in capsys.readouterr().err
    exported = run_json(capsys, "quantize", str(tmp_path / "mine.pt2"), "--dataset", "digits", "--no-progress",
                        "-o", str(tmp_path / "mine_pt2.fbg"))
    assert (exported["float_accuracy"], exported["quant_accuracy"]) == (document["float_accuracy"], document["quant_accuracy"])
    assert [layer["name"] for layer in exported["layers"]] == [layer["name"] for layer in document["layers"]]
    from_file = run_json(capsys, "estimate", str(tmp_path / "mine.pt2"), "--rows", "4", "--cols", "4")
    assert from_file["cycles"] == built["cycles_per_frame"] and from_file["weights"].startswith("model file")
