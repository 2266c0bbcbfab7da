"""Checks for notebook 04: loss functions and their gradients."""
import warnings

import numpy as np

from ..reference import losses as ref
from ..reference.activations import sigmoid
from .checking import (Case, Mistake, ReferenceUsed, check_function,
                        check_gradient_against_numeric, diagnose, forbid)
from .gradcheck import numerical_gradient

# Besides each exercise's own reference, what its answer may not call: a gradient must not
# differentiate the course's loss numerically, and log-softmax is the whole of cross-entropy.
# Other exercises' references stay allowed (e.g. utils.softmax inside cross_entropy_grad), as
# the sigmoid from notebook 02 is.
FORBIDDEN = {
    "mse_grad": ("mse_loss",),
    "bce_grad": ("bce_loss",),
    "bce_with_logits_grad": ("bce_with_logits_loss",),
    "cross_entropy_loss": ("_log_softmax",),
    "cross_entropy_grad": ("cross_entropy_loss", "_log_softmax"),
}


# --- the wrong answers students give, computed (numpy warnings are silenced by diagnose) ---
# Written out here rather than built on the references, so each one also runs as a "student"
# function in the tests (inside a check, the references are off limits).

def _a(x):
    return np.asarray(x, dtype=np.float64)


def _clip(p, eps):
    return np.clip(_a(p), eps, 1 - eps)


def _bce_terms(p, y, log=np.log):
    return _a(y) * log(p) + (1 - _a(y)) * log(1 - p)


def _bce(p, y, eps=1e-12):
    return -np.mean(_bce_terms(_clip(p, eps), y))


def _bce_g(p, y, eps=1e-12):
    p, y = _clip(p, eps), _a(y)
    return (-y / p + (1 - y) / (1 - p)) / p.size


def _naive_sigmoid(z):
    return 1 / (1 + np.exp(-_a(z)))


def _softplus(z):
    z = _a(z)
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _naive_softmax(x, axis=-1):
    e = np.exp(_a(x))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax(x, axis=-1):
    x = _a(x)
    return _naive_softmax(x - x.max(axis=axis, keepdims=True), axis)


def _logp(Z):
    Z = _a(Z)
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _pick(M, labels):
    return M[np.arange(len(labels)), labels]


def _onehot(labels, Z):
    return np.eye(_a(Z).shape[1])[labels]


