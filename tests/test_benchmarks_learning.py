"""python -m benchmarks learning --quick: every experiment module runs and writes its records."""
import json

import pytest

from benchmarks import learning
from benchmarks.__main__ import main


def test_every_experiment_module_is_found():
    names = [m.__name__ for m in learning.experiment_modules()]
    assert "utils.experiments.classic" in names and "utils.experiments.gated" in names


@pytest.mark.slow
def test_quick_run_of_one_notebook_writes_its_records(tmp_path, capsys):
    out = tmp_path / "learning.json"
    main(["learning", "--quick", "--only", "06", "--out", str(out)])
    records = json.loads(out.read_text())
    assert records and {r["notebook"] for r in records} == {"06_backpropagation"}
    for record in records:
        assert list(record) == list(learning.KEYS)
        assert record["metric"] == "test_accuracy"
        assert record["value"] > 0.5  # three epochs already read most digits (chance: 0.1)
    printed = capsys.readouterr().out
    assert "06_backpropagation" in printed and f"wrote {out}" in printed


def test_modules_of_other_notebooks_are_skipped_unrun():
    class Module:
        NOTEBOOKS = ("09_lstm_gru",)

        @staticmethod
        def learning_results(quick=False):
            raise AssertionError("should not run")

    assert not learning.selected(Module, ["06"])
    assert learning.selected(Module, ["09"]) and learning.selected(Module, [])


def test_bad_records_are_refused():
    with pytest.raises(ValueError, match="unknown metric"):
        learning.check_record({"notebook": "x", "experiment": "e", "model": "m",
                               "metric": "accuracy", "value": 1.0, "seconds": 0.0}, "m")
    with pytest.raises(ValueError, match="keys"):
        learning.check_record({"notebook": "x"}, "m")
