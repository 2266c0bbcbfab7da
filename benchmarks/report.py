"""Tables (Markdown, printed and written to benchmarks/latest.md) and the plot (latest.png)."""
import os
import platform
import subprocess
import time
from pathlib import Path

from . import browser as browser_bench
from . import notebooks as notebook_bench
from . import reference as reference_bench


def _f(value, fmt=".1f", missing="–"):
    return missing if value is None else format(value, fmt)


def _verdict(ok):
    return "yes" if ok else "**no**"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def latency_table(result):
    rows = []
    for r in result["explorers"]:
        added_ok = r["added_ms"] is not None and r["added_ms"] <= browser_bench.ADDED_GOAL_MS
        kernel_ok = r["kernel_ms"] is not None and r["kernel_ms"] < browser_bench.KERNEL_GOAL_MS
        rows.append([r["notebook"], f"`{r['name']}`", r["control"], _f(r["floor_ms"]),
                     _f(r["median_ms"]), _f(r["ratio"], ".2f"), _f(r["added_ms"], "+.1f"),
                     _verdict(added_ok), _f(r.get("end_floor_ms")),
                     _f(r.get("end_ratio"), ".2f"), _f(r["update_ms"], ".2f"),
                     _f(r["kernel_ms"], ".1f"), _verdict(kernel_ok),
                     _f(r.get("kernel_cpu_ms"), ".1f")])
    header = ["notebook", "explorer", "control", "floor beside ms", "move ms", "× floor",
              "added ms", f"≤ +{browser_bench.ADDED_GOAL_MS:.1f} ms", "floor at the end ms",
              "× floor at the end", "update ms", "kernel ms",
              f"kernel < {browser_bench.KERNEL_GOAL_MS:g} ms", "kernel CPU ms"]
    beside = sorted(t for r in result["explorers"] for t in r.get("floor_latencies", [])
                    if t is not None)
    end = sorted(t for t in result["floor"] if t is not None)
    presses = max((len(r["latencies"]) for r in result["explorers"]), default=0)

    def spread(values):
        return (f"median **{values[len(values) // 2]:.1f} ms** (quartiles "
                f"{values[len(values) // 4]:.1f}–{values[3 * len(values) // 4]:.1f} ms)"
                if values else "not measured")

    return (f"Floor (slider → text label): beside the explorers {spread(beside)} over "
            f"{len(beside)} presses; at the notebooks' ends {spread(end)} over {len(end)}. "
            "*floor beside ms*: the floor slider in a cell inserted right below the explorer's "
            "cell, in the same page and kernel, its presses alternating with the explorer's "
            f"{browser_bench.PER_ROUND} at a time; the ratios are to it. The browser repaints what "
            "is on screen around a slider on every key press, and lecture text full of "
            "equations costs a few ms a press whatever the widget: *floor at the end ms* is "
            "the same slider at the end of the notebook, measured before and after each "
            "explorer, and *× floor at the end* the ratio to it."
            f"\n\n*move ms*: median over {presses} arrow-key presses stepping the main "
            "control one way, from the key going down to the figure fully redrawn (the last of "
            "its layers that changed); every move is drawn on the move. *× floor*: over the "
            "floor's median; *added ms*: the difference, whose goal is one display frame. "
            "*update ms*: the explorer's `update` alone; *kernel ms*: the whole move in the "
            "kernel (`update`, then drawing and sending what it moved; `Explorer.timings`), "
            "wall clock; *kernel CPU ms*: the kernel thread's CPU time of it (the rest is "
            "waiting for a core the browser and the server are using).\n\n"
            + _table(header, rows)
            + "".join(f"\n\nNot measured: {f['notebook']} ({f['error']})."
                      for f in result.get("failed", [])))


def notebook_table(nbclient_rows, browser_result):
    by_name = {}
    for r in nbclient_rows or []:
        by_name.setdefault(r["notebook"], {})["nbclient"] = r
    for r in (browser_result or {}).get("notebooks", []):
        by_name.setdefault(r["notebook"], {})["browser"] = r
    rows = []
    total = 0.0
    for name in sorted(by_name):
        n, b = by_name[name].get("nbclient"), by_name[name].get("browser")
        seconds = n["seconds"] if n else None
        total += seconds or 0.0
        first = b["first_widget_s"] if b else None
        rows.append([name, _f(seconds), "–" if seconds is None else
                     _verdict(seconds < notebook_bench.NOTEBOOK_GOAL_S),
                     _f(b["run_s"] if b else None), _f(b["kernel_ready_s"] if b else None),
                     _f(first), _verdict(first is not None
                                         and first < browser_bench.FIRST_WIDGET_GOAL_S)])
    rows.append(["**course**", f"**{total:.1f}**" if nbclient_rows else "–",
                 _verdict(total < notebook_bench.COURSE_GOAL_S) if nbclient_rows else "–",
                 _f(sum(b["browser"]["run_s"] for b in by_name.values() if "browser" in b)
                    if browser_result else None), "", "", ""])
    header = ["notebook", "top to bottom s (solution, nbclient)",
              f"< {notebook_bench.NOTEBOOK_GOAL_S:g} s "
              f"(course < {notebook_bench.COURSE_GOAL_S:g} s)",
              "Shift-Enter through the lecture in the browser s", "open to kernel ready s",
              "kernel ready to first widget drawn s",
              f"< {browser_bench.FIRST_WIDGET_GOAL_S:g} s"]
    return _table(header, rows)