MISTAKES = {
    "mse_loss": [
        Mistake("that is the sum of squared errors: divide by the number of elements n "
                "(np.mean), J = 1/n sum (yhat - y)^2.",
                lambda a, b: np.sum((_a(a) - _a(b)) ** 2)),
        Mistake("the 1/2 convention (1/2n sum ...) is not used here: J = 1/n sum (yhat - y)^2.",
                lambda a, b: 0.5 * np.mean((_a(a) - _a(b)) ** 2)),
        Mistake("the differences are not squared: that is the mean absolute error.",
                lambda a, b: np.mean(np.abs(_a(a) - _a(b)))),
        Mistake("the mean is taken before squaring: average the squared differences, "
                "np.mean((y_pred - y_true) ** 2).", lambda a, b: np.mean(_a(a) - _a(b)) ** 2),
        Mistake("the square root makes this the RMSE; the MSE has no root.",
                lambda a, b: np.sqrt(np.mean((_a(a) - _a(b)) ** 2))),
        Mistake("the squares are summed over each row and averaged over rows only: the MSE "
                "averages over every element (divide by y_pred.size).",
                lambda a, b: np.mean(np.sum((_a(a) - _a(b)) ** 2, axis=1))),
    ],
    "mse_grad": [
        Mistake("the factor 2 from differentiating the square is missing: "
                "dJ/dyhat = 2 (yhat - y) / n.", lambda a, b: (_a(a) - _a(b)) / _a(a).size),
        Mistake("the 1/n of the mean is missing: dJ/dyhat = 2 (yhat - y) / n with "
                "n = y_pred.size.", lambda a, b: 2 * (_a(a) - _a(b))),
        Mistake("the sign is flipped: the derivative of (yhat - y)^2 with respect to yhat is "
                "2 (yhat - y), not 2 (y - yhat).",
                lambda a, b: 2 * (_a(b) - _a(a)) / _a(a).size),
        Mistake("divided by the number of rows len(y_pred); the mean runs over every element, "
                "so divide by y_pred.size.", lambda a, b: 2 * (_a(a) - _a(b)) / len(_a(a))),
        Mistake("both the factor 2 and the 1/n are missing: dJ/dyhat = 2 (yhat - y) / n.",
                lambda a, b: _a(a) - _a(b)),
    ],
    "bce_loss": [
        Mistake("the eps argument is ignored (a fixed margin is used): clip with the eps "
                "that was passed in.",
                lambda p, y, eps=1e-12: _bce(p, y)),
        Mistake("p is clipped on one side only: clip to [eps, 1 - eps] so log(1 - p) is "
                "finite too.",
                lambda p, y, eps=1e-12: -np.mean(_bce_terms(np.maximum(_a(p), eps), _a(y)))),
        Mistake("p is not clipped: a probability of exactly 0 or 1 gives log(0) = -inf. "
                "Clip first: p = np.clip(p, eps, 1 - eps).",
                lambda p, y, eps=1e-12: -np.mean(_bce_terms(_a(p), _a(y)))),
        Mistake("the minus sign is missing: J = -1/n sum [y log p + (1 - y) log(1 - p)] is "
                "positive.", lambda p, y, eps=1e-12: -_bce(p, y, eps)),
        Mistake("that is a sum: divide by the number of elements n (np.mean).",
                lambda p, y, eps=1e-12: _bce(p, y, eps) * _a(p).size),
        Mistake("the (1 - y) log(1 - p) term (the negative examples) is missing.",
                lambda p, y, eps=1e-12: -np.mean(_a(y) * np.log(_clip(p, eps)))),
        Mistake("log base 10: cross-entropy uses the natural log, np.log.",
                lambda p, y, eps=1e-12: -np.mean(_bce_terms(_clip(p, eps), _a(y), np.log10))),
        Mistake("log base 2: cross-entropy here uses the natural log, np.log.",
                lambda p, y, eps=1e-12: -np.mean(_bce_terms(_clip(p, eps), _a(y), np.log2))),
        Mistake("p and y are swapped: the target y weights the log of the prediction p, "
                "y log p + (1 - y) log(1 - p).",
                lambda p, y, eps=1e-12: -np.mean(_bce_terms(_clip(y, eps), _a(p)))),
    ],
    "bce_grad": [
        Mistake("the eps argument is ignored (a fixed margin is used): clip with the eps "
                "that was passed in.", lambda p, y, eps=1e-12: _bce_g(p, y)),
        Mistake("the clipping was differentiated (gradient 0 where p was clipped). Clip p, "
                "then evaluate (-y / p + (1 - y) / (1 - p)) / n at the clipped p.",
                lambda p, y, eps=1e-12: np.where((_a(p) < eps) | (_a(p) > 1 - eps), 0.0,
                                                 _bce_g(p, y, eps))),
        Mistake("p is not clipped before dividing: 1 / p is infinite at p = 0. Clip p to "
                "[eps, 1 - eps] first.",
                lambda p, y, eps=1e-12: (-_a(y) / _a(p) + (1 - _a(y)) / (1 - _a(p))) / _a(p).size),
        Mistake("the 1/n of the mean is missing: divide by n = p.size.",
                lambda p, y, eps=1e-12: _bce_g(p, y, eps) * _a(p).size),
        Mistake("the sign is flipped: dJ/dp = (-y / p + (1 - y) / (1 - p)) / n.",
                lambda p, y, eps=1e-12: -_bce_g(p, y, eps)),
        Mistake("a sign slipped in the second term: d/dp log(1 - p) = -1 / (1 - p), so the "
                "term is +(1 - y) / (1 - p) after the leading minus.",
                lambda p, y, eps=1e-12: (-_a(y) / _clip(p, eps) - (1 - _a(y)) / (1 - _clip(p, eps)))
                / _a(p).size),
        Mistake("(p - y) / n is the gradient with respect to the logit z (through the "
                "sigmoid); with respect to p it is (-y / p + (1 - y) / (1 - p)) / n.",
                lambda p, y, eps=1e-12: (_clip(p, eps) - _a(y)) / _a(p).size),
    ],
    "bce_with_logits_loss": [
        Mistake("log(sigmoid(z)) is the naive formula: for large |z| sigmoid(z) rounds to "
                "exactly 0 or 1 and the log gives -inf. Use the logit form "
                "max(z, 0) + log(1 + e^{-|z|}) - y z.",
                lambda z, y: -np.mean(_bce_terms(_naive_sigmoid(z), _a(y)))),
        Mistake("log(1 + e^z) overflows to inf for large z: write softplus(z) as "
                "max(z, 0) + log1p(e^{-|z|}), which only exponentiates numbers <= 0.",
                lambda z, y: np.mean(np.log(1 + np.exp(_a(z))) - _a(y) * _a(z))),
        Mistake("clipping sigmoid(z) caps each loss at -log(eps) ~ 27.6 instead of ~|z|: the "
                "logit form max(z, 0) + log(1 + e^{-|z|}) - y z needs no clipping.",
                lambda z, y: _bce(sigmoid(z), y)),
        Mistake("the max(z, 0) term of the stable softplus is missing: "
                "log(1 + e^z) = max(z, 0) + log(1 + e^{-|z|}).",
                lambda z, y: np.mean(np.log1p(np.exp(-np.abs(_a(z)))) - _a(y) * _a(z))),
        Mistake("the sign of y z is flipped: J = 1/n sum [log(1 + e^z) - y z].",
                lambda z, y: np.mean(_softplus(z) + _a(y) * _a(z))),
        Mistake("log(1 + e^{-z}) is softplus(-z); the loss uses log(1 + e^{z}) - y z "
                "(or equivalently log(1 + e^{-z}) + (1 - y) z).",
                lambda z, y: np.mean(_softplus(-_a(z)) - _a(y) * _a(z))),
        Mistake("that is a sum: divide by the number of elements n (np.mean).",
                lambda z, y: np.sum(_softplus(z) - _a(y) * _a(z))),
    ],
    "bce_with_logits_grad": [
        Mistake("the 1/n of the mean is missing: dJ/dz = (sigmoid(z) - y) / n.",
                lambda z, y: sigmoid(z) - _a(y)),
        Mistake("the sign is flipped: dJ/dz = (sigmoid(z) - y) / n.",
                lambda z, y: (_a(y) - sigmoid(z)) / _a(z).size),
        Mistake("the sigmoid is missing: dJ/dz = (sigmoid(z) - y) / n, not (z - y) / n.",
                lambda z, y: (_a(z) - _a(y)) / _a(z).size),
        Mistake("the extra factor sigmoid'(z) belongs to MSE through a sigmoid; for "
                "cross-entropy it cancels: dJ/dz = (sigmoid(z) - y) / n.",
                lambda z, y: (sigmoid(z) - _a(y)) * sigmoid(z) * (1 - sigmoid(z)) / _a(z).size),
    ],
    "softmax": [
        Mistake("e^x overflows to inf for large x, and inf / inf is NaN: subtract the "
                "maximum along the axis first, e^{x - max} / sum e^{x - max}.",
                lambda x, axis=-1: _naive_softmax(x, axis)),
        Mistake("the max is taken over the whole array: subtract each slice's own maximum "
                "(x.max(axis=axis, keepdims=True)), or a slice far below the global maximum "
                "underflows to 0 / 0.",
                lambda x, axis=-1: _naive_softmax(_a(x) - _a(x).max(), axis)),
        Mistake("normalised over every entry: divide by the sum along the axis "
                "(keepdims=True), not by the sum of the whole array.",
                lambda x, axis=-1: np.exp(_a(x) - _a(x).max()) / np.exp(_a(x) - _a(x).max()).sum()),
        Mistake("the axis argument is ignored: sum along `axis`, not always the last one.",
                lambda x, axis=-1: _softmax(x)),
        Mistake("normalised along the wrong axis: the probabilities must sum to 1 along "
                "`axis`.", lambda x, axis=-1: _softmax(x, axis=0)),
        Mistake("keepdims is missing: e.sum(axis=axis) drops the axis, so the division "
                "lines the sums up with the wrong entries. Use keepdims=True.",
                lambda x, axis=-1: (lambda e: e / e.sum(axis=axis))(
                    np.exp(_a(x) - _a(x).max(axis=axis, keepdims=True)))),
    ],
    "cross_entropy_loss": [
        Mistake("that is a sum over the rows: divide by N (average over the rows).",
                lambda Z, t: -np.sum(_pick(_logp(Z), t))),
        Mistake("np.mean over the (N, C) array divides by N*C; cross-entropy averages over "
                "the N rows only.", lambda Z, t: -np.mean(_onehot(t, Z) * _logp(Z))),
        Mistake("log(softmax(z)) without subtracting the maximum overflows for large logits. "
                "Use log-sum-exp: -log softmax(z)_y = m + log sum e^{z - m} - z_y, m = max z.",
                lambda Z, t: -np.mean(np.log(_pick(_naive_softmax(Z), t)))),
        Mistake("log(softmax(z)) turns a probability that underflowed to 0 into log 0 = -inf. "
                "Compute log softmax directly: z_y - m - log sum e^{z - m}, m = max z.",
                lambda Z, t: -np.mean(np.log(_pick(_softmax(Z), t)))),
        Mistake("the sign is flipped: the loss is -mean(log softmax(z)[n, y_n]), which is >= 0.",
                lambda Z, t: np.mean(_pick(_logp(Z), t))),
        Mistake("logp[:, labels] picks every label's column for every row (an (N, N) array); "
                "take one entry per row: logp[np.arange(N), labels].",
                lambda Z, t: -np.mean(_logp(Z)[:, t])),
        Mistake("the log-sum-exp term is missing: -log softmax(z)_y = log sum_c e^{z_c} - z_y.",
                lambda Z, t: -np.mean(_pick(_a(Z), t))),
        Mistake("the softmax is normalised over the rows (axis 0); it runs over the classes, "
                "axis 1.", lambda Z, t: -np.mean(_pick(np.log(_softmax(Z, axis=0)), t))),
    ],
    "cross_entropy_grad": [
        Mistake("the 1/N of the mean over rows is missing: dJ/dz = (softmax(z) - onehot(y)) / N.",
                lambda Z, t: _softmax(Z) - _onehot(t, Z)),
        Mistake("divided by N*C: the loss averages over the N rows, so divide by N only.",
                lambda Z, t: (_softmax(Z) - _onehot(t, Z)) / _a(Z).size),
        Mistake("the sign is flipped: dJ/dz = (softmax(z) - onehot(y)) / N.",
                lambda Z, t: (_onehot(t, Z) - _softmax(Z)) / len(t)),
        Mistake("the one-hot labels are not subtracted: dJ/dz = (softmax(z) - onehot(y)) / N.",
                lambda Z, t: _softmax(Z) / len(t)),
        Mistake("the labels are not one-hot encoded: subtract onehot(y) (1 in column y_n of "
                "row n, 0 elsewhere), not the integer labels themselves.",
                lambda Z, t: (_softmax(Z) - np.asarray(t)[:, None]) / len(t)),
        Mistake("softmax without subtracting the row maximum overflows for large logits "
                "(inf / inf = NaN).",
                lambda Z, t: (_naive_softmax(Z) - _onehot(t, Z)) / len(t)),
        Mistake("the softmax is normalised over the rows (axis 0); it runs over the classes, "
                "axis 1.",
                lambda Z, t: (_softmax(Z, axis=0) - _onehot(t, Z)) / len(t)),
    ],
}

