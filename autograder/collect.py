"""Bring submissions into autograder/submitted/<student>/<assignment>/<assignment>.ipynb.

From nbgrader's exchange (a shared JupyterHub), or from a folder or .zip of notebooks downloaded
from an LMS. In a download, a notebook's student is its sub-folder's name when it sits in one
(`alice/01_perceptron.ipynb`), else the part of the file name before the first underscore
(`alice_01_perceptron.ipynb`, `alice_12345_67890_01_perceptron-1.ipynb` as Canvas names them).
LMSs rename files, so the notebook is saved under the assignment's name.
"""
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from . import course

SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


def student_id(path, root):
    """The student a downloaded notebook belongs to (see the module docstring)."""
    relative = path.relative_to(root)
    raw = relative.parts[0] if len(relative.parts) > 1 else path.stem.split("_", 1)[0]
    return SAFE_ID.sub("-", raw).strip("-.") or "unknown"


def from_download(source, assignment):
    """Copy each student's notebook from a folder or .zip; returns {student: saved path}.

    A student with several notebooks keeps the newest by modification time (reported).
    """
    source = Path(source)
    with tempfile.TemporaryDirectory() as tmp:
        if source.suffix == ".zip":
            with zipfile.ZipFile(source) as archive:
                archive.extractall(tmp)  # zipfile refuses names escaping the folder
            root = Path(tmp)
        else:
            root = source
        by_student = {}
        for nb in sorted(root.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in nb.parts or nb.name.startswith("."):
                continue
            sid = student_id(nb, root)
            if sid not in by_student or nb.stat().st_mtime > by_student[sid].stat().st_mtime:
                if sid in by_student:
                    print(f"{sid}: several notebooks, keeping the newest ({nb.name})")
                by_student[sid] = nb
        saved = {}
        for sid, nb in sorted(by_student.items()):
            target = course.SUBMITTED / sid / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(nb, target)
            saved[sid] = target
    return saved


def from_exchange(assignments):
    """Run nbgrader's collect for each assignment (the exchange of a shared machine)."""
    api = course.nbgrader_api()
    for assignment in assignments:
        result = api.collect(assignment, update=True)
        print(f"{assignment}: {'collected' if result['success'] else 'failed'}")
        if not result["success"]:
            print(result.get("log", ""))