def reference_table(rows):
    out = []
    for r in rows:
        ok = r["ratio"] is not None and r["ratio"] <= reference_bench.GOAL
        out.append([r["model"], r["pass"], r["size"], _f(r["utils_ms"], ".3f"),
                    _f(r["torch_ms"], ".3f"), _f(r["ratio"], ".2f"),
                    _verdict(ok) if r["status"] == "ok" or r["ratio"] else r["status"]])
    header = ["model", "pass", "size", "utils ms", "PyTorch ms", "ratio",
              f"≤ {reference_bench.GOAL}×"]
    return _table(header, out)


def machine():
    def version(module):
        try:
            return __import__(module).__version__
        except Exception:
            return "–"

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    chromium = "–"
    exe = browser_bench.driver.chromium_executable()
    if exe:
        try:
            chromium = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                      timeout=20).stdout.strip() or "–"
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).parent, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=Path(__file__).parent,
                               timeout=10).stdout.strip()
        commit += " with uncommitted changes" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": cpu, "cores": os.cpu_count(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()), "commit": commit or "?",
            "python": platform.python_version(), "numpy": version("numpy"),
            "torch": version("torch"), "matplotlib": version("matplotlib"),
            "ipympl": version("ipympl"), "jupyterlab": version("jupyterlab"),
            "chromium": chromium}


def markdown(info, browser_result, browser_reason, nbclient_rows, reference_rows):
    parts = [
        "# Speed: the latest figures",
        "",
        "Written by `python -m benchmarks` (see `benchmarks/__init__.py` for what is measured "
        "and how). Measured side by side in one run on "
        f"{info['cores']} cores ({info['cpu']}), load average {info['load']} at the start, "
        f"{info['date']}, commit {info['commit']}; Python {info['python']}, numpy "
        f"{info['numpy']}, PyTorch {info['torch']}, matplotlib {info['matplotlib']}, ipympl "
        f"{info['ipympl']}, JupyterLab {info['jupyterlab']}, {info['chromium']}.",
        "",
        "![the figures below as bars](latest.png)",
        "",
        "## Widget latency: key press on the main control → the plot redrawn",
        "",
    ]
    if browser_result:
        parts += [latency_table(browser_result), ""]
    else:
        parts += [f"Not measured: {browser_reason}", ""]
    parts += ["## Notebook run times", "",
              "*top to bottom*: the solution notebook (every exercise answered) in a fresh "
              "kernel with nbclient, the kernel's start included. In the browser, the lecture "
              "as a student gets it: every cell run by Shift-Enter, one after the other (the "
              "unanswered exercises raise); *open to kernel ready*: the page loading until its "
              "kernel is idle; *kernel ready to first widget drawn*: Shift-Enter from the top "
              "until the first explorer's figure is on screen.", "",
              notebook_table(nbclient_rows, browser_result), "",
              "## `utils` against PyTorch (CPU, float64, one thread)", "",
              reference_table(reference_rows) if reference_rows
              else "Not measured (`--skip reference`).", ""]
    return "\n".join(parts)