# Shown with the finite-difference check when a gradient is off and no mistake above matches.
GRAD_HINTS = {
    "mse_grad": "dJ/dyhat = 2 (yhat - y) / n with n = y_pred.size.",
    "bce_grad": "dJ/dp = (-y / p + (1 - y) / (1 - p)) / n at the clipped p, n = p.size.",
    "bce_with_logits_grad": "dJ/dz = (sigmoid(z) - y) / n with n = z.size.",
    "cross_entropy_grad": "dJ/dz = (softmax(z) - onehot(y)) / N, softmax over each row.",
}


# --- cases ---------------------------------------------------------------------------------

def _shape(rng):
    return tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 3)))


def _binary(rng, shape):
    return rng.integers(0, 2, size=shape).astype(np.float64)


def mse_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("two predictions", (np.array([3.0, 0.0]), np.array([1.0, 1.0]))),
        Case("a vector of predictions", (np.array([1.0, 2.0, 3.0, 4.0]),
                                         np.array([1.5, 2.0, 2.0, 6.0]))),
        Case("perfect predictions (loss 0)", (np.array([0.5, -1.0]), np.array([0.5, -1.0]))),
        Case("(N, K) outputs: the mean runs over all N*K elements",
             (np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]]),
              np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]))),
    ]
    for _ in range(n_random):
        shape = _shape(rng)
        out.append(Case(f"random arrays of shape {shape}",
                        (rng.normal(0, 2, size=shape), rng.normal(0, 2, size=shape))))
    return out


