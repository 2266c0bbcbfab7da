"""The course's contract, read from ``curriculum.toml`` beside this file (its one home).

    NOTEBOOKS      the notebooks in course order, each with its graded functions
    FUNCTIONS      graded function name -> :class:`Function`
    notebook_of    graded function name -> the notebook that grades it

The references registry (``utils.<name>``), the checks, the grader and the tests read this
module; nothing else lists the graded functions.
"""
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (requirements.txt)
    import tomli as tomllib

PATH = Path(__file__).with_name("curriculum.toml")


@dataclass(frozen=True)
class Function:
    """A graded function: its name, signature, reference/check module and its test's points."""

    name: str
    signature: str
    module: str
    points: float
    notebook: str
    backward: bool = False  # a backward pass: gradients by finite differences earn nothing


@dataclass(frozen=True)
class Notebook:
    """One notebook (one nbgrader assignment) and its graded functions, in order."""

    id: str
    title: str
    functions: tuple

    @property
    def number(self):
        return int(self.id[:2])

    @property
    def names(self):
        return [f.name for f in self.functions]

    @property
    def points(self):
        return sum(f.points for f in self.functions)


def _load():
    data = tomllib.loads(PATH.read_text(encoding="utf-8"))
    return tuple(
        Notebook(nb["id"], nb["title"],
                 tuple(Function(notebook=nb["id"], **f) for f in nb["functions"]))
        for nb in data["notebook"])


NOTEBOOKS = _load()
FUNCTIONS = {f.name: f for nb in NOTEBOOKS for f in nb.functions}
GRADED = {nb.id: nb.names for nb in NOTEBOOKS}


def notebook(notebook_id):
    """The :class:`Notebook` with this id."""
    for nb in NOTEBOOKS:
        if nb.id == notebook_id:
            return nb
    raise KeyError(f"{notebook_id!r} is not a notebook of the course")


def notebook_of(name):
    """The id of the notebook whose exercise is graded function ``name``."""
    return FUNCTIONS[name].notebook


def same_or_later(notebook_id):
    """Graded functions of ``notebook_id`` and every later notebook (what an answer may not use)."""
    position = [nb.id for nb in NOTEBOOKS].index(notebook_id)
    return [f for nb in NOTEBOOKS[position:] for f in nb.functions]
