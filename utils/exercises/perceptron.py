"""Checks for notebook 01: the perceptron."""
import numpy as np

from ..reference import perceptron as ref
from ..reference.activations import sigmoid
from .checking import Case, Mistake, check_function


def identity(z):
    return z


def step(z):
    return (z > 0).astype(float)


MISTAKES = [
    Mistake("the bias w0 is not added: compute g(w0 + X @ w).",
            lambda X, w, w0, g: g(X @ w)),
    Mistake("the activation g is not applied: return g(w0 + X @ w), not w0 + X @ w.",
            lambda X, w, w0, g: w0 + X @ w),
    Mistake("g is applied before the bias is added: the bias goes inside, g(w0 + X @ w).",
            lambda X, w, w0, g: w0 + g(X @ w)),
    Mistake("the bias is subtracted: the perceptron computes g(w0 + X @ w).",
            lambda X, w, w0, g: g(X @ w - w0)),
    Mistake("the bias is multiplied in rather than added: g(w0 + X @ w).",
            lambda X, w, w0, g: g(w0 * (X @ w))),
]


def cases(seed, n_random):
    rng = np.random.default_rng(seed)
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, -3.0]])
    fixed = [
        Case("weights only (w0 = 0), identity g", (X, np.array([0.5, -1.0]), 0.0, identity)),
        Case("bias only (w = 0), identity g", (X, np.zeros(2), 1.5, identity)),
        Case("weights and bias, identity g", (X, np.array([2.0, 1.0]), -0.5, identity)),
        Case("weights and bias, sigmoid g", (X, np.array([2.0, 1.0]), -0.5, sigmoid)),
        Case("a step activation", (X, np.array([1.0, 1.0]), -0.75, step)),
        Case("one input (N = 1), one feature (D = 1)", (np.array([[2.0]]), np.array([3.0]), 1.0,
                                                        identity)),
    ]
    for i in range(n_random):
        N, D = (int(s) for s in rng.integers(1, 9, size=2))
        fixed.append(Case(f"random X ({N}, {D}), tanh g", (
            rng.standard_normal((N, D)), rng.standard_normal(D), float(rng.standard_normal()),
            np.tanh)))
    return fixed


def check_perceptron_forward(student, *, seed=0, n_random=3, quiet=False):
    """Check a perceptron_forward(X, w, w0, g) -> (N,) against the reference."""
    return check_function(student, ref.perceptron_forward, cases(seed, n_random),
                          mistakes=MISTAKES, quiet=quiet)
