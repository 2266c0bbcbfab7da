"""Grade every submission and record the grades: result files, the gradebook, grades.csv.

A submission that cannot be graded still gets its rows (score 0, with a reason) and never
stops the others. Grading itself happens in sandboxed worker processes (autograder.runner,
autograder.worker); this module plans the work and writes what came out.
"""
import csv
import json
import os
import tempfile
from pathlib import Path

from . import course, runner

COLUMNS = ["student", "assignment", "grade_id", "score", "max_score", "status", "reason"]


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
    """(status, reason) for a submission that cannot be graded, or None when it can."""
    folder = course.SUBMITTED / student / assignment
    notebook = folder / f"{assignment}.ipynb"
    if not notebook.is_file():
        others = sorted(p.name for p in folder.glob("*.ipynb"))
        if others:
            return "renamed notebook", f"found {', '.join(others)}; expected {assignment}.ipynb"
        return "missing notebook", f"no {assignment}.ipynb in the submission"
    try:
        import nbformat

        nbformat.validate(nbformat.reads(notebook.read_text(encoding="utf-8"), as_version=4))
    except Exception as error:  # not JSON, not a notebook, bad encoding
        return "unreadable notebook", f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return None


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


def _zero_result(student, assignment, key, status, reason):
    from .worker import zero_result

    cells = [(g, [], points) for g, points in course.graded_cells(assignment)]
    return zero_result(student, assignment, key, status, reason, cells)


def plan(assignments, students=None, limits=None):
    """Tasks to grade now, and how many submissions are unchanged since they were graded."""
    from .worker import write_json_atomic

    limits = limits or runner.DEFAULT_LIMITS
    code_hash = runner.code_digest()
    tasks, unchanged = [], 0
    for student, assignment in submissions(assignments, students):
        folder = course.SUBMITTED / student / assignment
        solution = course.SOLUTIONS / assignment / f"{assignment}.ipynb"
        notebook = folder / f"{assignment}.ipynb"
        listing = sorted(p.name for p in folder.iterdir())
        key = runner._digest(runner.GRADER_VERSION, json.dumps(limits, sort_keys=True),
                             code_hash, solution.read_bytes(), listing,
                             notebook.read_bytes() if notebook.is_file() else b"")
        existing = runner.read_result(student, assignment)
        if existing and existing.get("key") == key and existing.get("status") != "crashed":
            unchanged += 1
            continue
        problem = precheck(student, assignment)
        if problem:
            write_json_atomic(runner.result_path(student, assignment),
                              _zero_result(student, assignment, key, *problem))
            continue
        tasks.append({"student": student, "assignment": assignment, "key": key,
                      "notebook": str(notebook), "solution": str(solution),
                      "lecture": str(built_lecture(assignment))})
    return tasks, unchanged


def results(assignments=None, students=None):
    """The stored result of every current submission (one per student and assignment)."""
    out = []
    for student, assignment in submissions(assignments, students):
        result = runner.read_result(student, assignment)
        if result is None:
            result = _zero_result(student, assignment, "", "not graded",
                                  "not graded yet: run `python -m autograder grade`")
        out.append(result)
    return out


def rows(all_results):
    """CSV rows: one per student, assignment and graded cell."""
    table = []
    for r in all_results:
        for cell in r["cells"]:
            reason = "" if cell["status"] == "passed" else (cell.get("message") or r["reason"])
            table.append({"student": r["student"], "assignment": r["assignment"],
                          "grade_id": cell["grade_id"], "score": round(float(cell["score"]), 4),
                          "max_score": float(cell["max_score"]), "status": cell["status"],
                          "reason": " ".join(reason.split())[:300]})
    return table


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


def record(all_results):
    """Put the scores into nbgrader's gradebook (one writer: this process)."""
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
                grade.auto_score = float(cell["score"])
            gradebook.db.commit()


def export(path=course.GRADES_CSV, assignments=None):
    """Write grades.csv for every submission graded so far."""
    return write_csv(rows(results(assignments)), path)


def grade(assignments, students=None, workers=None, limits=None, progress=True):
    """Grade what changed, then record everything; returns (results, graded now, unchanged)."""
    regenerate(assignments)
    tasks, unchanged = plan(assignments, students, limits)
    workers = workers or os.cpu_count() or 1
    bar = runner.Progress(len(tasks)) if progress and tasks else None
    runner.grade(tasks, workers, limits, bar)
    everything = results(assignments, students)
    record(everything)
    export()
    return everything, len(tasks), unchanged
