"""Hostile and unlucky submissions, graded in one run together with honest ones.

Each trick below earns full marks from plain nbgrader (its tests run in the student's kernel);
here each must earn nothing, and the honest submissions must be untouched. The run is then
killed halfway and resumed, and must finish with the same grades.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import inspect

import pytest

import utils
from conftest import nbgrader_meta
from submissions import copy_course, read_csv, run_cli, scores, submission, submit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading-hostile")]

A = "01_perceptron"
F = "perceptron_forward"
TEST = f"test_{F}"
# 15 s: notebook 06's checks (finite differences, 20 random networks) take seconds on a
# loaded 2-core machine; the endless loops below cost this much each
LIMITS = {"COURSE_EXERCISE_SECONDS": "15", "COURSE_NOTEBOOK_SECONDS": "240"}

RIGHT = "def perceptron_forward(X, w, w0, g):\n    return g(w0 + X @ w)\n"
WRONG = "def perceptron_forward(X, w, w0, g):\n    return g(X @ w)\n"
LOOPS = ("import numpy as np\n\ndef _dot(row, w):\n    return sum(a * b for a, b in zip(row, w))\n\n"
         "def perceptron_forward(X, w, w0, g):\n"
         "    return g(np.array([w0 + _dot(row, w) for row in X]))\n")


def hostile(course_dir, port):
    """student -> (answer cell source, what it must score on TEST)."""
    sol = course_dir / "solutions" / A / f"{A}.ipynb"
    db = course_dir / "autograder" / "gradebook.db"
    grades = course_dir / "autograder" / "grades.csv"
    alice = course_dir / "autograder" / "submitted" / "honest" / A / f"{A}.ipynb"
    return {
        "patches_numpy": (WRONG + "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None\n"
                          "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n", 0),
        "patches_checks": (WRONG + "import utils.exercises.checking as c, utils.exercises.perceptron as p\n"
                           "c.check_function = c.run_case = lambda *a, **k: None\n"
                           "p.check_perceptron_forward = lambda *a, **k: None\n"
                           "c.difference = lambda *a, **k: None\n", 0),
        "input_transformer": (WRONG + "get_ipython().input_transformers_post.append(\n"
                              "    lambda lines: ['try:\\n'] + ['    ' + l for l in lines] + "
                              "['\\nexcept BaseException:\\n    pass\\n'])\n", 0),
        "ast_transformer": (WRONG + "import ast\nclass Swallow(ast.NodeTransformer):\n"
                            "    def visit_Module(self, node):\n"
                            "        handler = ast.ExceptHandler(type=ast.Name('BaseException', ast.Load()), name=None, body=[ast.Pass()])\n"
                            "        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]\n"
                            "        return ast.fix_missing_locations(node)\n"
                            "get_ipython().ast_transformers.append(Swallow())\n", 0),
        "always_equal": ("import numpy as np\nclass Yes(np.ndarray):\n"
                         "    def __eq__(self, other): return np.ones(np.shape(other), bool)\n"
                         "    def __ne__(self, other): return np.zeros(np.shape(other), bool)\n"
                         "class Liar:\n    def __eq__(self, other): return True\n"
                         "    def __array__(self, *a, **k): raise TypeError('no')\n"
                         "def perceptron_forward(X, w, w0, g):\n    return Liar()\n", 0),
        "redefines_builtins": (WRONG + "import builtins\nbuiltins.isinstance = lambda *a: True\n"
                               "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
                               "builtins.len = lambda x: 0\n", 0),
        "catches_test_errors": (WRONG + "import sys\nsys.excepthook = lambda *a: None\n"
                                "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                                "ip.set_custom_exc((BaseException,), lambda *a, **k: None)\n", 0),
        "reads_hidden_tests": ("import json\n"
                               f"def perceptron_forward(X, w, w0, g, _p={str(sol)!r}):\n"
                               "    nb = json.load(open(_p))\n"
                               "    src = [c['source'] for c in nb['cells'] if c.get('metadata', {}).get('nbgrader', {}).get('grade_id') == 'perceptron_forward'][0]\n"
                               "    ns = {}\n    exec(''.join(src).replace('### BEGIN SOLUTION', ''), ns)\n"
                               "    return ns['perceptron_forward'](X, w, w0, g)\n", 0),
        "reads_gradebook": (f"def perceptron_forward(X, w, w0, g, _p={str(db)!r}):\n"
                            "    open(_p, 'rb').read(16)\n    return g(w0 + X @ w)\n", 0),
        "reads_reference_source": ("import inspect, utils.reference.perceptron\n"
                                   "def perceptron_forward(X, w, w0, g):\n"
                                   "    ns = dict(vars(utils.reference.perceptron))\n"
                                   "    exec(inspect.getsource(utils.reference.perceptron.perceptron_forward).replace('def perceptron_forward', 'def mine'), ns)\n"
                                   "    return ns['mine'](X, w, w0, g)\n", 0),
        "copies_reference_code": ("import types, utils, utils.reference.perceptron\n"
                                  "perceptron_forward = types.FunctionType(utils.perceptron_forward.__code__, vars(utils.reference.perceptron))\n", 0),
        "calls_reference_swallowing": ("import utils\ndef perceptron_forward(X, w, w0, g):\n"
                                       "    try:\n        return utils.perceptron_forward(X, w, w0, g)\n"
                                       "    except BaseException:\n        return g(X @ w)\n", 0),
        "infinite_loop": ("def perceptron_forward(X, w, w0, g):\n    while True:\n        pass\n", 0),
        "swallows_interrupt": ("import time\ndef perceptron_forward(X, w, w0, g):\n    while True:\n"
                               "        try:\n            time.sleep(0.1)\n"
                               "        except BaseException:\n            pass\n", 0),
        "exits_at_definition": ("import os\nos._exit(0)\n" + RIGHT, 0),
        "exits_in_call": ("import os\ndef perceptron_forward(X, w, w0, g):\n    os._exit(3)\n", 0),
        "memory_bomb": ("import numpy as np\ndef perceptron_forward(X, w, w0, g):\n"
                        "    hog = np.ones(1 << 38)\n    return g(w0 + X @ w)\n", 0),
        "list_memory_bomb": ("def perceptron_forward(X, w, w0, g):\n    hog = [0] * (1 << 36)\n"
                             "    return g(w0 + X @ w)\n", 0),
        "fork_bomb": ("import os\ndef perceptron_forward(X, w, w0, g):\n    while True:\n"
                      "        os.fork()\n", 0),
        "subprocess": ("import subprocess\ndef perceptron_forward(X, w, w0, g):\n"
                       "    subprocess.run(['true'])\n    return g(w0 + X @ w)\n", 0),
        "network": ("import socket\ndef perceptron_forward(X, w, w0, g):\n"
                    f"    socket.create_connection(('127.0.0.1', {port}), timeout=1).close()\n"
                    "    return g(w0 + X @ w)\n", 0),
        "writes_course": (f"def perceptron_forward(X, w, w0, g, _g={str(grades)!r}, _a={str(alice)!r}):\n"
                          "    open(_g, 'a').write('mallory,01_perceptron,test_perceptron_forward,3,3,passed,\\n')\n"
                          "    open(_a, 'w').write('{}')\n    return g(w0 + X @ w)\n", 0),
        "megabytes_of_output": ("def perceptron_forward(X, w, w0, g):\n    print('x' * 5_000_000)\n"
                                "    return g(w0 + X @ w)\n", 3),
        "warns": ("import warnings\ndef perceptron_forward(X, w, w0, g):\n"
                  "    warnings.warn('an old API', DeprecationWarning)\n"
                  "    warnings.warn('just so you know')\n    return g(w0 + X @ w)\n", 3),
        "own_helpers": (LOOPS, 3),
        "within_tolerance": ("def perceptron_forward(X, w, w0, g):\n"
                             "    return g(w0 + X @ w) * (1 + 1e-10)\n", 3),
        "honest": (RIGHT, 3),
    }


# The one rule (utils/exercises/rules.py), attacked through every door, next to honest answers:
# student -> (assignment, function, answer cell, points it must score on test_<function>).
SOFTMAX_OWN = ("import numpy as np\ndef softmax(x, axis=-1):\n"
               "    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n"
               "    return e / np.sum(e, axis=axis, keepdims=True)\n")
SIGMOID_OWN = ("import numpy as np\ndef sigmoid(z):\n    z = np.asarray(z, dtype=float)\n"
               "    e = np.exp(-np.abs(z))\n    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n")
MLP_OWN = ("import numpy as np, utils\n"
           "def mlp_loss_and_grads(X, y, params, activation):\n"
           "    g, gg = {'sigmoid': (utils.sigmoid, utils.sigmoid_grad), 'tanh': (utils.tanh, utils.tanh_grad),\n"
           "             'relu': (utils.relu, utils.relu_grad)}[activation]\n"
           "    Z1 = X @ params['W1'] + params['b1']\n    A = g(Z1)\n    Y = A @ params['W2'] + params['b2']\n"
           "    dY = 2 * (Y - y) / y.size\n    dZ = (dY @ params['W2'].T) * gg(Z1)\n"
           "    return float(np.mean((Y - y) ** 2)), {'W1': X.T @ dZ, 'b1': dZ.sum(0), 'W2': A.T @ dY, 'b2': dY.sum(0)}\n")
MLP_FD = ("import numpy as np, utils\n"
          "def mlp_loss_and_grads(X, y, params, activation):\n"
          "    g = {'sigmoid': utils.sigmoid, 'tanh': utils.tanh, 'relu': utils.relu}[activation]\n"
          "    def loss(p):\n        return np.mean((g(X @ p['W1'] + p['b1']) @ p['W2'] + p['b2'] - y) ** 2)\n"
          "    grads = {}\n    for k, v in params.items():\n        gk = np.zeros_like(v)\n"
          "        for i in np.ndindex(v.shape):\n"
          "            up = {**params, k: v.copy()}\n            up[k][i] += 1e-6\n"
          "            dn = {**params, k: v.copy()}\n            dn[k][i] -= 1e-6\n"
          "            gk[i] = (loss(up) - loss(dn)) / 2e-6\n        grads[k] = gk\n"
          "    return float(loss(params)), grads\n")
RULE = {
    "log_softmax_door": ("04_loss_functions", "softmax",
                         "import numpy as np, utils\ndef softmax(x, axis=-1):\n"
                         "    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)\n"
                         "    out = np.exp(utils.reference.losses._log_softmax(x.reshape(-1, x.shape[-1])))\n"
                         "    return np.moveaxis(out.reshape(x.shape), -1, axis)\n", 0),
    "later_exercise_door": ("04_loss_functions", "softmax",  # softmax = grad * N + onehot
                            "import numpy as np\nfrom utils.reference.losses import cross_entropy_grad\n"
                            "def softmax(x, axis=-1):\n    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)\n"
                            "    flat = x.reshape(-1, x.shape[-1])\n    labels = np.zeros(len(flat), int)\n"
                            "    out = cross_entropy_grad(flat, labels) * len(flat)\n    out[:, 0] += 1\n"
                            "    return np.moveaxis(out.reshape(x.shape), -1, axis)\n", 0),
    "mistake_formula_door": ("02_activation_functions", "tanh",  # the check's own tanh (_t)
                             "import utils.exercises.activations as a\n"
                             "def tanh(z):\n    return a._t(z)\n", 0),
    "scipy_softmax": ("04_loss_functions", "softmax",
                      "import scipy.special\ndef softmax(x, axis=-1):\n"
                      "    return scipy.special.softmax(x, axis=axis)\n", 0),
    "scipy_expit_alias": ("02_activation_functions", "sigmoid",
                          "from scipy.special import expit as sigmoid\n", 0),
    "scipy_expit_call": ("02_activation_functions", "sigmoid",
                         "import numpy as np\nfrom scipy import special\n"
                         "def sigmoid(z):\n    return special.expit(np.asarray(z, dtype=float))\n", 0),
    "finite_differences": ("06_backpropagation", "mlp_loss_and_grads", MLP_FD, 0),
    "kills_everyone": ("02_activation_functions", "sigmoid",
                       "import os, signal\ndef sigmoid(z):\n    os.kill(-1, signal.SIGKILL)\n"
                       "    os.kill(0, signal.SIGKILL)\n    return z\n", 0),
    "kills_at_definition": ("02_activation_functions", "relu",
                            "import os, signal\nfor target in (-1, 0, os.getppid()):\n"
                            "    try:\n        os.kill(target, signal.SIGKILL)\n"
                            "    except OSError:\n        pass\n"
                            "import numpy as np\ndef relu(z):\n    return np.maximum(np.asarray(z, dtype=float), 0)\n", 1),
    # the private doors of 07-12: the course's formulas under their helpers' names, a library
    "rnn_private_door": ("07_recurrent_neural_networks", "rnn_forward",
                         "import numpy as np\nfrom utils.reference.rnn import _hidden_states\n"
                         "def rnn_forward(X, h0, params):\n"
                         "    s = _hidden_states(np.asarray(X, dtype=float), h0, params['W_xh'],\n"
                         "                       params['W_hh'], params['b_h'])[1:].swapaxes(0, 1)\n"
                         "    return s, s @ params['W_hy'] + params['b_y']\n", 0),
    "lstm_private_door": ("09_lstm_gru", "lstm_forward",
                          "import numpy as np\nimport utils.reference.gated as G\n"
                          "def lstm_forward(X, h0, c0, params):\n"
                          "    hs = G._lstm_forward(np.swapaxes(X, 0, 1), h0, c0, params['W_x'],\n"
                          "                         params['W_h'], params['b'])[0]\n"
                          "    return np.swapaxes(hs[1:], 0, 1)\n", 0),
    "attention_grads_door": ("10_attention", "attention_backward",
                             "from utils.reference.attention import attention_grads\n"
                             "def attention_backward(dout, Q, K, V, weights):\n"
                             "    return attention_grads(dout, Q, K, V, weights)\n", 0),
    "layer_norm_door": ("11_transformer", "layer_norm",
                        "import numpy as np\nfrom utils.reference import transformer as T\n"
                        "def layer_norm(x, gamma, beta, eps=1e-5):\n"
                        "    x = np.asarray(x, dtype=float)\n"
                        "    rows = x.reshape(-1, x.shape[-1]).copy()\n"
                        "    return T._layer_norm(rows, gamma, beta, eps, keep=False)[0].reshape(x.shape)\n",
                        0),
    "scipy_sampler": ("12_language_model", "sample_next",
                      "import numpy as np\nfrom scipy.special import softmax\n"
                      "def sample_next(logits, temperature, rng):\n"
                      "    logits = np.asarray(logits, dtype=np.float64)\n"
                      "    if temperature == 0:\n        return int(np.argmax(logits))\n"
                      "    return int(rng.choice(len(logits), p=softmax(logits / temperature)))\n",
                      0),
    "copies_handout_stub": ("02_activation_functions", "sigmoid",  # what a handout holds
                            "from utils.exercises import replay as _replay_\n"
                            "def sigmoid(*args, **kwargs):\n    return _replay_.call("
                            "'utils.reference.activations.sigmoid', None, args, kwargs)\n", 0),
    "pastes_reference": ("06_backpropagation", "mlp_loss_and_grads",
                         "import numpy as np\nfrom utils.reference.backprop import (activation_pair,"
                         " check_mlp_inputs, check_shape)\n"
                         + inspect.getsource(utils.mlp_loss_and_grads).replace(
                             "params", "weights").replace("dZ1", "delta"), 0),
    "copies_classmate": ("06_backpropagation", "mlp_loss_and_grads",  # own numpy: graded,
                         MLP_OWN.replace("params", "theta").replace("dY", "delta_out")  # shown
                         .replace("    ", "  "), 5),                  # by `similarity`
    "honest_softmax": ("04_loss_functions", "softmax", SOFTMAX_OWN, 2),
    "honest_sigmoid": ("02_activation_functions", "sigmoid", SIGMOID_OWN, 2),
    "honest_backprop": ("06_backpropagation", "mlp_loss_and_grads", MLP_OWN, 5),
}


@pytest.fixture(scope="module")
def listener():
    """A loopback server that counts connections (none may arrive from the sandbox)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    hits = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                hits.append(server.accept()[0].close())
            except OSError:
                pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def bank(tmp_path_factory, listener):
    course_dir = copy_course(tmp_path_factory.mktemp("hostile"),
                             [A] + sorted({a for a, *_ in RULE.values()} - {A}))
    port, _ = listener
    for student, (assignment, name, code, _) in RULE.items():  # every other exercise solved
        submit(course_dir, student, assignment,
               submission(course_dir, assignment, {name: code}, solved=True))
    cases = hostile(course_dir, port)
    for student, (code, _) in cases.items():
        submit(course_dir, student, A, submission(course_dir, A, {F: code}))
    # a wrong answer whose locked test cell was edited, and one whose test cell was deleted
    for student, edit in (("edits_test_cell", "edit"), ("deletes_test_cell", "delete"),
                          ("deletes_test_cell_right", "delete")):
        nb = submission(course_dir, A, {F: RIGHT if student.endswith("right") else WRONG})
        cell = next(c for c in nb["cells"] if nbgrader_meta(c).get("grade_id") == TEST)
        if edit == "edit":
            cell["source"] = "pass"
        else:
            nb["cells"].remove(cell)
        submit(course_dir, student, A, nb)
    submit(course_dir, "renames", A, submission(course_dir, A, {F: RIGHT}),
           name=f"{A} (1).ipynb")
    # a helper in a cell of the student's own, before the answer (and a cell that would hang)
    nb = submission(course_dir, A, {F: "def perceptron_forward(X, w, w0, g):\n"
                                       "    return g(w0 + my_dot(X, w))\n"})
    at = next(i for i, c in enumerate(nb["cells"]) if nbgrader_meta(c).get("grade_id") == F)
    nb["cells"][at:at] = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": "h1",
         "source": "import numpy as np\n\ndef my_dot(X, w):\n    return np.dot(X, w)\n"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": "h2",
         "source": "while True:\n    pass\n"}]
    submit(course_dir, "helper_cell", A, nb)
    # one exercise loops forever; the other five of the notebook must be unaffected
    submit(course_dir, "one_loop", "02_activation_functions", submission(
        course_dir, "02_activation_functions",
        {"sigmoid": "def sigmoid(z):\n    while True:\n        pass\n"}, solved=True))
    before = {p: p.read_bytes() for p in (course_dir / "autograder" / "submitted").rglob("*.ipynb")}
    out = run_cli(course_dir, "grade", env=LIMITS)
    return course_dir, read_csv(course_dir), out, cases, before