def bce_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("confident and right", (np.array([0.9, 0.1]), np.array([1.0, 0.0]))),
        Case("confident and wrong", (np.array([0.1, 0.9]), np.array([1.0, 0.0]))),
        Case("p = 0.5 everywhere (loss log 2)", (np.full(3, 0.5), np.array([1.0, 0.0, 1.0]))),
        Case("p exactly 0 (clipped up to eps)", (np.array([0.0, 0.0, 0.5]),
                                                   np.array([1.0, 0.0, 1.0]))),
        Case("p exactly 1 (clipped down to 1 - eps)", (np.array([1.0, 1.0, 0.5]),
                                                      np.array([0.0, 1.0, 0.0]))),
        Case("a larger eps clips more", (np.array([0.01, 0.5, 0.97, 0.2]),
                                         np.array([1.0, 1.0, 0.0, 0.0])), {"eps": 0.05}),
        Case("(N, K) probabilities: the mean runs over all elements",
             (np.array([[0.2, 0.7], [0.6, 0.4], [0.99, 0.05]]),
              np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]))),
        Case("soft targets in [0, 1]", (np.array([0.3, 0.8]), np.array([0.25, 0.6]))),
    ]
    for _ in range(n_random):
        shape = _shape(rng)
        out.append(Case(f"random probabilities of shape {shape}",
                        (rng.uniform(0.01, 0.99, size=shape), _binary(rng, shape))))
    return out


