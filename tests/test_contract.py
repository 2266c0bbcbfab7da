"""The contract has one home (utils/curriculum.toml, explained by docs/curriculum.md), and
everything that meets at it agrees with it: the prose, the references, the checks, the
notebooks, the README's table. Nothing in the repository points outside it."""
import ast
import importlib
import inspect
import re
import subprocess
import sys

import pytest

import utils
from conftest import ROOT, assignments, nbgrader_meta, read_notebook
from utils.contract import FUNCTIONS, NOTEBOOKS

sys.path.insert(0, str(ROOT / "tools"))
import course_table  # noqa: E402

DOC = (ROOT / "docs" / "curriculum.md").read_text(encoding="utf-8")


def doc_sections():
    """{notebook id: its section's text} from the prose contract's `### NN_name` headings."""
    parts = re.split(r"^### (\d\d_\w+)\s*$", DOC, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_notebooks_are_numbered_in_order():
    assert [nb.number for nb in NOTEBOOKS] == list(range(1, len(NOTEBOOKS) + 1))
    assert len(FUNCTIONS) == sum(len(nb.functions) for nb in NOTEBOOKS), "a name graded twice"


def test_the_prose_contract_lists_the_same_notebooks_and_signatures():
    sections = doc_sections()
    assert list(sections) == [nb.id for nb in NOTEBOOKS]
    for nb in NOTEBOOKS:
        text = re.sub(r"\s+", " ", sections[nb.id])
        for f in nb.functions:
            assert f"`{f.signature}`" in text, f"docs/curriculum.md, {nb.id}: no `{f.signature}`"
        named = set(re.findall(r"`(\w+)\(", text)) & set(FUNCTIONS)
        assert named <= set(nb.names), f"{nb.id}'s section names {named - set(nb.names)}"


def parameters(fn):
    """[(name, default)] of a function's parameters."""
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]


def parameters_of(signature):
    """[(name, default)] of a signature written as text, e.g. "f(x, eps=1e-5)"."""
    args = ast.parse(f"def {signature}: pass").body[0].args
    defaults = [inspect.Parameter.empty] * (len(args.args) - len(args.defaults)) + [
        ast.literal_eval(d) for d in args.defaults]
    return [(a.arg, d) for a, d in zip(args.args, defaults)]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_reference_lives_where_the_contract_says_with_its_signature(name):
    f = FUNCTIONS[name]
    module = importlib.import_module(f"utils.reference.{f.module}")
    reference = getattr(module, name)
    assert getattr(utils, name) is reference
    assert reference.__module__ == module.__name__
    assert parameters(reference) == parameters_of(f.signature), f"{name}'s signature"
    assert reference.__doc__ and "(" in reference.__doc__, f"{name} needs shapes in its docstring"


@pytest.mark.parametrize("notebook", assignments())
def test_every_written_notebook_has_its_checks_and_points(notebook):
    nb = next(n for n in NOTEBOOKS if n.id == notebook)
    cells = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)
             for c in read_notebook(ROOT / "solutions" / notebook / f"{notebook}.ipynb")["cells"]
             if nbgrader_meta(c)}
    for f in nb.functions:
        check = getattr(importlib.import_module(f"utils.exercises.{f.module}"), f"check_{f.name}")
        assert callable(check)
        assert cells[f"test_{f.name}"]["points"] == f.points, f"test_{f.name}'s points"
    graded = {k for k, m in cells.items() if m.get("grade") or m.get("solution")}
    expected = {n for f in nb.functions for n in (f.name, f"test_{f.name}")}
    assert graded == expected, f"{notebook}: graded cells other than the contract's"


def test_the_readme_table_is_the_contract():
    assert course_table.readme_table((ROOT / "README.md").read_text()) == course_table.table(), \
        "README's course table is stale: run `python tools/course_table.py --update`"


def test_nothing_points_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        if name == "tests/test_contract.py":
            continue  # names the outside places it looks for
        path = ROOT / name
        if path.suffix in (".py", ".md", ".ipynb", ".toml", ".txt", ".cfg", ".sh") \
                and path.is_file() and path.stat().st_size < 2_000_000:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not re.search(r"\.\./shared|shared/curriculum|course-outline\.md|"
                                 r"field-notes\.md", text), f"{name} refers outside the repository"
