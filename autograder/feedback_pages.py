"""Feedback pages: per student and notebook, each exercise's points and the visible tests'
messages. Built from the grader's results, which never hold hidden test source."""
from html import escape

from . import course

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #ccc;
padding: .4rem .6rem; vertical-align: top; text-align: left; }
.passed { color: #176b2c; } .failed, .timeout, .crashed, .missing, .out { color: #a11; }
.note { color: #555; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
"""


def page(result, total=None):
    """The HTML of one result (``total``: its row of grading.totals, for lateness)."""
    got = sum(c["score"] for c in result["cells"])
    out_of = sum(c["max_score"] for c in result["cells"])
    title = f"{result['assignment']}: feedback for {result['student']}"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}"
             f"</title><style>{STYLE}</style></head><body>",
             f"<h1>{escape(title)}</h1><p><b>Score: {got:g} / {out_of:g}</b></p>"]
    if total and total.get("late"):
        parts.append(f"<p class='note'>Handed in late ({total['days_late']} day(s)): "
                     f"-{total['penalty']:g} points, total {total['total']:g} / {out_of:g}</p>")
    if result["status"] != "graded":
        parts.append(f"<p class='failed'>This submission could not be graded: "
                     f"{escape(result['status'])}. {escape(result['reason'])}</p>")
    for note in result.get("notes", []):
        parts.append(f"<p class='note'>Note: {escape(note)}</p>")
    parts.append("<table><tr><th>exercise</th><th>points</th><th>result</th></tr>")
    for cell in result["cells"]:
        status = cell["status"]
        # the test's message first (case, expected, got, likely mistake), then what it printed
        detail = "".join(f"<pre>{escape(text)}</pre>"
                         for text in (cell.get("message"), cell.get("output")) if text)
        if cell.get("note"):
            detail += f"<p class='note'>{escape(cell['note'])}</p>"
        if cell.get("override"):
            detail += (f"<p class='note'>Points set by your instructor (the tests gave "
                       f"{cell.get('auto_score', 0):g}): {escape(cell['override'])}</p>")
        names = ", ".join(cell.get("functions") or []) or cell["grade_id"]
        parts.append(f"<tr><td>{escape(names)}</td><td>{cell['score']:g} / "
                     f"{cell['max_score']:g}</td><td><span class='{status.split()[0]}'>"
                     f"{escape(status)}</span>{detail}</td></tr>")
    parts.append("</table>")
    for name, code in (result.get("answers") or {}).items():
        if code:
            parts.append(f"<h3>Your {escape(name)}</h3><pre>{escape(code)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(results, totals=()):
    """Write autograder/feedback/<student>/<assignment>/<assignment>.html for each result.

    The submission's timestamp.txt and submission_secret.txt (from nbgrader's exchange) are
    copied beside it: nbgrader's release_feedback needs them to return the page.
    """
    import shutil

    written = []
    for result in results:
        folder = course.FEEDBACK / result["student"] / result["assignment"]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{result['assignment']}.html"
        total = next((t for t in totals if (t["student"], t["assignment"])
                      == (result["student"], result["assignment"])), None)
        path.write_text(page(result, total), encoding="utf-8")
        for name in ("timestamp.txt", "submission_secret.txt"):
            source = course.SUBMITTED / result["student"] / result["assignment"] / name
            if source.is_file():
                shutil.copy2(source, folder / name)
        written.append(path)
    return written
