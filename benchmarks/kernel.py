"""python -m benchmarks kernel: every explorer's move, in the kernel, without a browser.

Runs each solution notebook in a fresh kernel (nbclient, ``COURSE_QUICK=1``: the closing
experiments train briefly, the figures are built as usual), then steps the main control of
each of its explorers (first slider, else first dropdown: the one the browser benchmark
presses) one step at a time, as the arrow key does, turning back at the end of its range.
Reports each explorer's median move as ``Explorer.timings`` records it: ``update`` alone, and
the whole move (``update``, drawing and sending what moved), wall clock and CPU. Prints a
table and writes it to ``benchmarks/kernel.md`` (the figures to ``kernel.json``).

The goal is a move under 10 ms in the kernel. Here the kernel has a core to itself; in the
browser benchmark the browser and the server share the machine with it, and the same move
takes longer (on 2 cores, 1.3-2x). This covers every explorer in about two minutes; the
browser benchmark (``python -m benchmarks``) measures what a student sees.

    python -m benchmarks kernel [--only 04 --only 12] [--presses 30] [--out DIR]
"""
import argparse
import json
import os
import sys
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
GOAL_MS = 10.0

# The control a student moves first, in the kernel: kept in one place for both benchmarks.
MAIN_CONTROL = """
def _main(e):
    for kind in ("Slider", "Dropdown", "ToggleButtons"):
        for name, c in e.controls.items():
            if kind in type(c).__name__:
                return name
    return next(iter(e.controls))
"""

# Run in the notebook's kernel, after the notebook: press each explorer's main control.
_PRESS = MAIN_CONTROL + """
import json as _json, math as _math, utils.explorers.widgets as _w

def _press(c, way):
    if hasattr(c, "options"):
        c.index = (c.index + way) % len(c.options)
        return way
    log = hasattr(c, "base")  # a FloatLogSlider: min, max and step are exponents
    at = round(_math.log(c.value, c.base), 9) if log else c.value
    if not c.min <= at + way * c.step <= c.max:
        way = -way  # the end of the range: back the other way
    at += way * c.step
    c.value = type(c.value)(c.base ** at if log else at)
    return way

_rows = []
for _e in _w.live_explorers():
    _name, _way = _main(_e), 1
    _before = len(_e.timings)
    for _ in range({presses}):
        _way = _press(_e.controls[_name], _way)
    _rows.append({{"explorer": _e._update.__qualname__.split(".")[0], "control": _name,
                  "moves": [list(t) for t in list(_e.timings)[_before:]],
                  "layer_kb": len(_e._layer.value) / 1e3}})
print(_json.dumps(_rows))
"""


def measure(solutions, only=(), presses=30, log=print):
    """Rows {notebook, explorer, control, moves, update_ms, kernel_ms, cpu_ms, layer_kb} for
    the explorers of ``solutions/NN/NN.ipynb``."""
    import nbformat
    from nbclient import NotebookClient

    os.environ["COURSE_QUICK"] = "1"  # the kernel inherits it
    rows = []
    for path in sorted(Path(solutions).glob("*/*.ipynb")):
        if path.stem != path.parent.name or (only and not any(path.stem.startswith(p)
                                                               for p in only)):
            continue
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:  # as the tests run them: no front end for ipympl
            cell.source = cell.source.replace("%matplotlib widget", "%matplotlib inline")
        nb.cells.append(nbformat.v4.new_code_cell(_PRESS.format(presses=presses)))
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        last = nb.cells[-1].outputs
        failed = [o for o in last if o.get("output_type") == "error"]
        if failed:
            raise RuntimeError(f"{path.stem}: {failed[0]['ename']}: {failed[0]['evalue']}")
        printed = "".join(o.get("text", "") for o in last if o.get("name") == "stdout")
        for found in json.loads(printed.strip().splitlines()[-1]):
            moves = found.pop("moves")
            row = {"notebook": path.stem, **found, "moves": len(moves),
                   "update_ms": median(m[0] for m in moves),
                   "kernel_ms": median(m[1] for m in moves),
                   "cpu_ms": median(m[3] for m in moves),
                   "redrawn": sum(m[2] != "moved" for m in moves)}
            rows.append(row)
            log(f"  {row['notebook']} {row['explorer']} ({row['control']}): "
                f"{row['kernel_ms']:.1f} ms ({row['cpu_ms']:.1f} ms CPU, update "
                f"{row['update_ms']:.1f} ms) over {row['moves']} moves")
    return rows


def markdown(rows, info):
    met = sum(r["kernel_ms"] < GOAL_MS for r in rows)
    lines = [
        "# Explorers in the kernel: every move's cost without a browser", "",
        f"Written by `python -m benchmarks kernel` (see `benchmarks/kernel.py`). {info}", "",
        "Each solution notebook in a fresh kernel, then the main control of each explorer "
        "stepped one step at a time; medians over the moves. *kernel ms*: the whole move "
        "(`update`, drawing, sending), wall clock, whose goal is under 10 ms; *CPU ms*: the "
        "kernel thread's CPU time of it; *layer kB*: the moving layer sent on the last move.", "",
        f"**{met} of {len(rows)}** explorers move in under {GOAL_MS:g} ms.", "",
        "| notebook | explorer | control | moves | update ms | kernel ms | < 10 ms | CPU ms "
        "| layer kB |",
        "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ok = "yes" if r["kernel_ms"] < GOAL_MS else "**no**"
        lines.append(f"| {r['notebook']} | `{r['explorer']}` | {r['control']} | {r['moves']} "
                     f"| {r['update_ms']:.2f} | {r['kernel_ms']:.1f} | {ok} | {r['cpu_ms']:.1f} "
                     f"| {r['layer_kb']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    from .report import machine

    parser = argparse.ArgumentParser(prog="python -m benchmarks kernel",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[],
                        help="notebooks whose number or id starts with this (repeatable)")
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument("--solutions", default=str(ROOT / "solutions"))
    parser.add_argument("--out", default=str(HERE), help="where kernel.md and kernel.json go")
    args = parser.parse_args(argv)
    m = machine()
    info = (f"{m['cores']} cores ({m['cpu']}), load average {m['load']} at the start, "
            f"{m['date']}, commit {m['commit']}; Python {m['python']}, numpy {m['numpy']}, "
            f"matplotlib {m['matplotlib']}.")
    print(f"explorers in the kernel on {m['cores']} cores, load average {m['load']} ...")
    rows = measure(args.solutions, args.only, args.presses)
    text = markdown(rows, info)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kernel.json").write_text(json.dumps({"machine": m, "explorers": rows}, indent=1))
    (out / "kernel.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"wrote {out / 'kernel.md'}")


if __name__ == "__main__":
    main(sys.argv[1:])
