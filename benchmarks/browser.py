"""What a student feels in JupyterLab, measured in headless Chromium.

- The floor: a slider whose kernel callback only sets a text label. Key press on the slider
  handle to the label's text changing: the cost of the round trip alone. For each explorer, a
  floor cell is inserted right below the explorer's cell, so that it is measured in the same
  page, kernel and place (the browser repaints what is on screen around a slider on every key
  press: lecture text full of equations costs a few ms a press, whatever the widget). Its
  presses alternate with the explorer's, in rounds, and each explorer is compared with the
  floor beside it. The goal: a move adds at most one display frame (16.7 ms) to it.
- A second floor cell added at the end of each notebook, measured before and after
  each explorer, shows what the place adds: the ratios to it are reported too.
- Each explorer of each lecture notebook: key press on its main control (first slider, else
  first dropdown) to its figure fully redrawn (the last of its layers that changed); the
  median over repeated presses. Every move is drawn on the move (nothing is drawn ahead).
- The kernel side, as the explorers record it (``Explorer.timings``): a move's time, i.e.
  ``update`` plus drawing and sending what it moved, whose goal is under 10 ms.
- Each lecture run top to bottom by Shift-Enter, and the time from its kernel being ready to
  its first explorer drawn (goal: under 3 s).
"""
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))
import jupyterlab_driver as driver  # noqa: E402

from .kernel import GOAL_MS as KERNEL_GOAL_MS, MAIN_CONTROL  # noqa: E402

RATIO_GOAL = 1.3  # reported beside the main goal, as before
ADDED_GOAL_MS = 1000 / 60  # a move adds at most one display frame to the floor beside it
FIRST_WIDGET_GOAL_S = 3.0
CELL_TIMEOUT_MS = 900_000  # at full size, a notebook's closing experiment trains for minutes

# Run in the notebook's kernel (not in the notebook): what each explorer recorded.
_TIMINGS = MAIN_CONTROL + """
import json as _json, utils.explorers.widgets as _w
print(_json.dumps({e.widget.model_id: {
    "name": e._update.__qualname__.split(".")[0], "control": _main(e),
    "timings": [list(t) for t in e.timings]} for e in _w.live_explorers()}))
"""