def _not_measured(ax):
    """A panel for a part left out of the run (``--skip``): says so instead of empty axes."""
    ax.text(0.5, 0.5, "not measured in this run", ha="center", va="center", color="grey",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def plot(path, browser_result, nbclient_rows, reference_rows):
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 5.5), layout="constrained",
                             gridspec_kw={"width_ratios": (1.4, 1, 1)})
    ax = axes[0]
    if browser_result and browser_result["explorers"]:
        rows = browser_result["explorers"]
        labels = [f"{r['notebook'][:2]} {r['name']}" for r in rows]
        values = [r["median_ms"] or 0 for r in rows]
        kernel = [r["kernel_ms"] or 0 for r in rows]
        ys = np.arange(len(rows))
        ax.barh(ys, values, height=0.6, color="C0", label="key press → figure redrawn")
        ax.plot(kernel, ys, "|", color="C1", ms=9, mew=2, label="kernel: the whole move")
        ax.plot([r["floor_ms"] or 0 for r in rows], ys, "|", color="black", ms=9, mew=2,
                label="floor beside it")
        goals = [browser_bench.ADDED_GOAL_MS + (r["floor_ms"] or 0) for r in rows]
        ax.plot(goals, ys, "d", color="C3", ms=5,
                label="goal: the floor beside it + one frame (16.7 ms)")
        ax.set_yticks(list(ys), labels, fontsize=8)
        ax.invert_yaxis()
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    else:
        _not_measured(ax)
    ax.set(title="widget latency (median, ms)", xlabel="ms")

    ax = axes[1]
    if nbclient_rows:
        names = [r["notebook"][:2] for r in nbclient_rows]
        ax.bar(names, [r["seconds"] for r in nbclient_rows], color="C0",
               label="solution (nbclient)")
        if browser_result:
            runs = {r["notebook"][:2]: r["run_s"] for r in browser_result["notebooks"]}
            ax.plot(names, [runs.get(n, float("nan")) for n in names], "o", color="C2",
                    label="lecture in the browser")
        ax.axhline(notebook_bench.NOTEBOOK_GOAL_S, color="C3", ls="--", label="goal 20 s")
        total = sum(r["seconds"] for r in nbclient_rows)
        ax.legend(fontsize=8)
        ax.set_title(f"top to bottom (s); course {total:.0f} s")
    else:
        _not_measured(ax)
        ax.set_title("top to bottom (s)")
    ax.set(xlabel="notebook", ylabel="s")

    ax = axes[2]
    if reference_rows:
        labels = [f"{r['model']}\n{r['pass'].replace('forward + backward', 'fwd+bwd')}"
                  for r in reference_rows]
        ratios = [r["ratio"] or 0 for r in reference_rows]
        bars = ax.barh(range(len(labels)), ratios, color="C0")
        for bar, r in zip(bars, reference_rows):
            if r["ratio"] is None:
                ax.text(0.05, bar.get_y() + bar.get_height() / 2, "not yet implemented"
                        if r["status"] == "not yet implemented" else "error",
                        va="center", fontsize=8, color="grey")
        ax.axvline(reference_bench.GOAL, color="C3", ls="--", label="goal 1.5×")
        ax.axvline(1, color="black", lw=1, label="as fast as PyTorch")
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.legend(fontsize=8)
    else:
        _not_measured(ax)
    ax.set(title="utils time / PyTorch time", xlabel="ratio")
    fig.savefig(path, dpi=80)
    plt.close(fig)


README_BEGIN, README_END = "<!-- speed:begin -->", "<!-- speed:end -->"


def readme_block(info, browser_result, nbclient_rows, reference_rows):
    """A short summary for README.md's Speed section."""
    lines = [f"Latest run: {info['date']}, commit {info['commit']}, {info['cores']} cores, load "
             f"average {info['load'].split()[0]} at the start (full tables in "
             "[benchmarks/latest.md](benchmarks/latest.md)):", ""]
    if browser_result:
        rows = browser_result["explorers"]
        ratios = [r["ratio"] for r in rows if r["ratio"]]
        added = [r["added_ms"] for r in rows if r["added_ms"] is not None]
        end_ratios = [r["end_ratio"] for r in rows if r.get("end_ratio")]
        floors = [r["floor_ms"] for r in rows if r["floor_ms"]]
        kernel = [r["kernel_ms"] for r in rows if r["kernel_ms"] is not None]
        hit = sum(a <= browser_bench.ADDED_GOAL_MS for a in added)
        firsts = [r["first_widget_s"] for r in browser_result["notebooks"] if r["first_widget_s"]]
        lines.append(f"- Widgets: explorers moving their main control "
                     f"{min(r['median_ms'] for r in rows if r['median_ms']):.1f}–"
                     f"{max(r['median_ms'] for r in rows if r['median_ms']):.1f} ms, "
                     f"{min(ratios):.2f}–{max(ratios):.2f}× the floor beside each (a slider "
                     f"that only sets a text label, {min(floors):.1f}–{max(floors):.1f} ms), "
                     f"{min(added):+.1f} to {max(added):+.1f} ms: {hit} of {len(added)} within "
                     f"one display frame ({browser_bench.ADDED_GOAL_MS:.1f} ms). Against the "
                     f"floor at the notebook's end ({browser_result['floor_ms']:.1f} ms, away "
                     f"from the equations around the explorers) "
                     f"{min(end_ratios):.2f}–{max(end_ratios):.2f}×. A move takes "
                     f"{min(kernel):.1f}–{max(kernel):.1f} ms in the kernel.")
        if firsts:
            lines.append(f"- First widget drawn {min(firsts):.1f}–{max(firsts):.1f} s after the "
                         f"kernel is ready.")
    if nbclient_rows:
        total = sum(r["seconds"] for r in nbclient_rows)
        lines.append(f"- Notebooks top to bottom: {min(r['seconds'] for r in nbclient_rows):.1f}–"
                     f"{max(r['seconds'] for r in nbclient_rows):.1f} s each, {total:.0f} s for "
                     f"the {len(nbclient_rows)} notebooks.")
    measured = [r for r in reference_rows or [] if r["ratio"]]
    if measured:
        missing = sorted({r["model"] for r in reference_rows
                          if r["status"] == "not yet implemented"})
        lines.append("- `utils` against PyTorch: " + ", ".join(
            f"{r['model']} {r['pass']} {r['ratio']:.2f}×" for r in measured)
            + (f"; {', '.join(missing)} not yet implemented." if missing else "."))
    return "\n".join(lines)


def update_readme(readme, block):
    text = Path(readme).read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        return False
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    Path(readme).write_text(f"{head}{README_BEGIN}\n{block}\n{README_END}{tail}", encoding="utf-8")
    return True
