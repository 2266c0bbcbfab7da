"""Checks for notebook 03: dense layers and the multilayer perceptron."""
import numpy as np

from ..reference import mlp as ref
from ..reference.activations import relu, sigmoid
from .checking import Case, Mistake, check_function


def identity(z):
    return z


DENSE_MISTAKES = [
    Mistake("the bias b is not added: Z = X @ W + b.", lambda X, W, b: X @ W),
    Mistake("X * W multiplies elementwise; a layer needs the matrix product X @ W.",
            lambda X, W, b: X * W + b),
    Mistake("the bias is subtracted: Z = X @ W + b.", lambda X, W, b: X @ W - b),
    Mistake("W is transposed: with row vectors the layer is X @ W, W of shape (D, H).",
            lambda X, W, b: X @ W.T + b),
    Mistake("b is added to each column instead of each row: b has one entry per output "
            "unit (H of them), so X @ W + b broadcasts it along the rows as it is; "
            "b[:, None] or b.reshape(-1, 1) turns it the wrong way.",
            lambda X, W, b: X @ W + b[:, None]),
    Mistake("the bias is added to the inputs before the product; it is added after: "
            "X @ W + b.", lambda X, W, b: (X + b) @ W),
    Mistake("the bias is multiplied in rather than added: X @ W + b.",
            lambda X, W, b: (X @ W) * b),
]


def _mlp(X, p, g, hidden=True, out_g=False, b1_after=False):
    Z1 = X @ p["W1"] + (0 if b1_after else p["b1"])
    A = (g(Z1) if hidden else Z1) + (p["b1"] if b1_after else 0)
    Y = A @ p["W2"] + p["b2"]
    return g(Y) if out_g else Y


def _fixed(h):
    return lambda X, p, g: _mlp(X, p, h)


MLP_MISTAKES = [
    Mistake("the output layer is linear here (y_k = sum_j g(z_j) w_jk + w_0k): do not apply g "
            "to the output.", lambda X, p, g: _mlp(X, p, g, out_g=True)),
    Mistake("the output layer is linear here: do not apply g to it (g(... @ W2) + b2 is "
            "still an activated output).",
            lambda X, p, g: g(_mlp(X, p, g) - p["b2"]) + p["b2"]),
    Mistake("the hidden activation g is missing: the hidden layer is g(X @ W1 + b1).",
            lambda X, p, g: _mlp(X, p, g, hidden=False)),
    Mistake("b1 is added after the activation; it belongs inside: g(X @ W1 + b1).",
            lambda X, p, g: _mlp(X, p, g, b1_after=True)),
    Mistake("b2 is missing from the output: ... @ W2 + b2.",
            lambda X, p, g: g(X @ p["W1"] + p["b1"]) @ p["W2"]),
    Mistake("b1 is missing from the hidden layer: g(X @ W1 + b1).",
            lambda X, p, g: g(X @ p["W1"]) @ p["W2"] + p["b2"]),
    Mistake("you used a fixed activation (relu); use the g passed in as an argument.",
            _fixed(relu)),
    Mistake("you used a fixed activation (sigmoid); use the g passed in as an argument.",
            _fixed(sigmoid)),
    Mistake("you used a fixed activation (tanh); use the g passed in as an argument.",
            _fixed(np.tanh)),
]


def _params(rng, D, H, K):
    return {"W1": rng.standard_normal((D, H)), "b1": rng.standard_normal(H),
            "W2": rng.standard_normal((H, K)), "b2": rng.standard_normal(K)}


def dense_cases(seed, n_random):
    """Named inputs for dense_forward: fixed small layers, then random shapes."""
    rng = np.random.default_rng(seed)
    # Square cases first: there X * W, X @ W.T and (X + b) @ W run without a shape error,
    # so a student making one of those mistakes sees its hint rather than a traceback.
    S = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 0.5], [2.0, 0.0, 1.0]])
    V = np.array([[1.0, 0.0, 2.0], [0.5, 1.0, 0.0], [1.0, -1.0, 1.0]])
    X = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    out = [
        Case("no bias (b = 0), N = D = H = 3", (S, V, np.zeros(3))),
        Case("with a bias, N = D = H = 3", (S, V, np.array([0.5, -2.0, 1.0]))),
        Case("N = 2 inputs, D = 3, H = 2 units, no bias", (X, W, np.zeros(2))),
        Case("N = 2 inputs, D = 3, H = 2 units, with a bias", (X, W, np.array([0.5, -2.0]))),
        Case("a random square layer (D = H)", (X, rng.standard_normal((3, 3)),
                                               rng.standard_normal(3))),
        Case("one input row (N = 1)", (X[:1], W, np.array([1.0, 1.0]))),
        Case("more units than inputs (D = 2, H = 5)",
             (rng.standard_normal((4, 2)), rng.standard_normal((2, 5)), rng.standard_normal(5))),
        Case("one unit (H = 1)", (X, np.array([[1.0], [-1.0], [2.0]]), np.array([0.5]))),
    ]
    for _ in range(n_random):
        N, D, H = (int(s) for s in rng.integers(1, 7, size=3))
        out.append(Case(f"random shapes N={N}, D={D}, H={H}", (
            rng.standard_normal((N, D)), rng.standard_normal((D, H)), rng.standard_normal(H))))
    return out


def mlp_cases(seed, n_random):
    """Named inputs for mlp_forward: each activation, odd shapes, then random networks."""
    rng = np.random.default_rng(seed)
    X = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -0.5]])
    out = [
        Case("D=3, H=4, K=2 with relu", (X, _params(rng, 3, 4, 2), relu)),
        Case("D=3, H=4, K=2 with sigmoid", (X, _params(rng, 3, 4, 2), sigmoid)),
        Case("one output (K = 1) with tanh", (X, _params(rng, 3, 5, 1), np.tanh)),
        Case("identity g (the network is then one linear map)",
             (X, _params(rng, 3, 2, 3), identity)),
        Case("one hidden unit (H = 1), one input row (N = 1), relu",
             (X[:1], _params(rng, 3, 1, 2), relu)),
    ]
    activations = (np.tanh, sigmoid, relu)
    for i in range(n_random):
        N, D, H, K = (int(s) for s in rng.integers(1, 7, size=4))
        g = activations[i % 3]
        out.append(Case(f"random shapes N={N}, D={D}, H={H}, K={K}, {g.__name__}",
                        (rng.standard_normal((N, D)), _params(rng, D, H, K), g)))
    return out


def check_dense_forward(student, *, seed=0, n_random=3, quiet=False):
    """Check dense_forward(X, W, b) -> X @ W + b."""
    return check_function(student, ref.dense_forward, dense_cases(seed, n_random),
                          mistakes=DENSE_MISTAKES, quiet=quiet)


def check_mlp_forward(student, *, seed=0, n_random=3, quiet=False):
    """Check mlp_forward(X, params, g) -> g(X @ W1 + b1) @ W2 + b2."""
    return check_function(student, ref.mlp_forward, mlp_cases(seed, n_random),
                          mistakes=MLP_MISTAKES, quiet=quiet)
