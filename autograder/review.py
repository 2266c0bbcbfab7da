"""The review page: every graded submission on one page, for the instructor.

autograder/review.html lists per student and notebook the total (after overrides and the late
policy), each exercise's status and message, the grader's notes (duplicated answer cells, a
stopped scratch cell, a repaired or unreadable file), the overrides with their reasons, and a
link to the student's feedback page and submitted notebook. It stands in for nbgrader's
formgrader, which needs autograded notebooks this grader does not write; manual points are
given with `python -m autograder override`, and show here after the next export.
"""
import os
from html import escape

from . import course

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3rem .5rem;
vertical-align: top; text-align: left; font-size: 90%; }
.passed { color: #176b2c; } .bad { color: #a11; } .note { color: #555; font-size: 85%; }
"""


def _link(target, text):
    relative = os.path.relpath(target, course.HERE)
    return f"<a href='{escape(relative)}'>{escape(text)}</a>"


def write(all_results, total_rows, path=None):
    path = path or course.HERE / "review.html"
    totals = {(t["student"], t["assignment"]): t for t in total_rows}
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Review</title>"
             f"<style>{STYLE}</style></head><body><h1>Grades to review</h1>",
             "<table><tr><th>student</th><th>notebook</th><th>total</th><th>exercises</th>"
             "<th>notes</th></tr>"]
    for r in sorted(all_results, key=lambda r: (r["assignment"], r["student"])):
        t = totals.get((r["student"], r["assignment"]), {})
        who = escape(f"{t.get('name') or ''} ({r['student']})".strip())
        cells = []
        for c in r["cells"]:
            kind = "passed" if c["status"] == "passed" else "bad"
            text = f"{c['grade_id']}: {c['score']:g}/{c['max_score']:g} {c['status']}"
            if c.get("override"):
                text += f" (override, was {c.get('auto_score', 0):g}: {c['override']})"
            message = "" if c["status"] == "passed" else (c.get("message") or "")[:300]
            cells.append(f"<div class='{kind}'>{escape(text)}</div>"
                         + (f"<div class='note'>{escape(message)}</div>" if message else ""))
        notes = [r["reason"]] if r["status"] != "graded" else []
        notes += r.get("notes", [])
        if t.get("late"):
            notes.append(f"late ({t['days_late']} day(s)): -{t['penalty']:g} points")
        feedback = course.FEEDBACK / r["student"] / r["assignment"] / f"{r['assignment']}.html"
        notebook = course.SUBMITTED / r["student"] / r["assignment"] / f"{r['assignment']}.ipynb"
        links = " ".join(_link(p, label) for p, label in ((feedback, "feedback"),
                                                            (notebook, "notebook"))
                         if p.is_file())
        parts.append(f"<tr><td>{who}<br>{links}</td><td>{escape(r['assignment'])}</td>"
                     f"<td>{t.get('total', 0):g} / {t.get('max_score', 0):g}</td>"
                     f"<td>{''.join(cells)}</td><td class='note'>"
                     f"{'<br>'.join(escape(n) for n in notes)}</td></tr>")
    parts.append("</table></body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
