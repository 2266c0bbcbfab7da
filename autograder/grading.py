"""Grade every submission and record the grades: result files, the gradebook, the exports.

A submission that cannot be graded still gets its rows (score 0, with a reason) and never
stops the others. Grading itself happens in sandboxed worker processes (autograder.runner,
autograder.worker); this module plans the work and writes what came out. What the instructor
decides on top of the grader (overrides, the late policy) lives in files of its own and is
applied to every export, so a regrade never loses it:

    autograder/overrides.csv   student, assignment, grade_id, score, reason
    autograder/policy.toml     [late] penalty_per_day, max_penalty; [due] assignment = date
"""
import csv
import json
import math
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from . import course, reading, runner
from . import results as stored

COLUMNS = ["student", "name", "assignment", "grade_id", "score", "max_score", "status",
           "reason", "auto_score", "override"]
TOTAL_COLUMNS = ["student", "name", "section", "assignment", "auto_score", "overrides",
                 "late", "submitted_at", "days_late", "penalty", "total", "max_score",
                 "status", "notes"]
OVERRIDES_CSV = course.HERE / "overrides.csv"
OVERRIDE_COLUMNS = ["student", "assignment", "grade_id", "score", "reason"]
POLICY = course.HERE / "policy.toml"
EXPORTS = {"grades": course.GRADES_CSV, "totals": course.HERE / "totals.csv",
           "canvas": course.HERE / "canvas.csv", "moodle": course.HERE / "moodle.csv"}


def submissions(assignments=None, students=None):
    """(student, assignment) pairs found under autograder/submitted/, sorted."""
    known = set(assignments or course.assignments())
    found = []
    if not course.SUBMITTED.is_dir():
        return found
    for student_dir in sorted(p for p in course.SUBMITTED.iterdir() if p.is_dir()):
        if students and student_dir.name not in students:
            continue
        for a_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            if a_dir.name in known:
                found.append((student_dir.name, a_dir.name))
    return found


def resolve_students(names):
    """Student keys for ids or names given on the command line; exits naming any unknown."""
    from .collect import students

    if not names:
        return None
    present = {s for s, _ in submissions()}
    roster = students()
    keys, unknown = [], []
    for name in names:
        if name in present:
            keys.append(name)
            continue
        ids = sorted(sid for sid, row in roster.items() if row.get("name") == name
                     and sid in present)
        if len(ids) > 1:
            raise SystemExit(f"{len(ids)} students are named {name!r}: ids {', '.join(ids)}; "
                             "give the id")
        (keys.append(ids[0]) if ids else unknown.append(name))
    if unknown:
        raise SystemExit(f"no submission from {', '.join(map(repr, unknown))} under "
                         f"{course.SUBMITTED.relative_to(course.ROOT)}/ (students: "
                         f"{', '.join(sorted(present)[:20]) or 'none yet: run collect'})")
    return keys


def precheck(student, assignment):
    """(status, reason, notebook dict, repairs) for a submission; status None when gradable."""
    folder = course.SUBMITTED / student / assignment
    notebook = folder / f"{assignment}.ipynb"
    if not notebook.is_file():
        others = sorted(p.name for p in folder.glob("*.ipynb"))
        if others:
            return ("renamed notebook", f"found {', '.join(others)}; expected {assignment}.ipynb",
                    None, [])
        return "missing notebook", f"no {assignment}.ipynb in the submission", None, []
    try:
        nb, repairs = reading.read(notebook)
    except reading.Unreadable as error:
        return "unreadable notebook", str(error), None, []
    return None, "", nb, repairs


def regenerate(assignments):
    """Rebuild the gradebook's copy of each assignment from solutions/ (so edited tests count).

    The lecture it writes goes to autograder/build/release/ (the workers run its public
    cells), leaving lectures/ untouched.
    """
    api = course.nbgrader_api(**{"CourseDirectory.release_directory": "autograder/build/release"})
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"could not build {assignment} from solutions/:\n"
                               f"{result.get('error') or result.get('log')}")


def built_lecture(assignment):
    return course.BUILD / "release" / assignment / f"{assignment}.ipynb"


