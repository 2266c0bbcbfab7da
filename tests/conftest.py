"""Shared test helpers: paths, the notebooks present, and executing a notebook."""
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `import autograder` / `import utils` from this checkout

os.environ.setdefault("MPLBACKEND", "Agg")

try:  # property tests draw the same examples on every run and machine (no flaky CI)
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
    settings.register_profile("dev", deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:
    pass


def assignments(root=ROOT):
    solutions = Path(root) / "solutions"
    return sorted(p.name for p in solutions.iterdir() if (p / f"{p.name}.ipynb").is_file())


def read_notebook(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def execute(nb, cwd, timeout=300):
    """Run a notebook (a dict) in a fresh kernel, errors allowed; returns the executed dict."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.setdefault("COURSE_QUICK", "1")  # experiments run shortened (the kernel inherits it)
    node = nbformat.reads(json.dumps(nb), as_version=4)  # joins list-of-lines sources
    client = NotebookClient(node, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return json.loads(nbformat.writes(node))


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


@pytest.fixture(params=assignments())
def assignment(request):
    return request.param


@pytest.fixture(autouse=True)
def _close_figures():
    """Explorers keep their figures open (as a notebook does); tests must not pile them up."""
    yield
    import sys as _sys

    if "matplotlib.pyplot" in _sys.modules:
        _sys.modules["matplotlib.pyplot"].close("all")
