"""Where the course's files are, and nbgrader set up for them."""
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOLUTIONS = ROOT / "solutions"
LECTURES = ROOT / "lectures"
SUBMITTED = HERE / "submitted"
AUTOGRADED = HERE / "autograded"
FEEDBACK = HERE / "feedback"
BUILD = HERE / "build"
GRADES_CSV = HERE / "grades.csv"


def assignments():
    """Assignment ids, in course order: the folders of solutions/ holding <id>.ipynb."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())


def prepare_environment():
    """Make nbgrader find this course's config, and its `alembic` next to this Python."""
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        [str(HERE), *filter(None, [os.environ.get("JUPYTER_CONFIG_PATH")])])
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def config(**overrides):
    """The course's nbgrader config, with ``{"Section.trait": value}`` overrides."""
    from traitlets.config.loader import PyFileConfigLoader

    prepare_environment()
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(HERE)).load_config()
    for key, value in overrides.items():
        section, trait = key.split(".")
        cfg[section][trait] = value
    return cfg


def nbgrader_api(**overrides):
    """An in-process NbGraderAPI on this course (no CLI start-up cost per call)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cfg = config(**overrides)
    return NbGraderAPI(CourseDirectory(config=cfg), config=cfg)


def graded_cells(assignment):
    """[(grade_id, points)] of the assignment's graded test cells, from its source notebook."""
    import json

    nb = json.loads((SOLUTIONS / assignment / f"{assignment}.ipynb").read_text())
    cells = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            cells.append((meta["grade_id"], float(meta.get("points", 0))))
    return cells