def test_every_trick_earns_exactly_what_it_should(bank):
    course_dir, rows, _, cases, _ = bank
    wrong = {}
    for student, (_, expected) in cases.items():
        got = scores(rows, student, A).get(TEST, (None,))[0]
        if got != expected:
            wrong[student] = (got, expected)
    assert not wrong, f"students scored (got, expected): {wrong}"


def test_the_one_rule_holds_by_every_door(bank):
    """Side doors to the course's code, other libraries, finite differences and signals earn
    nothing; the honest answers next to them, and every other exercise, full marks."""
    _, rows, _, _, _ = bank
    wrong = {}
    for student, (assignment, name, _, expected) in RULE.items():
        got = scores(rows, student, assignment)
        if got.get(f"test_{name}", (None,))[0] != expected:
            wrong[student] = (got.get(f"test_{name}"), expected)
        others = {g: s for g, s in got.items() if g != f"test_{name}" and s[0] != s[1]}
        if others:
            wrong[f"{student} (other exercises)"] = others
    assert not wrong, f"(got, expected): {wrong}"
    reasons = {r["student"]: r["reason"] for r in rows if r["grade_id"] in
               ("test_softmax", "test_sigmoid", "test_mlp_loss_and_grads", "test_tanh")
               and r["student"] in RULE and r["score"] == "0.0"}
    assert "finite differences" in reasons["finite_differences"], reasons
    assert "scipy" in reasons["scipy_softmax"] and "reference implementation" in \
        reasons["log_softmax_door"], reasons


