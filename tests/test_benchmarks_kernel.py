"""python -m benchmarks kernel: every explorer of a notebook stepped in its kernel, timed."""
import json

import nbformat
import pytest

from benchmarks.__main__ import main

EXPLORERS = """
import ipywidgets as widgets
from utils.explorers.widgets import Explorer, figure, slider
fig, ax = figure()
ax.set(xlim=(0, 1), ylim=(0, 1))
line, = ax.plot([0, 1], [0, 0], "o-")
Explorer(fig, lambda k, c: line.set_ydata([k, c / 3]) or line,
         k=slider(0.5, 0.0, 1.0, 0.25), c=widgets.Dropdown(options=[0, 1, 2]))
seen = []
Explorer(fig, lambda s: seen.append(s) or line.set_xdata([0, s]) or line,
         s=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.5))
"""


@pytest.mark.slow
def test_the_main_control_is_stepped_to_and_fro_and_each_move_timed(tmp_path, capsys):
    folder = tmp_path / "solutions" / "01_toy"
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(EXPLORERS)]),
                   str(folder / "01_toy.ipynb"))
    main(["kernel", "--solutions", str(tmp_path / "solutions"), "--presses", "7",
          "--out", str(tmp_path)])
    row, log_row = json.loads((tmp_path / "kernel.json").read_text())["explorers"]
    # the slider: 0.5 -> 0.75 -> 1.0, then back down (every press a move), not the dropdown
    assert (row["notebook"], row["control"], row["moves"], row["redrawn"]) == (
        "01_toy", "k", 7, 0)
    assert (log_row["control"], log_row["moves"]) == ("s", 7)  # steps of its exponent
    assert 0 < row["update_ms"] <= row["kernel_ms"] and 0 < row["cpu_ms"]
    assert "| 01_toy | `<lambda>` | k | 7 |" in (tmp_path / "kernel.md").read_text()
    assert "01_toy <lambda> (k)" in capsys.readouterr().out
