"""Making a course copy and submissions the way students make them, for the grading tests."""
import csv
import json
import os
import shutil
import subprocess
import sys

from conftest import ROOT, nbgrader_meta, read_notebook


def copy_course(dest, assignments=None):
    """A copy of the course (solutions, autograder, utils) in ``dest``, released."""
    ignore = shutil.ignore_patterns("__pycache__", "submitted", "autograded", "feedback",
                                    "build", "*.db", "grades.csv", "summary.txt", "summary.csv",
                                    "summary.png")
    for name in ("autograder", "utils"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for a in assignments or [p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()]:
        shutil.copytree(ROOT / "solutions" / a, dest / "solutions" / a, ignore=ignore)
    for name in ("requirements.txt", "pyproject.toml", "README.md", "Makefile"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, dest / name)
    run_cli(dest, "release")
    return dest


def answers(nb):
    return {nbgrader_meta(c)["grade_id"]: c for c in nb["cells"]
            if nbgrader_meta(c).get("solution")}


def strip_markers(source):
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def submission(course_dir, a, replace=None, solved=False):
    """The released lecture of ``a``, answer cells replaced as a student would."""
    nb = read_notebook(course_dir / "lectures" / a / f"{a}.ipynb")
    if solved:
        source_cells = answers(read_notebook(course_dir / "solutions" / a / f"{a}.ipynb"))
        for grade_id, cell in answers(nb).items():
            cell["source"] = strip_markers("".join(source_cells[grade_id]["source"]))
    for grade_id, code in (replace or {}).items():
        answers(nb)[grade_id]["source"] = code
    return nb


def submit(course_dir, student, a, nb, name=None):
    folder = course_dir / "autograder" / "submitted" / student / a
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (name or f"{a}.ipynb")).write_text(json.dumps(nb))
    return folder


def run_cli(course_dir, *args, env=None, timeout=1800):
    result = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=course_dir,
                            capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"autograder {args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def read_csv(course_dir, name="grades.csv"):
    with open(course_dir / "autograder" / name, newline="") as f:
        return list(csv.DictReader(f))


def scores(rows, student, a):
    return {r["grade_id"]: (float(r["score"]), float(r["max_score"]))
            for r in rows if r["student"] == student and r["assignment"] == a}