def lectures_in(folder):
    return sorted(p.name for p in Path(folder).iterdir()
                  if (p / f"{p.name}.ipynb").is_file())


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def run(lectures_dir, presses=30, log=print):
    """Returns {"floor": [...], "explorers": [...], "notebooks": [...]}, or None with a reason."""
    reason = driver.unavailable()
    if reason:
        return None, reason
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        names = lectures_in(lectures_dir)
        for name in names:
            shutil.copytree(Path(lectures_dir) / name, work / name)
        with driver.JupyterLab(work) as lab, driver.Browser() as browser:
            return _measure(lab, browser, names, presses, log), None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(lab, browser, names, presses, log):
    floor, explorers, notebooks, failed = [], [], [], []
    for name in names:
        nb = lab.open(browser, f"{name}/{name}.ipynb")
        try:
            notebooks.append(_run_notebook(nb, name, log))
            nb.insert_cell_below(len(nb.cells()) - 1, driver.FLOOR_CODE)
            here = []

            def end_floor():  # the floor cell, last (cells inserted above move it down)
                here.extend(nb.latency(nb.widgets()[-1], max(1, presses // 2)))

            rows = _explorers(nb, name, presses, log, between=end_floor)
            for row in rows:
                row["end_floor_ms"] = _median(here)
            explorers += rows
            floor += here
            log(f"  floor at the end of {name}: {_median(here):.1f} ms")
        except Exception as error:  # the other notebooks' figures are kept, and this said
            failed.append({"notebook": name,
                           "error": f"{type(error).__name__}: {error}".splitlines()[0]})
            log(f"  {name}: not measured ({failed[-1]['error']})")
        finally:
            nb.close()
    for row in explorers:
        row["ratio"] = (row["median_ms"] / row["floor_ms"]
                        if row["median_ms"] and row.get("floor_ms") else None)
        row["added_ms"] = (row["median_ms"] - row["floor_ms"]
                           if row["median_ms"] and row.get("floor_ms") else None)
        row["end_ratio"] = (row["median_ms"] / row["end_floor_ms"]
                            if row["median_ms"] and row.get("end_floor_ms") else None)
    return {"floor": floor, "floor_ms": _median(floor), "explorers": explorers,
            "notebooks": notebooks, "failed": failed}


def _run_notebook(nb, name, log):
    start = time.perf_counter()
    first = {}

    def after_cell(index):
        if "s" not in first and nb.cell_widgets(index):
            found = nb.explorers(cell=index)
            if found:
                nb.wait_rendered(found[0])
                first["s"] = time.perf_counter() - start

    seconds = nb.run_all(after_cell=after_cell, timeout=CELL_TIMEOUT_MS)
    row = {"notebook": name, "kernel_ready_s": nb.kernel_ready_s, "run_s": seconds,
           "first_widget_s": first.get("s"), "errors": len(nb.errors_outside_exercises())}
    log(f"  {name}: opened in {nb.kernel_ready_s:.1f} s, ran in {seconds:.1f} s, first widget "
        f"after {row['first_widget_s'] or float('nan'):.1f} s")
    return row


PER_ROUND = 3  # the explorer's presses and its floor's alternate, this many at a time: the
# page's own pace drifts over a minute, and each press varies by several ms


def _beside(nb, explorer):
    """The floor slider in the cell right below the explorer's (inserted if not there yet)."""
    below = explorer["cell"] + 1
    for widget in nb.widgets():
        if widget["cell"] == below and nb.output_node(
                below, widget["output"]).locator(".latency-label").count():
            return widget
    nb.insert_cell_below(explorer["cell"], driver.FLOOR_CODE)
    return next(w for w in nb.widgets() if w["cell"] == below)


def _explorers(nb, name, presses, log, between):
    """Each explorer, its presses alternating with the floor's beside it; ``between()`` (the
    floor at the notebook's end) before each and after. From the last explorer up, so that
    the floor cells inserted below them do not move the explorers still to measure."""
    rows = []
    found = nb.explorers()
    for e in found:
        nb.wait_rendered(e)
    for e in reversed(found):
        beside = _beside(nb, e)
        between()
        before = _recorded(nb).get(e["model_id"], {"timings": []})
        times, floor = [], nb.latency(beside, PER_ROUND)
        for _ in range(max(1, presses // PER_ROUND)):
            times += nb.latency(e, PER_ROUND)
            floor += nb.latency(beside, PER_ROUND)
        after = _recorded(nb).get(e["model_id"], {"timings": []})
        moves = after["timings"][len(before["timings"]):]
        rows.insert(0, {
            "notebook": name, "cell": e["cell"], "model_id": e["model_id"],
            "name": after.get("name", "?"), "control": after.get("control", "?"),
            "latencies": times, "median_ms": _median(times),
            "floor_latencies": floor, "floor_ms": _median(floor),
            "missed": sum(t is None for t in times), "moves": len(moves),
            "kernel_ms": _median([t[1] for t in moves]),  # update, drawing, sending
            "update_ms": _median([t[0] for t in moves]),
            "kernel_cpu_ms": _median([t[3] for t in moves if len(t) > 3]),
            "redrawn": sum(t[2] != "moved" for t in moves),  # background or whole figure
        })
        row = rows[0]
        log(f"  {name} {row['name']} ({row['control']}): {row['median_ms'] or float('nan'):.1f}"
            f" ms against {row['floor_ms'] or float('nan'):.1f} ms for the floor beside it; "
            f"{row['kernel_ms'] or float('nan'):.1f} ms in the kernel "
            f"({row['kernel_cpu_ms'] or float('nan'):.1f} ms of CPU)")
    between()
    return rows


def _recorded(nb):
    return json.loads(nb.execute_hidden(_TIMINGS) or "{}")

