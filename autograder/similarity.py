"""Copying shows: each exercise's answers compared across the class and with the course's code.

``python -m autograder similarity [ASSIGNMENT ...] [--threshold 0.6]`` fingerprints every
submitted answer cell with copydetect (the winnowing algorithm of MOSS, on Pygments' Python
tokens: renamed variables and reformatting do not hide a copy) and compares, per graded
function, every pair of students and every student with the course's reference
(``utils/reference``) and the solution's answer cell. The released stub (signature and
docstring) is boilerplate and does not count. Pairs whose similarity (the larger of the two
shares of copied tokens) reaches the threshold are written to
``autograder/similarity.csv`` and ``autograder/similarity.html`` (each pair's code side by
side, the copied parts highlighted), and printed as a table.
"""
import csv
import html
import inspect
import io
import json
import re
from pathlib import Path

from . import course

NOISE, GUARANTEE = 12, 20  # copydetect's k (tokens per fingerprint) and the window's guarantee
CSV = course.HERE / "similarity.csv"
HTML = course.HERE / "similarity.html"


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def answer_cells(path, names):
    """{graded function: the answer cell's source} of one notebook (by grade id, else by def)."""
    try:
        cells = [c for c in json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
                 if c.get("cell_type") == "code"]
    except (OSError, ValueError):
        return {}
    found = {}
    for name in names:
        for cell in cells:
            if _meta(cell).get("grade_id") == name or re.search(
                    rf"^def {re.escape(name)}\(", _source(cell), re.M):
                found[name] = _source(cell)
                break
    return found


def _strip_markers(source):
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def references(assignment, names):
    """{graded function: [(label, source)]}: the reference in utils and the solution's cell."""
    import utils

    solution = course.ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    cells = answer_cells(solution, names)
    out = {}
    for name in names:
        out[name] = []
        try:
            out[name].append((f"utils.{name}", inspect.getsource(getattr(utils, name))))
        except (AttributeError, OSError, TypeError):
            pass
        if name in cells:
            out[name].append(("the solution", _strip_markers(cells[name])))
    return out


def _fingerprint(label, code, boilerplate):
    from copydetect import CodeFingerprint

    return CodeFingerprint(label, NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(code))


def compare(assignment, threshold):
    """Rows (assignment, function, a, b, similarity, a's code, b's code, a's slices, b's)."""
    from copydetect import compare_files

    from utils.contract import notebook

    names = notebook(assignment).names
    stub_cells = answer_cells(course.LECTURES / assignment / f"{assignment}.ipynb", names)
    submitted = {}
    for folder in sorted((course.SUBMITTED).glob(f"*/{assignment}")):
        notebooks = sorted(folder.glob("*.ipynb"))
        if notebooks:
            submitted[folder.parent.name] = answer_cells(notebooks[0], names)
    refs = references(assignment, names)
    rows = []
    for name in names:
        boilerplate = sorted(_fingerprint("stub", stub_cells.get(name, ""), []).hashes) \
            if stub_cells.get(name) else []
        prints = {s: _fingerprint(s, a[name], boilerplate)
                  for s, a in submitted.items() if a.get(name, "").strip()}
        course_prints = {label: _fingerprint(label, code, boilerplate)
                         for label, code in refs.get(name, [])}
        students = sorted(prints)
        pairs = [(a, b) for i, a in enumerate(students) for b in students[i + 1:]]
        pairs += [(a, label) for a in students for label in course_prints]
        for a, b in pairs:
            fa = prints[a]
            fb = prints.get(b) or course_prints[b]
            overlap, (sa, sb), slices = compare_files(fa, fb)
            score = float(max(sa, sb))
            if overlap and score >= threshold:
                rows.append((assignment, name, a, b, score, fa.raw_code, fb.raw_code, slices))
    return rows


def _highlight(code, slices):
    from copydetect.utils import highlight_overlap

    marked, _ = highlight_overlap(code, slices, "\x00", "\x01")
    return html.escape(marked).replace("\x00", "<mark>").replace("\x01", "</mark>")


def write(rows, threshold):
    """Write similarity.csv and similarity.html; return the table as text."""
    rows = sorted(rows, key=lambda r: (-r[4], r[0], r[1], r[2], r[3]))
    with open(CSV, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["assignment", "function", "a", "b", "similarity"])
        for r in rows:
            out.writerow([*r[:4], f"{r[4]:.2f}"])
    sections = []
    for assignment, name, a, b, score, code_a, code_b, (slices_a, slices_b) in rows:
        sections.append(
            f"<section><h2>{html.escape(assignment)} · <code>{html.escape(name)}</code> · "
            f"{html.escape(a)} and {html.escape(b)}: {score:.0%}</h2><div class='pair'>"
            f"<pre>{_highlight(code_a, slices_a)}</pre>"
            f"<pre>{_highlight(code_b, slices_b)}</pre></div></section>")
    HTML.write_text(
        "<!doctype html><meta charset='utf-8'><title>Similar answers</title><style>"
        "body{font-family:sans-serif;margin:2em}.pair{display:flex;gap:1em}"
        "pre{flex:1;background:#f6f6f6;padding:.5em;overflow:auto;font-size:13px}"
        "mark{background:#ffd54f}td,th{padding:2px 8px;text-align:left}</style>"
        f"<h1>Similar answers (similarity &ge; {threshold:.0%})</h1>"
        "<p>Similarity: the share of an answer's tokens (after renaming and reformatting are "
        "ignored) found in the other, the larger of the two; the stub handed out does not "
        "count. Highlighted: the matching parts. A match is a reason to look, not a verdict."
        "</p><table><tr><th>notebook</th><th>function</th><th>a</th><th>b</th>"
        "<th>similarity</th></tr>"
        + "".join(f"<tr><td>{html.escape(r[0])}</td><td>{html.escape(r[1])}</td>"
                  f"<td>{html.escape(r[2])}</td><td>{html.escape(r[3])}</td>"
                  f"<td>{r[4]:.0%}</td></tr>" for r in rows)
        + "</table>" + "".join(sections), encoding="utf-8")
    lines = [f"{'assignment':28s} {'function':26s} {'a':16s} {'b':26s} similarity"]
    lines += [f"{r[0]:28s} {r[1]:26s} {r[2]:16s} {r[3]:26s} {r[4]:.0%}" for r in rows]
    if not rows:
        lines.append(f"(no pair at or above {threshold:.0%})")
    return "\n".join(lines)