def plan(assignments, students=None, limits=None, force=False):
    """Tasks to grade now, and how many submissions are unchanged since they were graded."""
    limits = limits or runner.DEFAULT_LIMITS
    code_hash = runner.code_digest()
    tasks, unchanged = [], 0
    for student, assignment in submissions(assignments, students):
        folder = course.SUBMITTED / student / assignment
        solution = course.SOLUTIONS / assignment / f"{assignment}.ipynb"
        notebook = folder / f"{assignment}.ipynb"
        listing = sorted(p.name for p in folder.iterdir() if p.name != "submission.json")
        key = runner._digest(runner.GRADER_VERSION, json.dumps(limits, sort_keys=True),
                             code_hash, solution.read_bytes(), listing,
                             notebook.read_bytes() if notebook.is_file() else b"")
        existing = stored.read(student, assignment)
        if not force and existing and existing.get("key") == key \
                and existing.get("status") != "crashed":
            unchanged += 1
            continue
        status, reason, nb, repairs = precheck(student, assignment)
        if status:
            stored.write(stored.path(student, assignment),
                          stored.zero_for(student, assignment, key, status, reason))
            continue
        readable = course.BUILD / "submissions" / assignment / f"{student}.ipynb"
        stored.write(readable, nb)  # what the worker reads: the notebook as repaired
        tasks.append({"student": student, "assignment": assignment, "key": key,
                      "notebook": str(readable), "solution": str(solution),
                      "notes": [f"the notebook was repaired: {'; '.join(repairs)}"]
                      if repairs else [], "lecture": str(built_lecture(assignment))})
    return tasks, unchanged


# --- what the instructor decides: overrides and the late policy ----------------------------

def read_overrides():
    """{(student, assignment, grade_id): (score, reason)} from autograder/overrides.csv."""
    if not OVERRIDES_CSV.is_file():
        return {}
    with open(OVERRIDES_CSV, newline="", encoding="utf-8") as f:
        return {(r["student"], r["assignment"], r["grade_id"]): (float(r["score"]), r["reason"])
                for r in csv.DictReader(f)}


def set_override(student, assignment, grade_id, score, reason):
    """Record (or with score None, remove) an override; it applies to every later export."""
    graded = dict(course.graded_cells(assignment))
    if grade_id not in graded:
        raise SystemExit(f"{assignment} has no graded cell {grade_id!r} "
                         f"(it has {', '.join(graded)})")
    if score is not None and not 0 <= score <= graded[grade_id]:
        raise SystemExit(f"{grade_id} is worth 0 to {graded[grade_id]:g} points, not {score:g}")
    if score is not None and not reason.strip():
        raise SystemExit("an override needs a reason (--reason '...')")
    table = read_overrides()
    if score is None:
        table.pop((student, assignment, grade_id), None)
    else:
        table[(student, assignment, grade_id)] = (score, reason.strip())
    _write_rows(OVERRIDES_CSV, OVERRIDE_COLUMNS,
                [{"student": s, "assignment": a, "grade_id": g, "score": v, "reason": why}
                 for (s, a, g), (v, why) in sorted(table.items())])


def policy():
    """The late policy and due dates from autograder/policy.toml (no penalty when absent)."""
    from utils.contract import tomllib

    data = tomllib.loads(POLICY.read_text(encoding="utf-8")) if POLICY.is_file() else {}
    late = data.get("late", {})
    return {"penalty_per_day": float(late.get("penalty_per_day", 0.0)),
            "max_penalty": float(late.get("max_penalty", 1.0)),
            "due": {a: _when(str(d)) for a, d in data.get("due", {}).items()}}


def _when(text):
    """A datetime from ISO text or nbgrader's "2026-12-01 10:00:00.123456 UTC"; naive = UTC."""
    if not text:
        return None
    text = text.strip().removesuffix(" UTC").replace(" ", "T", 1)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def handed_in(student, assignment):
    """(submitted at or None, the LMS's late flag or None) of a submission."""
    folder = course.SUBMITTED / student / assignment
    info = {}
    if (folder / "submission.json").is_file():
        info = json.loads((folder / "submission.json").read_text())
    elif (folder / "timestamp.txt").is_file():  # nbgrader's exchange
        info = {"submitted_at": (folder / "timestamp.txt").read_text().strip()}
    return _when(info.get("submitted_at") or ""), info.get("late")


