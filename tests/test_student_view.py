"""What a student sees when an answer is wrong: each lecture (01-06) executed with typical wrong
answers in its exercise cells, then the failing test cells' error output read as JupyterLab,
nbgrader's Validate dialog and the grader's feedback show it (the error's traceback lines).

The message comes first: the case, expected and got, and the likely mistake within the first
lines; no frame of the course's own modules (``utils``, ``autograder``) or of installed packages
appears, only, when the student's code raised, the student's own line.
"""
import re

import pytest

from conftest import ROOT, errors, execute, nbgrader_meta, read_notebook

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The likely-mistake line must be among the first lines of the error.
FIRST_LINES = 10
# What would betray a frame of the machinery.
MACHINERY = ("utils/", "utils\\", "autograder", "site-packages", "checking.py", "Traceback",
             "reference implementation")

# Typical wrong answers, each a whole answer cell: (function, source, words of the hint).
WRONG = {
    "01_perceptron": [
        ("perceptron_forward", "def perceptron_forward(X, w, w0, g):\n    return g(X @ w)\n",
         "bias w0 is not added"),
    ],
    "02_activation_functions": [
        ("sigmoid", "def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n"
                    "    return 1 / (1 + np.exp(z))\n", "sigma(-z)"),
        ("sigmoid_grad", "def sigmoid_grad(z):\n"
                         "    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))\n",
         "sigma(z) itself"),
        ("tanh", "def tanh(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(-np.abs(z))\n"
                 "    return np.sign(z) * (1 - e) / (1 + e)\n", "tanh(z / 2)"),
        ("tanh_grad", "def tanh_grad(z):\n    return 1 - np.asarray(z, dtype=float) ** 2\n",
         "instead of tanh(z)"),
        ("relu", "def relu(z):\n    z = np.asarray(z, dtype=float)\n    return np.max(0, z)\n",
         "np.maximum(z, 0)"),
        ("relu_grad", "def relu_grad(z):\n    return np.asarray(z) > 0\n", "astype(float)"),
    ],
    "03_multilayer_perceptron": [
        ("dense_forward", "def dense_forward(X, W, b):\n    return X @ W\n", "bias b is not added"),
        ("mlp_forward", "def mlp_forward(X, params, g):\n"
                        "    return (X @ params['W1'] + params['b1']) @ params['W2'] + params['b2']\n",
         "activation g is missing"),
    ],
    "04_loss_functions": [
        ("mse_loss", "def mse_loss(y_pred, y_true):\n"
                     "    return float(np.sum((y_pred - y_true) ** 2))\n", "sum of squared errors"),
        ("mse_grad", "def mse_grad(y_pred, y_true):\n    return (y_pred - y_true) / y_pred.size\n",
         "factor 2"),
        ("bce_grad", "def bce_grad(p, y, eps=1e-12):\n    p = np.clip(p, eps, 1 - eps)\n"
                     "    return -y / p + (1 - y) / (1 - p)\n", "1/n of the mean"),
        ("bce_with_logits_grad", "def bce_with_logits_grad(z, y):\n"
                                 "    return (z - y) / np.size(z)\n", "sigmoid is missing"),
        ("cross_entropy_grad", "def cross_entropy_grad(logits, labels):\n"
                               "    e = np.exp(logits - logits.max(axis=1, keepdims=True))\n"
                               "    return e / e.sum(axis=1, keepdims=True) / len(logits)\n",
         "one-hot labels are not subtracted"),
    ],
    "05_gradient_descent": [
        ("init_weights", "def init_weights(shape, sigma, rng):\n"
                         "    return rng.standard_normal(shape)\n", "not scaled"),
        ("gradient_descent", "def gradient_descent(grad_fn, w_init, lr, n_steps):\n"
                             "    w = np.array(w_init, dtype=float)\n    out = [w]\n"
                             "    for _ in range(n_steps):\n        w = w + lr * grad_fn(w)\n"
                             "        out.append(w)\n    return np.array(out)\n", "uphill"),
    ],
    "06_backpropagation": [
        ("dense_backward", "def dense_backward(dZ, X, W):\n"
                           "    return dZ @ W.T, X.T @ dZ, dZ.mean(axis=0)\n", "averaged"),
        ("mlp_loss_and_grads", '''def mlp_loss_and_grads(X, y, params, activation):
    g, g_grad = ACTIVATIONS[activation]
    Z1 = X @ params["W1"] + params["b1"]
    A = g(Z1)
    Y = A @ params["W2"] + params["b2"]
    loss = float(np.mean((Y - y) ** 2))
    dY = 2 * (Y - y) / y.size
    dA = dY @ params["W2"].T
    dZ1 = dA * g_grad(A)
    return loss, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A.T @ dY, "b2": dY.sum(axis=0)}
''', "pre-activation"),
    ],
}


def _shown(cell):
    """The error's lines as a student reads them (colours removed)."""
    (error,) = errors(cell)
    return [ANSI.sub("", line) for text in error["traceback"] for line in text.split("\n")]


@pytest.fixture(scope="module", params=sorted(WRONG))
def executed(request):
    lecture = request.param
    path = ROOT / "lectures" / lecture / f"{lecture}.ipynb"
    nb = read_notebook(path)
    answers = {name: source for name, source, _ in WRONG[lecture]}
    for cell in nb["cells"]:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in answers:
            cell["source"] = answers[grade_id]
    return lecture, {c["id"]: c for c in execute(nb, path.parent)["cells"]}


def test_a_wrong_answer_shows_the_message_first(executed):
    lecture, cells = executed
    for name, _, hint in WRONG[lecture]:
        lines = _shown(cells[f"test_{name}"])
        text = "\n".join(lines)
        # the check's own first line: "name: case k of n, ..." or "gradient check name ..."
        assert re.match(rf"({name}: case |gradient check {name}[: ])", lines[0]), (
            f"{name}: the first line is not the check's:\n{text}")
        first = "\n".join(lines[:FIRST_LINES])
        assert "likely mistake:" in first and hint in " ".join(first.split()), (
            f"{name}: the likely mistake is not in the first {FIRST_LINES} lines:\n{text}")
        for word in MACHINERY:
            assert word not in text, f"{name}: {word!r} shows the machinery:\n{text}"


def test_an_error_in_the_students_code_shows_their_line_only(executed):
    """relu's np.max(0, z) raises inside numpy: after the message the student sees their own
    line, and neither numpy's frames nor the checks'."""
    lecture, cells = executed
    if lecture != "02_activation_functions":
        pytest.skip("the wrong relu is in notebook 02")
    lines = _shown(cells["test_relu"])
    raised = [i for i, line in enumerate(lines) if "raised in your code" in line]
    assert raised, "\n".join(lines)
    frames = lines[raised[0] + 1:]
    assert any("in relu" in line for line in frames), "\n".join(lines)
    assert any("return np.max(0, z)" in line for line in frames), "\n".join(lines)
    assert not any("numpy" in line for line in frames), "\n".join(lines)
