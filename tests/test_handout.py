"""What students receive: `python -m autograder bundle` holds no answers, and its lectures work.

Unzips a bundle of notebook 02, looks for the answers in every file of it (the solution's
answer lines, the references' bodies of notebooks 02-12), then runs the lecture from the
unzipped handout blank, answered and with a typical mistake.
"""
import ast
import json
import os
import re
import zipfile

import pytest

from conftest import ROOT, errors, execute, nbgrader_meta, read_notebook
from submissions import answers, strip_markers

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("handout")]

A = "02_activation_functions"


def _bundle(tmp_path_factory, assignment):
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("bundle") / "handout.zip"
    subprocess.run([sys.executable, "-m", "autograder", "bundle", assignment, "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=1800)
    root = tmp_path_factory.mktemp("student")
    with zipfile.ZipFile(out) as archive:
        archive.extractall(root)
    return root / "deep-learning-course"


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    return _bundle(tmp_path_factory, A)


def _texts(root):
    return {p: p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*")
            if p.is_file() and p.suffix in (".py", ".ipynb", ".md", ".txt", ".toml")}


def test_no_answer_is_handed_out(handout):
    from utils.contract import FUNCTIONS

    assert not (handout / "solutions").exists() and not (handout / "autograder").exists()
    assert sorted(p.name for p in (handout / "lectures").iterdir()) == [A]
    texts = _texts(handout)
    everything = "\n".join(texts.values())
    solution = read_notebook(ROOT / "solutions" / A / f"{A}.ipynb")
    lecture = read_notebook(ROOT / "lectures" / A / f"{A}.ipynb")
    for grade_id, cell in answers(solution).items():
        stub = "".join(answers(lecture)[grade_id]["source"])
        for line in strip_markers("".join(cell["source"])).splitlines():
            line = line.strip()
            formula = re.search(r"[-+*/]|np\.(exp|where|maximum|log|tanh)", line.split("=", 1)[-1])
            if len(line) > 12 and formula and line not in stub and not line.startswith(
                    ("#", '"', "def ")):
                assert line not in everything, f"the answer line {line!r} is in the handout"
    for name, f in FUNCTIONS.items():  # every withheld graded function is a replaying stub
        if f.notebook < A:
            continue
        module = handout / "utils" / "reference" / f"{f.module}.py"
        tree = ast.parse(module.read_text())
        fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
        assert "_replay_.call" in ast.unparse(fn) and len(fn.body) == 1, name
    helpers = ast.parse((handout / "utils" / "exercises" / "activations.py").read_text())
    for node in ast.walk(helpers):
        if isinstance(node, ast.FunctionDef) and node.name in ("_s", "_t"):
            assert "np.exp" not in ast.unparse(node), "the checks' own sigmoid/tanh shipped"


def _answered(handout, assignment):
    nb = read_notebook(handout / "lectures" / assignment / f"{assignment}.ipynb")
    solution = answers(read_notebook(ROOT / "solutions" / assignment / f"{assignment}.ipynb"))
    for grade_id, cell in answers(nb).items():
        cell["source"] = strip_markers("".join(solution[grade_id]["source"]))
    return nb


def test_the_first_lecture_passes_answered_from_its_handout(tmp_path_factory):
    """01's checks hand the student's function course activations of later notebooks as ``g``
    (sigmoid, 02): withheld, they are replaying stubs, and the rule lets them replay."""
    first = "01_perceptron"
    handout = _bundle(tmp_path_factory, first)
    nb = _run(handout, _answered(handout, first), first)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not errors(cell), (cell["source"], errors(cell))


def _run(handout, nb, assignment=A):
    env = {**os.environ, "PYTHONPATH": str(handout)}
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return execute(nb, handout / "lectures" / assignment)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_lecture_runs_blank_from_the_handout(handout):
    nb = _run(handout, read_notebook(handout / "lectures" / A / f"{A}.ipynb"))
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] == "code" and not (meta.get("grade") or meta.get("solution")):
            assert not errors(cell), (cell["source"], errors(cell))
    failed = [nbgrader_meta(c)["grade_id"] for c in nb["cells"] if nbgrader_meta(c).get("grade")
              and errors(c)]
    assert failed, "blank answers must fail their visible tests"
    assert all("NotImplementedError" in json.dumps(errors(c)) or "not written yet" in
               json.dumps(errors(c)) for c in nb["cells"] if nbgrader_meta(c).get("grade")
               and errors(c))


def test_the_lecture_checks_and_diagnoses_answers_from_the_handout(handout):
    nb = _answered(handout, A)
    answers(nb)["sigmoid_grad"]["source"] = ("import numpy as np\ndef sigmoid_grad(z):\n"
                                             "    s = sigmoid(z)\n    return s * (1 + s)\n")
    nb = _run(handout, nb)
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] != "code":
            continue
        if meta.get("grade_id") == "test_sigmoid_grad":
            text = json.dumps(errors(cell))
            assert "likely mistake" in text and "a sign slipped" in text, text[:2000]
        else:
            assert not errors(cell), (cell["source"], errors(cell))