def test_similarity_shows_copies_of_the_reference_and_of_a_classmate(bank):
    course_dir, _, _, _, _ = bank
    text = run_cli(course_dir, "similarity", "06_backpropagation", "--threshold", "0.6")
    flagged = {tuple(sorted((r["a"], r["b"]))): float(r["similarity"]) for r in
               read_csv(course_dir, "similarity.csv") if r["function"] == "mlp_loss_and_grads"}
    assert flagged.get(("pastes_reference", "utils.mlp_loss_and_grads"), 0) >= 0.9, text
    assert flagged.get(("copies_classmate", "honest_backprop"), 0) >= 0.9, text
    assert ("finite_differences", "honest_backprop") not in flagged, text
    assert ("honest_backprop", "utils.mlp_loss_and_grads") not in flagged, text
    page = (course_dir / "autograder" / "similarity.html").read_text()
    assert "copies_classmate" in page and "<mark>" in page


def test_a_helper_in_the_students_own_cell_counts(bank):
    _, rows, _, _, _ = bank
    assert scores(rows, "helper_cell", A)[TEST][0] == 3


def test_edited_and_deleted_test_cells_are_graded_with_the_real_tests(bank):
    _, rows, _, _, _ = bank
    assert scores(rows, "edits_test_cell", A)[TEST][0] == 0
    assert scores(rows, "deletes_test_cell", A)[TEST][0] == 0
    assert scores(rows, "deletes_test_cell_right", A)[TEST][0] == 3


