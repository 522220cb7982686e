"""Stage lines: on stderr when the command line switched them on, with the elapsed time; silent for library use."""

from firebrick import progress


def test_stage_lines_only_when_enabled(capsys):
    with progress.stage("quiet work"):
        pass
    assert capsys.readouterr().err == ""
    progress.enable()
    try:
        with progress.stage("generating", "log: x.log"):
            pass
    finally:
        progress.enable(False)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "firebrick: generating (log: x.log) ..." and lines[1].startswith("firebrick: generating: done in ")
    assert progress.format_seconds(75.4) == "1 min 15 s" and progress.format_seconds(3.21) == "3.2 s"


def test_a_long_stage_says_it_is_running_with_its_logs_last_line_and_a_failure_says_so(capsys, tmp_path, monkeypatch):
    import time

    import pytest

    monkeypatch.setenv("FIREBRICK_PROGRESS_SECONDS", "0.05")
    log = tmp_path / "tool.log"
    progress.enable()
    try:
        with progress.stage("synthesising", log=[tmp_path / "absent.log", log]):
            log.write_text("reading\nABC: mapping 12 of 40 modules\n\n")
            time.sleep(0.3)
        with pytest.raises(RuntimeError):
            with progress.stage("routing"):
                raise RuntimeError("nextpnr exited")
    finally:
        progress.enable(False)
    lines = capsys.readouterr().err.splitlines()
    running = [line for line in lines if line.startswith("firebrick: synthesising: running for ")]
    assert running and running[-1].endswith("; tool.log: ABC: mapping 12 of 40 modules")
    assert lines[-1].startswith("firebrick: routing: failed after ")


def test_a_ticker_gives_percent_and_time_left_at_most_every_interval_and_at_the_end(capsys, monkeypatch):
    import time

    monkeypatch.setenv("FIREBRICK_PROGRESS_SECONDS", "0.05")
    progress.enable()
    try:
        quiet = progress.Ticker("bar shows it", 4, "steps", active=False)
        ticker = progress.Ticker("train x", 1000, "steps", done=100)
        for _ in range(900):
            quiet.advance()
            ticker.advance()
            if ticker.done == 500:
                time.sleep(0.06)
    finally:
        progress.enable(False)
    lines = capsys.readouterr().err.splitlines()
    assert not any("bar shows it" in line for line in lines)
    assert lines[0].startswith("firebrick: train x: 50% (501/1,000 steps), ") and " left" in lines[0]
    assert lines[-1].startswith("firebrick: train x: 100% (1,000/1,000 steps), ") and "left" not in lines[-1]


def test_training_without_a_bar_prints_a_line_per_epoch(capsys, tmp_path):
    from firebrick.cli import main

    assert main(["train", "--model", "squeezenet_tiny8", "--epochs", "2", "-o", str(tmp_path / "t.pt")]) == 0  # not a terminal
    epochs = [line for line in capsys.readouterr().err.splitlines() if "train squeezenet_tiny8: epoch" in line]
    assert [line.split("epoch ")[1].split(",")[0] for line in epochs] == ["1/2", "2/2"]


def test_no_progress_silences_the_stage_lines_of_every_command(capsys, tmp_path, small_graph):
    from firebrick.cli import main
    from firebrick.quant.fbg import save_graph

    save_graph(small_graph, tmp_path / "g.fbg")
    assert main(["build", str(tmp_path / "g.fbg"), "--rows", "2", "--cols", "2", "-o", str(tmp_path / "b"), "--no-progress"]) == 0
    assert "firebrick: generating" not in capsys.readouterr().err
    assert main(["build", str(tmp_path / "g.fbg"), "--rows", "2", "--cols", "2", "-o", str(tmp_path / "b")]) == 0
    assert "firebrick: generating the accelerator's Verilog" in capsys.readouterr().err
