"""Grade every submission with nbgrader and write one CSV row per student, assignment and
graded cell. A submission that cannot be graded still gets its rows (score 0, with a reason),
and never stops the others."""
import csv
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import course

COLUMNS = ["student", "assignment", "grade_id", "score", "max_score", "status", "reason"]


@dataclass
class Outcome:
    """What happened to one submission: status "graded", or why it has no grade."""

    student: str
    assignment: str
    status: str
    reason: str = ""


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


def precheck(student, assignment):
    """An :class:`Outcome` for a submission nbgrader cannot grade, or None when it can."""
    folder = course.SUBMITTED / student / assignment
    notebook = folder / f"{assignment}.ipynb"
    if not notebook.is_file():
        others = sorted(p.name for p in folder.glob("*.ipynb"))
        if others:
            return Outcome(student, assignment, "renamed notebook",
                           f"found {', '.join(others)}; expected {assignment}.ipynb")
        return Outcome(student, assignment, "missing notebook",
                       f"no {assignment}.ipynb in the submission")
    try:
        import nbformat

        nbformat.validate(nbformat.reads(notebook.read_text(encoding="utf-8"), as_version=4))
    except Exception as error:  # not JSON, not a notebook, bad encoding
        return Outcome(student, assignment, "unreadable notebook",
                       f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
    return None


def regenerate(assignments):
    """Rebuild the gradebook's copy of each assignment from solutions/ (so edited tests count).

    The release it writes goes to autograder/build/release/, leaving lectures/ untouched.
    """
    api = course.nbgrader_api(**{"CourseDirectory.release_directory": "autograder/build/release"})
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"could not build {assignment} from solutions/:\n"
                               f"{result.get('error') or result.get('log')}")


def _reason(result):
    text = (result.get("error") or result.get("log") or "").strip().splitlines()
    return text[-1][:300] if text else "nbgrader failed without a message"


def autograde(assignments, students=None, progress=print):
    """Autograde every submission; returns the list of :class:`Outcome`."""
    api = course.nbgrader_api()
    outcomes = []
    todo = submissions(assignments, students)
    for i, (student, assignment) in enumerate(todo, 1):
        outcome = precheck(student, assignment)
        if outcome is None:
            result = api.autograde(assignment, student, force=True, create=True)
            outcome = (Outcome(student, assignment, "graded") if result["success"]
                       else Outcome(student, assignment, "error", _reason(result)))
        outcomes.append(outcome)
        progress(f"[{i}/{len(todo)}] {student} {assignment}: {outcome.status}"
                 + (f" ({outcome.reason})" if outcome.reason else ""))
    return outcomes


def rows(outcomes):
    """CSV rows for the outcomes: scores from the gradebook, zeros with a reason otherwise."""
    from nbgrader.api import Gradebook, MissingEntry

    db_url = course.config().CourseDirectory.db_url
    out = []
    with Gradebook(db_url) as gradebook:
        for o in outcomes:
            cells = course.graded_cells(o.assignment)
            scores = {}
            status, reason = o.status, o.reason
            if o.status == "graded":
                try:
                    notebook = gradebook.find_submission_notebook(o.assignment, o.assignment,
                                                                  o.student)
                    scores = {g.name: g.score for g in notebook.grades}
                except MissingEntry:
                    status, reason = "error", "no grades recorded by nbgrader"
            for grade_id, points in cells:
                score = scores.get(grade_id, 0.0) if status == "graded" else 0.0
                out.append({"student": o.student, "assignment": o.assignment,
                            "grade_id": grade_id, "score": round(float(score or 0.0), 4),
                            "max_score": points, "status": status, "reason": reason})
    return out


def write_csv(table, path=course.GRADES_CSV):
    """Write rows atomically: a crash mid-write never leaves a half-written grades file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".csv.tmp")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    os.replace(tmp, path)
    return path


OUTCOMES = course.BUILD / "outcomes.json"


def save_outcomes(outcomes):
    """Remember each submission's outcome, so `export` can rebuild the CSV later."""
    saved = load_outcomes()
    saved.update({f"{o.student}/{o.assignment}": o.__dict__ for o in outcomes})
    OUTCOMES.parent.mkdir(parents=True, exist_ok=True)
    OUTCOMES.write_text(json.dumps(saved, indent=1, sort_keys=True))


def load_outcomes():
    return json.loads(OUTCOMES.read_text()) if OUTCOMES.is_file() else {}


def export(path=course.GRADES_CSV):
    """Write grades.csv for every submission graded so far."""
    outcomes = [Outcome(**o) for _, o in sorted(load_outcomes().items())]
    return write_csv(rows(outcomes), path)