def lateness(student, assignment, rules):
    """(late, days late, penalty as a fraction of the points) under the late policy.

    Days late count from the due date in policy.toml (every started day counts); a submission
    the LMS flagged late with no due date known counts as one day late."""
    submitted, flagged = handed_in(student, assignment)
    due = rules["due"].get(assignment)
    days = 0
    if due and submitted:
        days = max(0, math.ceil((submitted - due).total_seconds() / 86400))
    elif flagged:
        days = 1
    late = bool(days) or bool(flagged)
    days = days or (1 if late else 0)
    return late, days, min(rules["max_penalty"], rules["penalty_per_day"] * days)


# --- reading the results back ----------------------------------------------------------------

def results(assignments=None, students=None):
    """The stored result of every current submission, with overrides applied to its cells
    (each cell keeps the grader's own score as ``auto_score``)."""
    out = []
    overrides = read_overrides()
    for student, assignment in submissions(assignments, students):
        result = stored.read(student, assignment)
        if result is None:
            result = stored.zero_for(student, assignment, "", "not graded",
                                      "not graded yet: run `python -m autograder grade`")
        for cell in result["cells"]:
            cell["auto_score"] = cell["score"]
            cell["override"] = ""
            found = overrides.get((student, assignment, cell["grade_id"]))
            if found:
                cell["score"], cell["override"] = found[0], found[1]
        out.append(result)
    return out


def rows(all_results, names=None):
    """CSV rows: one per student, assignment and graded cell."""
    names = names or {}
    table = []
    for r in all_results:
        for cell in r["cells"]:
            reason = "" if cell["status"] == "passed" else (cell.get("message") or r["reason"])
            if cell.get("note"):
                reason = f"{reason} [{cell['note']}]".strip()
            table.append({"student": r["student"], "name": names.get(r["student"], ""),
                          "assignment": r["assignment"], "grade_id": cell["grade_id"],
                          "score": round(float(cell["score"]), 4),
                          "max_score": float(cell["max_score"]), "status": cell["status"],
                          "reason": " ".join(reason.split())[:300],
                          "auto_score": round(float(cell.get("auto_score", cell["score"])), 4),
                          "override": cell.get("override", "")})
    return table


def totals(all_results, roster=None):
    """Per student and notebook: the grader's points, overrides, lateness and the total."""
    roster = roster or {}
    rules = policy()
    table = []
    for r in all_results:
        auto = sum(float(c.get("auto_score", c["score"])) for c in r["cells"])
        got = sum(float(c["score"]) for c in r["cells"])
        out_of = sum(float(c["max_score"]) for c in r["cells"])
        late, days, fraction = lateness(r["student"], r["assignment"], rules)
        submitted, _ = handed_in(r["student"], r["assignment"])
        penalty = round(min(got, fraction * out_of), 4) if late else 0.0
        person = roster.get(r["student"], {})
        notes = list(r.get("notes", []))
        notes += [f"{c['grade_id']}: {c['override']}" for c in r["cells"] if c.get("override")]
        table.append({"student": r["student"], "name": person.get("name", ""),
                      "section": person.get("section", ""), "assignment": r["assignment"],
                      "auto_score": round(auto, 4), "overrides": round(got - auto, 4),
                      "late": "yes" if late else "", "days_late": days if late else 0,
                      "submitted_at": submitted.isoformat() if submitted else "",
                      "penalty": penalty, "total": round(got - penalty, 4),
                      "max_score": out_of, "status": r["status"], "notes": " | ".join(notes)})
    return table


