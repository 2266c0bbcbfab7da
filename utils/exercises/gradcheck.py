"""Finite-difference gradients and a verdict on how far an analytic gradient is from them.

Central differences have error O(h^2); in float64 with h = 1e-6 a correct gradient of a smooth
function typically lands at a relative error of 1e-8 to 1e-10. The ladder (after CS231n):

    rel. error < 1e-7   excellent: the gradient is right
    rel. error < 1e-5   good: right (normal near kinks or for tiny gradients)
    rel. error < 1e-3   suspicious: often a kink (ReLU at 0) or an h that is too large
    otherwise           wrong
"""
from dataclasses import dataclass

import numpy as np

LADDER = ((1e-7, "excellent"), (1e-5, "good"), (1e-3, "suspicious"))


def numerical_gradient(f, x, h=1e-6):
    """Gradient of a scalar function by central differences.

        df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)

    Args:
        f: callable taking an array shaped like ``x`` and returning a number.
        x: array of any shape (not modified).
        h: step.
    Returns:
        array shaped like ``x``. Costs 2 * x.size calls of ``f``.
    """
    x = np.array(x, dtype=np.float64)  # a private copy: we nudge it in place
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = float(f(x))
        flat[i] = old - h
        f_minus = float(f(x))
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_derivative(f, z, h=1e-6):
    """Derivative of an elementwise function at every entry of ``z`` at once.

        f'(z) ~ (f(z + h) - f(z - h)) / (2h)

    Valid only when output i depends on input i alone (activations): one pair of calls.
    """
    z = np.asarray(z, dtype=np.float64)
    return (np.asarray(f(z + h)) - np.asarray(f(z - h))) / (2 * h)


def relative_error(analytic, numeric):
    """||a - n|| / max(||a|| + ||n||, 1e-12): scale-free, and sane where entries are ~0."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12))


def verdict(rel_error):
    """The ladder's word for a relative error."""
    for bound, word in LADDER:
        if rel_error < bound:
            return word
    return "wrong"


@dataclass
class GradCheck:
    """The outcome of comparing an analytic gradient with a numerical one."""

    name: str
    rel_error: float
    worst_index: tuple
    analytic_at_worst: float
    numeric_at_worst: float
    tolerance: float

    @property
    def verdict(self):
        return verdict(self.rel_error)

    @property
    def passed(self):
        return self.rel_error < self.tolerance

    def __str__(self):
        mark = "ok" if self.passed else "FAILED"
        text = (f"gradient check {self.name}: relative error {self.rel_error:.1e} "
                f"({self.verdict}; pass below {self.tolerance:.0e}) {mark}")
        if not self.passed:
            text += (f"\n  worst entry {self.worst_index}: yours {self.analytic_at_worst:.6g}, "
                     f"finite differences {self.numeric_at_worst:.6g}")
        return text


def compare_gradients(analytic, numeric, name="gradient", tolerance=1e-5):
    """Compare two gradients of the same shape and return a :class:`GradCheck`."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"{name}: analytic gradient has shape {a.shape}, "
                         f"numerical gradient has shape {n.shape}")
    diff = np.abs(a - n)
    if not np.all(np.isfinite(a)):
        worst = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        rel = float("inf")
    else:
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(diff), a.shape)) if a.size else ()
        rel = relative_error(a, n)
    return GradCheck(name, rel, worst, float(a[worst]) if a.size else 0.0,
                     float(n[worst]) if a.size else 0.0, tolerance)


def check_gradient(f, grad, x, name="gradient", h=1e-6, tolerance=1e-5):
    """Check ``grad(x)`` (the analytic gradient of scalar ``f``) against finite differences.

    Returns the :class:`GradCheck`; raises ``AssertionError`` with its report if it fails.
    """
    result = compare_gradients(grad(np.array(x, dtype=np.float64)),
                               numerical_gradient(f, x, h), name, tolerance)
    if not result.passed:
        raise AssertionError(str(result))
    return result