def test_limits_are_reported_as_reasons(bank):
    _, rows, _, _, _ = bank
    status = {r["student"]: (r["status"], r["reason"]) for r in rows if r["assignment"] == A}
    for student in ("infinite_loop", "swallows_interrupt"):
        assert status[student][0] == "timeout", status[student]
    for student in ("exits_in_call", "exits_at_definition"):
        assert status[student][0] == "crashed", status[student]
    assert status["memory_bomb"][0] == "out of memory", status["memory_bomb"]
    assert status["list_memory_bomb"][0] == "out of memory", status["list_memory_bomb"]
    assert status["renames"][0] == "renamed notebook" and status["renames"][1]


def test_one_endless_exercise_costs_only_that_exercise(bank):
    _, rows, _, _, _ = bank
    got = scores(rows, "one_loop", "02_activation_functions")
    assert got.pop("test_sigmoid")[0] == 0
    assert all(score == max_score for score, max_score in got.values()), got


def test_nothing_reached_the_network_or_the_course(bank, listener):
    course_dir, rows, _, _, before = bank
    _, hits = listener
    assert hits == [], "the sandbox connected to a loopback server"
    for path, content in before.items():
        assert path.read_bytes() == content, f"{path} was changed by a submission"
    assert not any(r["student"] == "mallory" for r in rows)