def _write_rows(path, columns, table):
    """Write rows atomically: a crash mid-write never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".csv.tmp")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(table)
    os.replace(tmp, path)
    return path


def write_csv(table, path=course.GRADES_CSV):
    return _write_rows(path, COLUMNS, table)


def gradebook_tables(total_rows, roster, assignments):
    """(Canvas rows, Moodle rows): one row per student, one column per notebook.

    Canvas imports its own export format: Student, ID, SIS User ID, SIS Login ID, Section,
    then a column per assignment; Moodle's CSV import maps an "Email address" or "ID number"
    column to its users and takes the rest as grade items. A student on the roster who handed
    nothing in has a row with empty cells (no grade yet, not a 0 the instructor never gave)."""
    per_student = {sid: {} for sid in roster}
    for t in total_rows:
        per_student.setdefault(t["student"], {})[t["assignment"]] = t["total"]
    canvas, moodle = [], []
    for sid in sorted(per_student, key=lambda s: (roster.get(s, {}).get("name") or s, s)):
        person = roster.get(sid, {})
        scores = {a: per_student[sid].get(a, "") for a in assignments}
        canvas.append({"Student": person.get("name") or sid, "ID": sid, "SIS User ID": "",
                       "SIS Login ID": person.get("email", ""),
                       "Section": person.get("section", ""), **scores})
        moodle.append({"ID number": sid, "Email address": person.get("email", ""),
                       "Full name": person.get("name") or sid, **scores})
    return canvas, moodle


def export(path=course.GRADES_CSV, assignments=None):
    """Write grades.csv (per exercise), totals.csv (per student and notebook), canvas.csv and
    moodle.csv (per student, ready to import) and review.html; returns the paths written."""
    from . import review
    from .collect import students

    roster = students()
    everything = results(assignments)
    names = {sid: row.get("name", "") for sid, row in roster.items()}
    written = [write_csv(rows(everything, names), path)]
    total_rows = totals(everything, roster)
    written.append(_write_rows(EXPORTS["totals"], TOTAL_COLUMNS, total_rows))
    present = [a for a in (assignments or course.assignments())
               if any(t["assignment"] == a for t in total_rows)]
    canvas, moodle = gradebook_tables(total_rows, roster, present)
    out_of = {a: sum(p for _, p in course.graded_cells(a)) for a in present}
    written.append(_write_rows(EXPORTS["canvas"], ["Student", "ID", "SIS User ID",
                                                   "SIS Login ID", "Section", *present],
                               [{"Student": "    Points Possible", **out_of}] + canvas))
    written.append(_write_rows(EXPORTS["moodle"], ["ID number", "Email address", "Full name",
                                                   *present], moodle))
    written.append(review.write(everything, total_rows))
    return written


def record(all_results):
    """Put the scores into nbgrader's gradebook (one writer: this process): the grader's as
    auto_score, an override as nbgrader's manual score."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(course.config().CourseDirectory.db_url) as gradebook:
        warnings.simplefilter("ignore")  # nbgrader's add_submission trips SQLAlchemy's autoflush notes
        for r in all_results:
            if not r["cells"] or r["status"] == "not graded":
                continue
            gradebook.update_or_create_student(r["student"])
            try:
                gradebook.find_submission(r["assignment"], r["student"])
            except MissingEntry:
                gradebook.add_submission(r["assignment"], r["student"])
            for cell in r["cells"]:
                try:
                    grade = gradebook.find_grade(cell["grade_id"], r["assignment"],
                                                 r["assignment"], r["student"])
                except MissingEntry:
                    continue
                grade.auto_score = float(cell.get("auto_score", cell["score"]))
                grade.manual_score = float(cell["score"]) if cell.get("override") else None
            gradebook.db.commit()


def grade(assignments, students=None, workers=None, limits=None, progress=True, force=False):
    """Grade what changed (everything selected with ``force``), then record and export it all;
    returns (results, graded now, unchanged)."""
    regenerate(assignments)
    tasks, unchanged = plan(assignments, students, limits, force)
    workers = workers or os.cpu_count() or 1
    bar = runner.Progress(len(tasks)) if progress and tasks else None
    runner.grade(tasks, workers, limits, bar)
    record(results(assignments))
    export()
    return results(assignments, students), len(tasks), unchanged