def logits_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("z = 0 (p = 0.5)", (np.zeros(2), np.array([1.0, 0.0]))),
        Case("moderate logits", (np.array([2.0, -1.0, 0.5, -3.0]), np.array([1.0, 0.0, 0.0, 1.0]))),
        Case("large |z| (stability: no overflow, finite results)",
             (np.array([-1000.0, 1000.0, -1000.0, 1000.0, 50.0, -710.0]),
              np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0]))),
        Case("(N, K) logits: the mean runs over all elements",
             (np.array([[1.0, -2.0], [0.0, 4.0], [-0.5, 3.0]]),
              np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))),
        Case("soft targets in [0, 1]", (np.array([0.3, -2.0]), np.array([0.25, 0.6]))),
    ]
    for _ in range(n_random):
        shape = _shape(rng)
        out.append(Case(f"random logits of shape {shape}",
                        (rng.normal(0, 5, size=shape), _binary(rng, shape))))
    return out


def softmax_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("one vector", (np.array([1.0, 2.0, 3.0]),)),
        Case("rows of a square matrix (axis=-1)", (np.array([[1.0, 2.0], [0.5, -3.0]]),)),
        Case("rows of a matrix (axis=-1)", (np.array([[1.0, 0.0, -1.0], [2.0, 2.0, 2.0]]),)),
        Case("columns of a matrix (axis=0)", (np.array([[1.0, 0.0, -1.0], [2.0, 2.0, 5.0]]),),
             {"axis": 0}),
        Case("a matrix, axis=1", (np.array([[1.0, 2.0, 0.0], [0.5, -3.0, 1.0]]),), {"axis": 1}),
        Case("large logits (stability: no overflow)",
             (np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -999.0]]),)),
        Case("rows on very different scales", (np.array([[800.0, 799.0], [-800.0, -801.0]]),)),
        Case("-inf entries (masked) get probability 0",
             (np.array([[-np.inf, 0.5, -np.inf], [-np.inf, -np.inf, 2.0]]),)),
        Case("a 3-D array, axis=1", (rng.normal(0, 3, size=(2, 3, 4)),), {"axis": 1}),
    ]
    for _ in range(n_random):
        shape = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 4)))
        axis = int(rng.integers(-len(shape), len(shape)))
        out.append(Case(f"random array of shape {shape}, axis={axis}",
                        (rng.normal(0, 5, size=shape),), {"axis": axis}))
    return out


def ce_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("one row", (np.array([[2.0, 1.0, 0.1]]), np.array([0]))),
        Case("uniform logits (loss log C)", (np.zeros((3, 4)), np.array([0, 1, 3]))),
        Case("a few rows", (np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.0], [0.0, 0.0, 5.0],
                                      [2.0, 2.0, -2.0]]), np.array([2, 0, 1, 0]))),
        Case("a square batch (N = C)", (np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 2.0],
                                                  [3.0, 0.0, 1.0]]), np.array([1, 2, 2]))),
        Case("large logits (stability: no overflow, finite loss)",
             (np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]]), np.array([1, 2]))),
    ]
    for _ in range(n_random):
        N, C = int(rng.integers(1, 7)), int(rng.integers(2, 6))
        out.append(Case(f"random logits ({N}, {C})", (rng.normal(0, 3, size=(N, C)),
                                                      rng.integers(0, C, size=N))))
    return out