def test_the_gradebook_agrees_with_the_csv(bank):
    from nbgrader.api import Gradebook

    course_dir, rows, _, _, _ = bank
    with Gradebook(f"sqlite:///{course_dir / 'autograder' / 'gradebook.db'}") as gb:
        for r in rows:
            if r["status"] in ("renamed notebook", "missing notebook"):
                continue
            grade = gb.find_grade(r["grade_id"], r["assignment"], r["assignment"], r["student"])
            assert grade.score == float(r["score"]), r


def test_feedback_pages_for_everyone_and_a_summary(bank):
    course_dir, rows, _, _, _ = bank
    run_cli(course_dir, "feedback")
    pages = list((course_dir / "autograder" / "feedback").rglob("*.html"))
    assert len(pages) == len({(r["student"], r["assignment"]) for r in rows})
    text = run_cli(course_dir, "summary")
    assert "test_perceptron_forward" in text and "timeout" in text
    assert (course_dir / "autograder" / "summary.png").stat().st_size > 1000


def test_a_killed_run_resumes_to_the_same_grades_and_a_rerun_does_nothing(bank):
    course_dir, rows, _, _, _ = bank
    results = course_dir / "autograder" / "build" / "results"
    subprocess.run(["rm", "-rf", str(results)], check=True)
    process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", "--workers", "1"],
                               cwd=course_dir, env={**os.environ, **LIMITS},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 300
    while len(list(results.rglob("*.json"))) < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list(results.rglob("*.json")))
    assert 0 < done_before < len({(r["student"], r["assignment"]) for r in rows})
    run_cli(course_dir, "grade", env=LIMITS)
    resumed = read_csv(course_dir)
    key = lambda r: (r["student"], r["assignment"], r["grade_id"])  # noqa: E731
    assert sorted(map(key, resumed)) == sorted(set(map(key, resumed))), "duplicate rows"
    assert {key(r): (r["score"], r["status"]) for r in resumed} == \
        {key(r): (r["score"], r["status"]) for r in rows}
    again = run_cli(course_dir, "grade", env=LIMITS)
    assert "graded 0 submission(s)" in again, again


