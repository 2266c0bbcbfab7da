"""Edit notebooks as text: convert a solutions notebook to a percent-format script and back.

    python tools/nbtext.py to-py solutions/01_perceptron/01_perceptron.ipynb   # -> .py beside it
    python tools/nbtext.py from-py solutions/01_perceptron/01_perceptron.py    # -> .ipynb, cleaned

Cells keep their nbgrader metadata (``# %% nbgrader={...}``). The .py file is a scratch copy:
the notebook is the source, so delete the .py after converting back (it is git-ignored).
Needs jupytext (in requirements-dev.txt).
"""
import sys
from pathlib import Path

import jupytext

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from autograder.notebooks import write_clean  # noqa: E402


def to_py(path):
    nb = jupytext.read(path)
    for cell in nb.cells:  # the header of each cell carries its id, so ids survive the round trip
        cell.metadata["id"] = cell.get("id")
    out = Path(path).with_suffix(".py")
    jupytext.write(nb, out, fmt="py:percent")
    print(f"wrote {out}")


def from_py(path):
    nb = jupytext.read(path, fmt="py:percent")
    for cell in nb.cells:  # a cell added in the text has no id yet: write_clean gives it one
        cell["id"] = cell.metadata.pop("id", None)
    out = Path(path).with_suffix(".ipynb")
    write_clean(dict(nb), out)
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("to-py", "from-py"):
        sys.exit(__doc__)
    {"to-py": to_py, "from-py": from_py}[sys.argv[1]](sys.argv[2])