CASES = {"mse_loss": mse_cases, "mse_grad": mse_cases, "bce_loss": bce_cases,
         "bce_grad": bce_cases, "bce_with_logits_loss": logits_cases,
         "bce_with_logits_grad": logits_cases, "softmax": softmax_cases,
         "cross_entropy_loss": ce_cases, "cross_entropy_grad": ce_cases}


def _grad_point(name, rng):
    """A point where the loss is smooth, as (x, the loss as a function of x, other args)."""
    if name == "mse_grad":
        x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
        return x, lambda v: ref.mse_loss(v, y), (y,)
    if name == "bce_grad":
        x, y = rng.uniform(0.05, 0.95, size=(5, 2)), _binary(rng, (5, 2))
        return x, lambda v: ref.bce_loss(v, y), (y,)
    if name == "bce_with_logits_grad":
        x, y = rng.normal(0, 3, size=(5, 2)), _binary(rng, (5, 2))
        return x, lambda v: ref.bce_with_logits_loss(v, y), (y,)
    x, t = rng.normal(0, 2, size=(5, 4)), rng.integers(0, 4, size=5)
    return x, lambda v: ref.cross_entropy_loss(v, t), (t,)


def _check(name, student, seed, n_random, quiet):
    reference = getattr(ref, name)
    forbidden = [getattr(ref, n) for n in FORBIDDEN.get(name, ())]
    if name in GRAD_HINTS:
        x, loss, rest = _grad_point(name, np.random.default_rng(seed + 1))
        try:
            # numpy warnings are reported by the detailed cases below, with their inputs
            with forbid(reference, *forbidden), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                analytic = np.asarray(student(x.copy(), *rest), dtype=float)
        except (Exception, ReferenceUsed):
            analytic = None  # the detailed cases below report what went wrong
        if analytic is not None and analytic.shape == x.shape:
            hint = diagnose(MISTAKES[name], Case("", (x, *rest)), analytic) or GRAD_HINTS[name]
            check_gradient_against_numeric(
                f"{name} against finite differences of {name[:-5]}_loss", analytic,
                numerical_gradient(loss, x), hint=hint)
    return check_function(student, reference, CASES[name](seed, n_random), name=name,
                          mistakes=MISTAKES[name], forbidden=forbidden, quiet=quiet)


def check_mse_loss(student, *, seed=0, n_random=3, quiet=False):
    """Check mse_loss(y_pred, y_true) -> mean of (y_pred - y_true)^2 over every element."""
    return _check("mse_loss", student, seed, n_random, quiet)


def check_mse_grad(student, *, seed=0, n_random=3, quiet=False):
    """Check mse_grad against finite differences of mse_loss and against the reference."""
    return _check("mse_grad", student, seed, n_random, quiet)


def check_bce_loss(student, *, seed=0, n_random=3, quiet=False):
    """Check bce_loss(p, y, eps), including clipping of p = 0 and p = 1."""
    return _check("bce_loss", student, seed, n_random, quiet)


def check_bce_grad(student, *, seed=0, n_random=3, quiet=False):
    """Check bce_grad against finite differences of bce_loss and against the reference."""
    return _check("bce_grad", student, seed, n_random, quiet)


def check_bce_with_logits_loss(student, *, seed=0, n_random=3, quiet=False):
    """Check bce_with_logits_loss(z, y), including stability at |z| = 1000."""
    return _check("bce_with_logits_loss", student, seed, n_random, quiet)


def check_bce_with_logits_grad(student, *, seed=0, n_random=3, quiet=False):
    """Check bce_with_logits_grad against finite differences and the reference."""
    return _check("bce_with_logits_grad", student, seed, n_random, quiet)


def check_softmax(student, *, seed=0, n_random=3, quiet=False):
    """Check softmax(x, axis) on several axes, large inputs and -inf entries."""
    return _check("softmax", student, seed, n_random, quiet)


def check_cross_entropy_loss(student, *, seed=0, n_random=3, quiet=False):
    """Check cross_entropy_loss(logits, labels), including stability for large logits."""
    return _check("cross_entropy_loss", student, seed, n_random, quiet)


def check_cross_entropy_grad(student, *, seed=0, n_random=3, quiet=False):
    """Check cross_entropy_grad against finite differences and the reference."""
    return _check("cross_entropy_grad", student, seed, n_random, quiet)
