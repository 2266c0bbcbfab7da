"""End to end: release, submissions of every kind, `python -m autograder grade`, feedback, export.

Runs real nbgrader on a copy of the course, with submissions made the way students make them:
the released lecture with its answer cells filled in.
"""
import csv
import re
from html import unescape
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import assignments, nbgrader_meta, read_notebook
from submissions import (answers, copy_course, read_csv, run_cli, scores, strip_markers,
                         submission, submit)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading")]

WRONG = {  # one wrong answer per notebook, and which test cell it must lose
    "01_perceptron": ("perceptron_forward",
                      "def perceptron_forward(X, w, w0, g):\n    return g(X @ w)\n"),
    "02_activation_functions": ("sigmoid_grad",
                                "import numpy as np\ndef sigmoid_grad(z):\n"
                                "    return z * (1 - z)\n"),
    "04_loss_functions": ("mse_grad",  # the factor 2 forgotten
                          "import numpy as np\ndef mse_grad(y_pred, y_true):\n"
                          "    return (np.asarray(y_pred) - y_true) / np.size(y_pred)\n"),
    "05_gradient_descent": ("gradient_descent",  # ascent: the sign flipped
                            "import numpy as np\n"
                            "def gradient_descent(grad_fn, w_init, lr, n_steps):\n"
                            "    w = np.array(w_init, dtype=float)\n    path = [w.copy()]\n"
                            "    for _ in range(n_steps):\n        w = w + lr * grad_fn(w)\n"
                            "        path.append(w.copy())\n    return np.array(path)\n"),
    "06_backpropagation": ("dense_backward",  # db averaged over the batch, not summed
                           "def dense_backward(dZ, X, W):\n"
                           "    return dZ @ W.T, X.T @ dZ, dZ.mean(axis=0)\n"),
    "07_recurrent_neural_networks": ("rnn_forward",  # H_all holds h0 .. h_{T-1}
                                     "import numpy as np\n"
                                     "def rnn_forward(X, h0, params):\n"
                                     "    h, states = h0, []\n"
                                     "    for t in range(X.shape[1]):\n"
                                     "        states.append(h)\n"
                                     "        h = rnn_step(X[:, t], h, params)\n"
                                     "    H_all = np.stack(states, axis=1)\n"
                                     "    return H_all, H_all @ params['W_hy'] + params['b_y']\n"),
    "08_backpropagation_through_time": ("rnn_backward",  # the gradient not carried back
                                        "import numpy as np\n"
                                        "def rnn_backward(dH, X, h0, H_all, params):\n"
                                        "    dA = dH * (1 - H_all ** 2)\n"
                                        "    prev = np.concatenate([h0[:, None], H_all[:, :-1]], 1)\n"
                                        "    return {'W_xh': np.einsum('ntd,nth->dh', X, dA),\n"
                                        "            'W_hh': np.einsum('ntk,nth->kh', prev, dA),\n"
                                        "            'b_h': dA.sum(axis=(0, 1)),\n"
                                        "            'X': dA @ params['W_xh'].T,\n"
                                        "            'h0': dA[:, 0] @ params['W_hh'].T}\n"),
}
DIFFERENT_BUT_RIGHT = {
    "01_perceptron": {"perceptron_forward": (
        "import numpy as np\n"
        "def perceptron_forward(X, w, w0, g):\n"
        "    out = np.empty(len(X))\n"
        "    for n, row in enumerate(X):\n"
        "        out[n] = sum(x * wi for x, wi in zip(row, w)) + w0\n"
        "    print('my loop version')\n"
        "    return g(out)\n")},
    "03_multilayer_perceptron": {"dense_forward": (
        "import numpy as np\n"
        "def dense_forward(X, W, b):\n"
        "    return np.einsum('nd,dh->nh', X, W) + b[None, :]\n")},
    "04_loss_functions": {"softmax": (
        "import numpy as np\n"
        "def softmax(x, axis=-1):\n"
        "    shifted = x - np.max(x, axis=axis, keepdims=True)\n"
        "    e = np.exp(shifted)\n"
        "    return e / np.sum(e, axis=axis, keepdims=True)\n")},
    "06_backpropagation": {"dense_backward": (
        "import numpy as np\n"
        "def dense_backward(dZ, X, W):\n"
        "    dX = np.einsum('nh,dh->nd', dZ, W)\n"
        "    dW = np.einsum('nd,nh->dh', X, dZ)\n"
        "    db = np.einsum('nh->h', dZ)\n"
        "    return dX, dW, db\n")},
    "08_backpropagation_through_time": {"clip_by_global_norm": (
        "import numpy as np\n"
        "def clip_by_global_norm(grads, max_norm):\n"
        "    flat = np.concatenate([np.ravel(g) for g in grads.values()])\n"
        "    norm = float(np.linalg.norm(flat))\n"
        "    factor = min(1.0, max_norm / norm) if norm > 0 else 1.0\n"
        "    return {k: g * factor for k, g in grads.items()}, norm\n")},
}
CALLS_REFERENCE = ("import utils\n"
                   "def perceptron_forward(X, w, w0, g):\n"
                   "    return utils.perceptron_forward(X, w, w0, g)\n")