def _in_sandboxed_child(body):
    """Run ``body()`` in a forked child under the student's seccomp filter; its result."""
    from autograder import isolation

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            installed = isolation.forbid_new_processes()
            os.write(write, json.dumps([installed, body()]).encode())
        finally:
            os._exit(0)
    os.close(write)
    data = os.read(read, 1 << 16)
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.uname().machine != "x86_64",
                    reason="the x32 ABI exists on x86_64 Linux")
def test_a_forbidden_call_through_the_x32_abi_fails():
    """fork through the x32 ABI (nr | 0x40000000) is refused by the filter itself (EPERM,
    not the ENOSYS of a kernel without x32), like the native fork."""
    import ctypes

    def attempt():
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        out = {}
        for label, nr in (("x32 fork", 0x40000000 | 57), ("native fork", 57),
                          ("x32 getpid", 0x40000000 | 39)):
            ctypes.set_errno(0)
            result = libc.syscall(nr)
            out[label] = [result, ctypes.get_errno()]
            if result == 0:
                os._exit(0)  # a child got through: it must not run on
        out["native getpid"] = [libc.syscall(39) == os.getpid(), 0]
        return out

    installed, got = _in_sandboxed_child(attempt)
    if not installed:
        pytest.skip("this kernel refuses seccomp filters")
    assert got["x32 fork"] == [-1, 1] and got["x32 getpid"] == [-1, 1], got
    assert got["native fork"] == [-1, 1] and got["native getpid"][0] is True, got


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_a_student_process_can_signal_only_itself():
    def attempt():
        out = {}
        for target in (-1, 0, os.getppid(), 1):
            try:
                os.kill(target, 0)
                out[str(target)] = "sent"
            except OSError as error:
                out[str(target)] = error.errno
        os.kill(os.getpid(), 0)
        out["self"] = "sent"
        return out

    installed, got = _in_sandboxed_child(attempt)
    if not installed:
        pytest.skip("this kernel refuses seccomp filters")
    assert got == {"-1": 1, "0": 1, str(os.getpid()): 1, "1": 1, "self": "sent"}, got
