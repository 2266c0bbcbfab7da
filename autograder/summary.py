"""What the class got wrong: per exercise, the score distribution and the commonest failures,
in the course's order (utils.contract), with every outcome (an unreadable notebook too) and
how many submissions had an answer cell duplicated."""
import re
from collections import Counter

from . import course

STATUSES = ["passed", "failed", "timeout", "crashed", "out of memory", "missing",
            "missing notebook", "renamed notebook", "unreadable notebook", "not graded"]


def order(key):
    """Sort key of (assignment, grade_id): the notebooks and their functions in course order."""
    from utils import contract

    assignment, grade_id = key
    ids = [nb.id for nb in contract.NOTEBOOKS]
    n = ids.index(assignment) if assignment in ids else len(ids)
    names = contract.NOTEBOOKS[n].names if n < len(ids) else []
    name = grade_id.removeprefix("test_")
    return (n, assignment, names.index(name) if name in names else len(names), grade_id)


def failure_key(message):
    """A failure message reduced to what many students share: the likely mistake, if named."""
    for line in message.splitlines():
        if "likely mistake:" in line:
            return line.split("likely mistake:", 1)[1].strip()
    first = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return re.sub(r"case \d+ of \d+, ", "", first)[:160]


def summarize(results):
    """{(assignment, grade_id): stats} over the results of graded submissions."""
    table = {}
    for r in results:
        for cell in r["cells"]:
            s = table.setdefault((r["assignment"], cell["grade_id"]), {
                "n": 0, "total": 0.0, "max_score": cell["max_score"], "full": 0,
                "statuses": Counter(), "failures": Counter(), "duplicated": 0})
            s["n"] += 1
            s["total"] += cell["score"]
            s["full"] += cell["score"] >= cell["max_score"] > 0
            s["statuses"][cell["status"]] += 1
            s["duplicated"] += bool(cell.get("note"))
            if cell["status"] != "passed":
                s["failures"][failure_key(cell.get("message") or r.get("reason", ""))] += 1
    return table


def text(table, top=3):
    lines = [f"{'assignment':26s} {'exercise':28s} {'n':>4s} {'mean':>6s} {'full':>5s}  "
             "statuses / commonest failures"]
    for (assignment, grade_id), s in sorted(table.items(), key=lambda kv: order(kv[0])):
        mean = s["total"] / s["n"] if s["n"] else 0.0
        statuses = ", ".join(f"{k} {v}" for k, v in s["statuses"].most_common())
        if s["duplicated"]:
            statuses += f"; answer cell duplicated {s['duplicated']}"
        lines.append(f"{assignment:26s} {grade_id:28s} {s['n']:4d} {mean:6.2f} "
                     f"{s['full'] / max(s['n'], 1):5.0%}  {statuses}")
        for message, count in s["failures"].most_common(top):
            lines.append(f"{'':62s}{count:4d} x {message}")
    return "\n".join(lines)


def plot(table, path):
    """A stacked bar per exercise: how many passed, failed, timed out, crashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted(table, key=order)
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(keys) + 2), 4), layout="constrained")
    bottom = [0] * len(keys)
    colors = ["#2ca02c", "#d62728", "#ff7f0e", "#7f7f7f", "#9467bd", "#bcbd22", "#8c564b",
              "#e377c2", "#17becf", "#c7c7c7"]
    for status, color in zip(STATUSES, colors):
        counts = [table[k]["statuses"].get(status, 0) for k in keys]
        if any(counts):
            ax.bar(range(len(keys)), counts, bottom=bottom, color=color, label=status)
            bottom = [b + c for b, c in zip(bottom, counts)]
    ax.set_xticks(range(len(keys)), [f"{a[:2]} {g.removeprefix('test_')}" for a, g in keys],
                  rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("submissions")
    ax.set_title("outcome per exercise")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(results, folder=course.HERE):
    """Write summary.txt, summary.csv and summary.png; return the text."""
    import csv

    table = summarize(results)
    report = text(table)
    (folder / "summary.txt").write_text(report + "\n")
    with open(folder / "summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["assignment", "grade_id", "n", "mean_score", "max_score", "full_marks",
                    *STATUSES, "duplicated_answer_cell", "commonest_failure"])
        for (a, g), s in sorted(table.items(), key=lambda kv: order(kv[0])):
            common = s["failures"].most_common(1)
            w.writerow([a, g, s["n"], round(s["total"] / max(s["n"], 1), 3), s["max_score"],
                        s["full"], *[s["statuses"].get(k, 0) for k in STATUSES], s["duplicated"],
                        common[0][0] if common else ""])
    plot(table, folder / "summary.png")
    return report
