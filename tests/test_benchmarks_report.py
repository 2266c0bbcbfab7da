"""The benchmark's report says what its figures say: ratios, verdicts and the README block are
computed from the measured presses (no browser needed: a recorded result is enough)."""
import json

from benchmarks import __main__ as bench_main
from benchmarks import report


def _row(name, moves, floor, end_floor):
    return {"notebook": "01_perceptron", "cell": 3, "model_id": name, "name": name,
            "control": "w1", "latencies": moves, "median_ms": sorted(moves)[1],
            "floor_latencies": floor, "floor_ms": sorted(floor)[1],
            "missed": 0, "moves": 3, "kernel_ms": 4.0, "update_ms": 0.3, "redrawn": 0,
            "end_floor_ms": end_floor, "ratio": sorted(moves)[1] / sorted(floor)[1],
            "added_ms": sorted(moves)[1] - sorted(floor)[1],
            "end_ratio": sorted(moves)[1] / end_floor}


def _result():
    return {"floor": [9.0, 10.0, 11.0], "floor_ms": 10.0, "notebooks": [
        {"notebook": "01_perceptron", "kernel_ready_s": 3.0, "run_s": 2.0,
         "first_widget_s": 1.0, "errors": 0}],
        "explorers": [_row("fast", [12.0, 13.0, 14.0], [11.0, 12.0, 13.0], 10.0),
                      _row("slow", [28.0, 30.0, 32.0], [11.0, 12.0, 13.0], 10.0)]}


def test_the_latency_table_gives_each_move_against_the_floor_beside_and_its_verdict():
    table = report.latency_table(_result())
    fast, slow = [line for line in table.splitlines() if line.startswith("| 01_")]
    cells = [c.strip() for c in fast.strip("|").split("|")]
    # floor beside, move, 13/12, 13 - 12 ms added, within one display frame
    assert cells[3:8] == ["12.0", "13.0", "1.08", "+1.0", "yes"]
    assert cells[8:10] == ["10.0", "1.30"]  # the floor at the notebook's end, 13/10
    cells = [c.strip() for c in slow.strip("|").split("|")]
    assert cells[5:8] == ["2.50", "+18.0", "**no**"]  # 30 - 12 ms: over one frame, said so


def test_the_readme_block_counts_the_explorers_within_the_goal():
    block = report.readme_block({"date": "today", "commit": "abc", "cores": 2, "load": "0.5"},
                                _result(), None, None)
    assert "1 of 2 within one display frame" in block
    assert "1.08–2.50× the floor beside each" in block


def test_the_report_is_rewritten_from_a_saved_run(tmp_path):
    saved = {"machine": {"date": "today", "commit": "abc", "cores": 2, "load": "0.5 0.5 0.5",
                         "cpu": "cpu", "python": "3", "numpy": "2", "torch": "–",
                         "matplotlib": "3", "ipympl": "–", "jupyterlab": "4",
                         "chromium": "chromium"},
             "browser": _result(), "reason": None, "notebooks": None, "reference": None}
    (tmp_path / "latest.json").write_text(json.dumps(saved))
    bench_main.main(["--from-json", str(tmp_path / "latest.json"), "--out", str(tmp_path)])
    text = (tmp_path / "latest.md").read_text()
    assert "| 01_perceptron | `slow` | w1 | 12.0 | 30.0 | 2.50 | +18.0 | **no** |" in text
    assert "Not measured (`--skip reference`)" in text
    assert (tmp_path / "latest.png").stat().st_size > 10_000


def test_a_notebook_that_could_not_be_measured_is_named_with_its_error():
    result = dict(_result(), failed=[{"notebook": "12_language_model",
                                      "error": "TimeoutError: Timeout 90000ms exceeded."}])
    table = report.latency_table(result)
    assert table.endswith("Not measured: 12_language_model (TimeoutError: Timeout 90000ms "
                          "exceeded.).")
    assert "| 01_perceptron | `slow` |" in table  # the others' rows are kept