ALIASES_REFERENCE = ("from utils.reference.perceptron import perceptron_forward as _mine\n"
                     "perceptron_forward = _mine\n")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A copy of the course, every kind of submission, graded once; returns (dir, rows)."""
    course_dir = copy_course(tmp_path_factory.mktemp("course"))

    for a in assignments(course_dir):
        submit(course_dir, "alice", a, submission(course_dir, a, solved=True))
        submit(course_dir, "bob", a, submission(course_dir, a))  # the blank lecture
    for a, (grade_id, code) in WRONG.items():
        if a in assignments(course_dir):
            submit(course_dir, "carol", a, submission(course_dir, a, {grade_id: code}, solved=True))
    for a, replace in DIFFERENT_BUT_RIGHT.items():
        if a in assignments(course_dir):
            submit(course_dir, "frank", a, submission(course_dir, a, replace, solved=True))
    a = "01_perceptron"
    submit(course_dir, "dave", a, submission(course_dir, a, {"perceptron_forward": CALLS_REFERENCE}))
    submit(course_dir, "erin", a, submission(course_dir, a,
                                            {"perceptron_forward": ALIASES_REFERENCE}))
    submit(course_dir, "gina", a, submission(course_dir, a, solved=True),
           name=f"{a} (1).ipynb")  # renamed by the browser
    (course_dir / "autograder" / "submitted" / "hank" / a).mkdir(parents=True)  # nothing in it

    out = run_cli(course_dir, "grade")
    return course_dir, read_csv(course_dir), out


def graded_assignments(graded):
    return assignments(graded[0])


def test_csv_has_the_columns_and_one_row_per_graded_cell(graded):
    course_dir, rows, _ = graded
    assert {"student", "assignment", "grade_id", "score", "max_score"} <= set(rows[0])
    keys = [(r["student"], r["assignment"], r["grade_id"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate rows"
    for a in graded_assignments(graded):
        for student in ("alice", "bob"):
            assert len(scores(rows, student, a)) > 0, f"{student} {a} has no rows"


def test_the_solution_earns_full_marks(graded):
    _, rows, _ = graded
    for a in graded_assignments(graded):
        for grade_id, (score, max_score) in scores(rows, "alice", a).items():
            assert score == max_score > 0, f"alice {a} {grade_id}: {score}/{max_score}"


def test_the_blank_lecture_earns_zero_without_crashing(graded):
    _, rows, _ = graded
    for a in graded_assignments(graded):
        got = scores(rows, "bob", a)
        assert got and all(score == 0 for score, _ in got.values()), f"bob {a}: {got}"
        assert {r["status"] for r in rows if r["student"] == "bob"} == {"failed"}
        assert all("not written yet" in r["reason"] for r in rows if r["student"] == "bob")


def test_a_wrong_answer_loses_that_exercise_only(graded):
    _, rows, _ = graded
    for a, (grade_id, _) in WRONG.items():
        if a not in graded_assignments(graded):
            continue
        got = scores(rows, "carol", a)
        assert got[f"test_{grade_id}"][0] == 0, f"carol {a}: the wrong {grade_id} earned points"
        for other, (score, max_score) in got.items():
            if other != f"test_{grade_id}":
                assert score == max_score, f"carol {a}: {other} lost points it should keep"


def test_calling_or_aliasing_the_reference_earns_nothing(graded):
    _, rows, _ = graded
    for student in ("dave", "erin"):
        assert scores(rows, student, "01_perceptron")["test_perceptron_forward"][0] == 0


def test_a_correct_answer_written_differently_earns_full_marks(graded):
    _, rows, _ = graded
    for a in DIFFERENT_BUT_RIGHT:
        if a not in graded_assignments(graded):
            continue
        for grade_id, (score, max_score) in scores(rows, "frank", a).items():
            assert score == max_score, f"frank {a} {grade_id}: {score}/{max_score}"


def test_ungradable_submissions_get_zero_rows_with_a_reason(graded):
    _, rows, _ = graded
    for student, status in (("gina", "renamed notebook"), ("hank", "missing notebook")):
        mine = [r for r in rows if r["student"] == student]
        assert mine, f"{student} has no rows"
        assert all(r["status"] == status and r["reason"] and float(r["score"]) == 0
                   for r in mine), mine


def test_feedback_shows_messages_but_never_hidden_tests(graded):
    course_dir, _, _ = graded
    run_cli(course_dir, "feedback", "01_perceptron")
    page = (course_dir / "autograder" / "feedback" / "carol" / "01_perceptron"
            / "01_perceptron.html").read_text()
    html = unescape(re.sub(r"<[^>]+>", "", page))  # the text a student reads
    assert "likely mistake" in html and "bias w0 is not added" in html
    # the message first: the case, expected and got before the likely mistake, no machinery
    row = html[html.index("perceptron_forward: case"):]
    assert row.index("expected:") < row.index("got:") < row.index("likely mistake")
    assert "Traceback" not in html and "checking.py" not in html
    hidden = "".join(next(c["source"] for c in read_notebook(
        course_dir / "solutions" / "01_perceptron" / "01_perceptron.ipynb")["cells"]
        if nbgrader_meta(c).get("grade_id") == "test_perceptron_forward"))
    hidden = hidden.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
    for line in filter(None, (l.strip() for l in hidden.splitlines())):
        assert line not in html, f"feedback reveals a hidden test line: {line}"
    assert "HIDDEN TESTS" not in html


def test_export_rewrites_the_same_csv(graded):
    course_dir, rows, _ = graded
    csv_path = course_dir / "autograder" / "grades.csv"
    before = csv_path.read_text()
    csv_path.unlink()
    run_cli(course_dir, "export")
    assert csv_path.read_text() == before


def test_bundle_holds_what_students_need_and_nothing_more(graded, tmp_path):
    course_dir, _, _ = graded
    out = tmp_path / "bundle.zip"
    run_cli(course_dir, "bundle", "01_perceptron", "--out", str(out))  # tests/test_handout.py
    names = zipfile.ZipFile(out).namelist()                                # looks for answers
    tops = {Path(n).parts[1] for n in names}
    assert {"lectures", "utils", "requirements.txt"} <= tops
    assert not tops & {"solutions", "autograder", "tests"}, tops
    for n in names:
        if n.endswith(".ipynb"):
            assert b"BEGIN SOLUTION" not in zipfile.ZipFile(out).read(n)
    # setting up without make, on Windows (PowerShell) and macOS/Linux, is in what students get
    readme = zipfile.ZipFile(out).read("deep-learning-course/README.md").decode()
    for command in ("py -m venv .venv", r".venv\Scripts\python -m pip install -r requirements.txt",
                    "python3 -m venv .venv", "JUPYTER_CONFIG_PATH=jupyter .venv/bin/jupyter lab"):
        assert command in readme, command


def test_collect_from_an_lms_download(graded, tmp_path):
    course_dir, _, _ = graded
    nb = json.dumps(submission(course_dir, "01_perceptron"))
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zoe_4411_9981_01_perceptron-1.ipynb", nb)
        z.writestr("yan/01_perceptron (1).ipynb", nb)
    out = run_cli(course_dir, "collect", str(archive), "--assignment", "01_perceptron")
    assert "2 file(s) seen: 2 submission(s) kept" in out, out
    for student in ("4411", "yan"):  # Canvas names: keyed by the user id
        assert (course_dir / "autograder" / "submitted" / student / "01_perceptron"
                / "01_perceptron.ipynb").is_file()
    students = (course_dir / "autograder" / "students.csv").read_text()
    assert "4411,zoe" in students and "yan,yan" in students


def test_validate_passes_a_finished_notebook_and_flags_a_blank_one(graded, tmp_path):
    course_dir, _, _ = graded
    nbgrader = Path(sys.executable).parent / "nbgrader"
    done, blank = tmp_path / "done.ipynb", tmp_path / "blank.ipynb"
    done.write_text(json.dumps(submission(course_dir, "01_perceptron", solved=True)))
    blank.write_text(json.dumps(submission(course_dir, "01_perceptron")))
    ok = subprocess.run([str(nbgrader), "validate", str(done)], capture_output=True, text=True)
    assert "Success! Your notebook passes all the tests." in ok.stdout, ok.stdout + ok.stderr
    bad = subprocess.run([str(nbgrader), "validate", str(blank)], capture_output=True, text=True)
    assert "NotImplementedError" in bad.stdout and "Success" not in bad.stdout


def test_the_exchange_path_release_fetch_submit_collect_grade(graded, tmp_path):
    """A shared machine: release to the exchange, a student fetches and submits, we grade."""
    import getpass
    import os

    course_dir, _, _ = graded
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    env = {**os.environ, "COURSE_EXCHANGE": str(exchange)}
    nbgrader = str(Path(sys.executable).parent / "nbgrader")

    def run(args, cwd):
        result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    run([sys.executable, "-m", "autograder", "release", "01_perceptron", "--exchange"], course_dir)
    home = tmp_path / "student"
    home.mkdir()
    flags = ["--course", "deep-learning", f"--Exchange.root={exchange}",
             f"--Exchange.cache={tmp_path / 'cache'}"]  # not the user's global cache
    run([nbgrader, "fetch_assignment", "01_perceptron", *flags], home)
    nb_path = home / "01_perceptron" / "01_perceptron.ipynb"
    nb = read_notebook(nb_path)
    solved = answers(read_notebook(course_dir / "solutions" / "01_perceptron" / "01_perceptron.ipynb"))
    for grade_id, cell in answers(nb).items():
        cell["source"] = strip_markers("".join(solved[grade_id]["source"]))
    nb_path.write_text(json.dumps(nb))
    run([nbgrader, "submit", "01_perceptron", *flags], home)
    run([sys.executable, "-m", "autograder", "collect", "--assignment", "01_perceptron"], course_dir)
    student = getpass.getuser()
    run([sys.executable, "-m", "autograder", "grade", "01_perceptron", "--student", student],
        course_dir)
    with open(course_dir / "autograder" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    got = scores(rows, student, "01_perceptron")
    assert got and all(score == max_score for score, max_score in got.values()), got
    assert scores(rows, "alice", "01_perceptron"), "grading one student dropped the others' rows"
    run([sys.executable, "-m", "autograder", "feedback", "01_perceptron", "--student", student,
         "--exchange"], course_dir)
    run([nbgrader, "fetch_feedback", "01_perceptron", *flags], home)
    pages = list((home / "01_perceptron" / "feedback").rglob("*.html"))
    assert pages and "3 / 3" in pages[0].read_text(), "the feedback did not come back"
