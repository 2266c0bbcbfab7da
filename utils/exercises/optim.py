"""Checks for notebook 05: initialisation, gradient descent and mini-batch SGD.

``init_weights`` and ``minibatch_sgd`` take a random generator. Every call (the student's, the
reference's, each mistake's) gets its own copy of the case's generator in the same state, so
their results are comparable draw for draw. Before the cases run, a probe calls the student's
function twice with identical generators: a function that never draws from ``rng``, or that
gives two different answers, uses some other source of randomness (``np.random``), and the
failure message says so.
"""
import copy
import warnings

import numpy as np

from ..reference import optim as ref
from ..reference.activations import sigmoid
from .checking import (Case, ExerciseFailure, Mistake, ReferenceUsed, check_function,
                        difference, forbid)


class SeededRng(np.random.Generator):
    """A ``numpy.random.Generator`` that remembers its seed.

    The check engine compares every argument before and after the student's call to catch
    in-place changes; drawing from ``rng`` is expected to change its state, so two of these
    compare equal when they were made from the same seed. Deep copies keep the state.
    """

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))
        self.seed = seed

    def __deepcopy__(self, memo):
        twin = SeededRng(self.seed)
        twin.bit_generator.state = self.bit_generator.state
        return twin

    def __eq__(self, other):
        return isinstance(other, SeededRng) and other.seed == self.seed

    __hash__ = object.__hash__

    def __repr__(self):
        return f"np.random.default_rng({self.seed})"


# --- the probe: is the given rng the only source of randomness? -----------------------------

NO_DRAW = ("your function never drew from the generator it was given: take every random "
           "number from the argument `rng` ({how}), not from np.random or a generator you "
           "make yourself, so that the same rng gives the same result.")
TWO_ANSWERS = ("two calls with identical generators gave different results, so your function "
               "uses randomness besides `rng` (np.random.* or a new default_rng()); draw "
               "everything from `rng` ({how}).")


def _rng_probe(student, reference, case, rng_index, how):
    """A hint when ``student`` ignores ``case.args[rng_index]`` or uses other randomness."""
    results, drew = [], []
    for _ in range(2):
        args = copy.deepcopy(case.args)
        before = args[rng_index].bit_generator.state
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"), forbid(reference):
                warnings.simplefilter("ignore")
                results.append(student(*args))
        except (Exception, ReferenceUsed):
            return None  # the cases report errors with their full context
        drew.append(args[rng_index].bit_generator.state != before)
    if not drew[0]:
        return NO_DRAW.format(how=how)
    try:
        same = difference(results[0], results[1], 0, 0) is None
    except Exception:
        return None
    return None if same else TWO_ANSWERS.format(how=how)


def _check_with_probe(student, reference, cases, mistakes, rng_index, how, quiet):
    """check_function, with the probe's hint added to a failure no mistake explains."""
    hint = _rng_probe(student, reference, cases[0], rng_index, how)
    try:
        return check_function(student, reference, cases, mistakes=mistakes, quiet=quiet)
    except ExerciseFailure as failure:
        message = str(failure)
        if hint and "likely mistake" not in message and "\n" in message:
            raise ExerciseFailure(f"{message}\n  likely mistake: {hint}") from None
        raise


# --- init_weights ----------------------------------------------------------------------------

INIT_MISTAKES = [
    Mistake("sigma is the standard deviation: multiply the standard normal draws by sigma, "
            "not by the variance sigma**2 (rng.normal(0, sigma, ...) also works).",
            lambda shape, sigma, rng: sigma ** 2 * rng.standard_normal(shape)),
    Mistake("scale by sigma itself, not by sqrt(sigma): sigma is already the standard "
            "deviation.", lambda shape, sigma, rng: np.sqrt(sigma) * rng.standard_normal(shape)),
    Mistake("the draws are not scaled: multiply rng.standard_normal(shape) by sigma.",
            lambda shape, sigma, rng: rng.standard_normal(shape)),
    Mistake("the scale is divided, not multiplied: w = sigma * rng.standard_normal(shape).",
            lambda shape, sigma, rng: rng.standard_normal(shape) / sigma),
    Mistake("rng.random draws uniformly from [0, 1); N(0, sigma^2) needs "
            "rng.standard_normal(shape).", lambda shape, sigma, rng: sigma * rng.random(shape)),
    Mistake("rng.normal(loc, scale, size) takes the mean first: use rng.normal(0, sigma, "
            "shape) (mean 0, standard deviation sigma).",
            lambda shape, sigma, rng: rng.normal(sigma, 1.0, shape)),
]


def init_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("shape (3,), sigma = 1", ((3,), 1.0, SeededRng(seed + 1))),
        Case("shape (2, 3), sigma = 0.1", ((2, 3), 0.1, SeededRng(seed + 2))),
        Case("an int shape (4), sigma = 2.5", (4, 2.5, SeededRng(seed + 3))),
        Case("shape (4, 3, 2), sigma = 0.01", ((4, 3, 2), 0.01, SeededRng(seed + 4))),
        Case("sigma = 0 gives zeros", ((2, 2), 0.0, SeededRng(seed + 5))),
    ]
    for i in range(n_random):
        shape = tuple(int(s) for s in rng.integers(1, 6, size=rng.integers(1, 4)))
        sigma = float(rng.uniform(0.05, 3.0))
        out.append(Case(f"random shape {shape}, sigma = {sigma:.3f}",
                        (shape, sigma, SeededRng(seed + 100 + i))))
    return out


def check_init_weights(student, *, seed=0, n_random=3, quiet=False):
    """Check init_weights(shape, sigma, rng) -> sigma * rng.standard_normal(shape)."""
    cases = init_cases(seed, n_random)
    return _check_with_probe(student, ref.init_weights, cases, INIT_MISTAKES, 2,
                             "rng.standard_normal(shape)", quiet)


# --- gradient_descent ------------------------------------------------------------------------

def quadratic_grad(A, b):
    """grad_fn of J(w) = 1/2 w^T A w - b^T w (A symmetric): dJ/dw = A @ w - b.

    ``w`` may be a vector (D,) or a matrix (D, K) with ``b`` of the same shape.
    """
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)

    def grad_fn(w):
        return A @ w - b

    grad_fn.__name__ = f"quadratic_grad(A {A.shape}, b {b.shape})"
    return grad_fn


def tanh_grad_fn(c):
    """A nonlinear grad_fn, w -> tanh(w - c) (the gradient of sum log cosh(w - c))."""
    c = np.asarray(c, dtype=np.float64)

    def grad_fn(w):
        return np.tanh(w - c)

    grad_fn.__name__ = "tanh(w - c)"
    return grad_fn


def _gd(grad_fn, w_init, lr, n_steps, sign=-1.0, frozen_grad=False):
    w = np.array(w_init, dtype=np.float64)
    g0 = np.asarray(grad_fn(w))
    rows = [w]
    for _ in range(n_steps):
        w = w + sign * lr * (g0 if frozen_grad else np.asarray(grad_fn(w)))
        rows.append(w)
    return np.array(rows)


def _aliased(grad_fn, w_init, lr, n_steps, keep_first):
    traj = _gd(grad_fn, w_init, lr, n_steps)
    out = np.repeat(traj[-1:], n_steps + 1, axis=0)
    if keep_first:
        out[0] = traj[0]
    return out


ALIAS_HINT = ("the rows of your trajectory are all the final w: they are one array stored "
              "again and again. `w -= lr * g` changes that array in place; write "
              "`w = w - lr * g` (a new array each step) or store `w.copy()`.")

GD_MISTAKES = [
    Mistake("the step goes uphill: descent subtracts the gradient, w <- w - lr * grad_fn(w).",
            lambda f, w, lr, n: _gd(f, w, lr, n, sign=+1.0)),
    Mistake("the first row must be w_init itself: return n_steps + 1 rows, w_0 = w_init "
            "then one row after each update.", lambda f, w, lr, n: _gd(f, w, lr, n)[1:]),
    Mistake("the last update is missing: n_steps updates give n_steps + 1 rows "
            "(w_init included).", lambda f, w, lr, n: _gd(f, w, lr, n)[:-1]),
    Mistake("the loop runs one update too many: n_steps updates give n_steps + 1 rows.",
            lambda f, w, lr, n: _gd(f, w, lr, n + 1)),
    Mistake("return the whole trajectory (n_steps + 1 rows), not only the final weights.",
            lambda f, w, lr, n: _gd(f, w, lr, n)[-1]),
    Mistake(ALIAS_HINT, lambda f, w, lr, n: _aliased(f, w, lr, n, keep_first=False)),
    Mistake(ALIAS_HINT, lambda f, w, lr, n: _aliased(f, w, lr, n, keep_first=True)),
    Mistake("the learning rate is missing: the step is lr * grad_fn(w).",
            lambda f, w, lr, n: _gd(f, w, 1.0, n)),
    Mistake("the gradient must be evaluated at the current w on every step, "
            "grad_fn(w_t), not once at w_init.",
            lambda f, w, lr, n: _gd(f, w, lr, n, frozen_grad=True)),
]


def _spd(rng, D, low=0.5, high=3.0):
    """A random symmetric positive definite (D, D) matrix with eigenvalues in [low, high]."""
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    return (Q * rng.uniform(low, high, size=D)) @ Q.T


def gd_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    A2 = np.array([[2.0, 0.5], [0.5, 1.0]])
    out = [
        Case("one step on the bowl 1/2 w^T A w, A = diag(1, 4)",
             (quadratic_grad(np.diag([1.0, 4.0]), np.zeros(2)), np.array([1.0, 1.0]), 0.1, 1)),
        Case("ten steps on a tilted quadratic (b != 0)",
             (quadratic_grad(A2, np.array([1.0, -1.0])), np.array([2.0, -3.0]), 0.3, 10)),
        Case("n_steps = 0: the trajectory is just w_init",
             (quadratic_grad(A2, np.zeros(2)), np.array([0.5, 0.25]), 0.1, 0)),
        Case("a weight matrix w (3, 2)",
             (quadratic_grad(_spd(rng, 3), rng.standard_normal((3, 2))),
              rng.standard_normal((3, 2)), 0.2, 5)),
        Case("a nonlinear gradient tanh(w - c)",
             (tanh_grad_fn(np.array([1.0, -2.0, 0.5])), np.array([3.0, 0.0, -1.0]), 0.5, 8)),
        Case("lr above 2/L: the iterates grow (that is the right answer here)",
             (quadratic_grad(np.diag([1.0, 3.0]), np.zeros(2)), np.array([1.0, 1.0]), 1.0, 6)),
    ]
    for _ in range(n_random):
        D = int(rng.integers(1, 6))
        n_steps = int(rng.integers(1, 15))
        lr = float(rng.uniform(0.05, 0.6))
        out.append(Case(f"random quadratic, D = {D}, lr = {lr:.3f}, n_steps = {n_steps}",
                        (quadratic_grad(_spd(rng, D), rng.standard_normal(D)),
                         rng.standard_normal(D), lr, n_steps)))
    return out


def check_gradient_descent(student, *, seed=0, n_random=3, quiet=False):
    """Check gradient_descent(grad_fn, w_init, lr, n_steps) -> trajectory (n_steps + 1, ...)."""
    return check_function(student, ref.gradient_descent, gd_cases(seed, n_random),
                          mistakes=GD_MISTAKES, quiet=quiet)


# --- minibatch_sgd ---------------------------------------------------------------------------

def mse_batch(w, X, y):
    """(loss, grad) of the mean squared error of the linear model X @ w against y."""
    r = X @ w - y
    return float(np.mean(r ** 2)), 2.0 * X.T @ r / r.size


def logistic_batch(w, X, y):
    """(loss, grad) of the mean binary cross-entropy of sigmoid(X @ w) against 0/1 labels y."""
    z = X @ w
    return float(np.mean(np.logaddexp(0.0, z) - y * z)), X.T @ (sigmoid(z) - y) / len(y)


def softmax_batch(W, X, y):
    """(loss, grad) of the mean cross-entropy of softmax(X @ W) against integer labels y."""
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    P = np.exp(log_p)
    P[rows, y] -= 1.0
    return float(-np.mean(log_p[rows, y])), X.T @ P / len(y)


def _sgd(grad_fn, w_init, X, y, lr, B, n_epochs, rng, *, order="every", drop_last=False,
         record="mean", sign=-1.0, two_perms=False):
    """minibatch_sgd with one thing changed: the mistakes students make."""
    w = np.array(w_init, dtype=np.float64)
    X, y = np.asarray(X), np.asarray(y)
    N = len(X)
    losses = []
    once = rng.permutation(N) if order == "once" else None
    for _ in range(n_epochs):
        if order == "every":
            perm = rng.permutation(N)
        elif order == "choice":
            perm = rng.choice(N, N, replace=False)
        elif order == "none":
            perm = np.arange(N)
        else:
            perm = once
        perm_y = rng.permutation(N) if two_perms else perm
        starts = range(0, N - N % B if drop_last else N, B)
        batch_losses, sizes = [], []
        for start in starts:
            loss, grad = grad_fn(w, X[perm[start:start + B]], y[perm_y[start:start + B]])
            w_new = w + sign * lr * grad
            if record == "after":
                loss = grad_fn(w_new, X[perm[start:start + B]], y[perm_y[start:start + B]])[0]
            batch_losses.append(loss)
            sizes.append(len(perm[start:start + B]))
            w = w_new
        if record in ("mean", "after"):
            losses.append(np.mean(batch_losses))
        elif record == "weighted":
            losses.append(np.dot(batch_losses, sizes) / np.sum(sizes))
        elif record == "sum":
            losses.append(np.sum(batch_losses))
        elif record == "last":
            losses.append(batch_losses[-1])
        elif record == "full_after":
            losses.append(grad_fn(w, X, y)[0])
    return w, np.array(losses, dtype=np.float64)


def _full_before(grad_fn, w_init, X, y, lr, B, n_epochs, rng):
    """Losses recorded as the full-data loss at the start of each epoch."""
    w = np.array(w_init, dtype=np.float64)
    losses = []
    for _ in range(n_epochs):
        losses.append(grad_fn(w, np.asarray(X), np.asarray(y))[0])
        w, _ = _sgd(grad_fn, w, X, y, lr, B, 1, rng)
    return w, np.array(losses, dtype=np.float64)


def _swapped(*args):
    w, losses = _sgd(*args)
    return losses, w


def _sgd_mistake(hint, **how):
    return Mistake(hint, lambda *args: _sgd(*args, **how))


SGD_MISTAKES = [
    _sgd_mistake("the step goes uphill: descent subtracts the gradient, w <- w - lr * grad.",
                 sign=+1.0),
    _sgd_mistake("the data are shuffled once, before the first epoch: draw a new "
                 "perm = rng.permutation(N) at the start of every epoch.", order="once"),
    _sgd_mistake("the data are not shuffled: each epoch starts with perm = rng.permutation(N) "
                 "and takes the batches perm[0:B], perm[B:2B], ...", order="none"),
    _sgd_mistake("the order must come from rng.permutation(N); rng.choice(N, N, "
                 "replace=False) draws a different order from the same generator.",
                 order="choice"),
    _sgd_mistake("X and y are shuffled with two different permutations, so rows no longer "
                 "match their targets: index both with the same perm.", two_perms=True),
    _sgd_mistake("the last, smaller batch is dropped: when B does not divide N the final "
                 "batch perm[k*B:N] still counts (range(0, N, B) visits it).", drop_last=True),
    _sgd_mistake("losses[e] is the plain mean of the epoch's batch losses, not weighted by "
                 "batch size: np.mean(batch_losses).", record="weighted"),
    _sgd_mistake("losses[e] is the mean of the epoch's batch losses, not their sum.",
                 record="sum"),
    _sgd_mistake("losses[e] averages all of the epoch's batch losses, not only the last "
                 "batch's.", record="last"),
    _sgd_mistake("record the loss grad_fn returns for each batch (at w before that batch's "
                 "update) and average those; do not recompute the loss on the full data after "
                 "the epoch.", record="full_after"),
    Mistake("record the loss grad_fn returns for each batch and average those; do not "
            "compute the loss on the full data before the epoch.", _full_before),
    _sgd_mistake("the batch loss to record is the one grad_fn returns with the gradient "
                 "(at w before the update), not a second evaluation after the update.",
                 record="after"),
    Mistake("return the pair in the order (w, losses).", _swapped),
]


def _regression(rng, N, D, K=None, noise=0.1):
    X = rng.standard_normal((N, D))
    w = rng.standard_normal((D,) if K is None else (D, K))
    y = X @ w + noise * rng.standard_normal((N,) if K is None else (N, K))
    return X, y


def sgd_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    X6, y6 = _regression(rng, 6, 2)
    X7, y7 = _regression(rng, 7, 3)
    X10, y10 = _regression(rng, 10, 2)
    Xm, ym = _regression(rng, 9, 3, K=2)
    Xl = rng.standard_normal((11, 2))
    yl = (Xl @ np.array([1.5, -1.0]) + 0.3 * rng.standard_normal(11) > 0).astype(np.float64)
    Xs = rng.standard_normal((10, 3))
    ys = rng.integers(0, 3, size=10)
    s = seed * 1000
    out = [
        Case("N = 6, B = 2, one epoch (three equal batches)",
             (mse_batch, np.zeros(2), X6, y6, 0.1, 2, 1, SeededRng(s + 1))),
        Case("N = 7, B = 3: the last batch has one row",
             (mse_batch, np.zeros(3), X7, y7, 0.1, 3, 2, SeededRng(s + 2))),
        Case("three epochs, each with its own shuffle (N = 10, B = 4)",
             (mse_batch, np.array([1.0, -1.0]), X10, y10, 0.05, 4, 3, SeededRng(s + 3))),
        Case("B = N: one full batch per epoch",
             (mse_batch, np.zeros(2), X6, y6, 0.1, 6, 3, SeededRng(s + 4))),
        Case("B = 1: one example per update",
             (mse_batch, np.zeros(3), X7, y7, 0.05, 1, 2, SeededRng(s + 5))),
        Case("B > N: one batch of all rows",
             (mse_batch, np.zeros(2), X6, y6, 0.1, 50, 2, SeededRng(s + 6))),
        Case("n_epochs = 0: w_init back and no losses",
             (mse_batch, np.array([0.5, 0.5]), X6, y6, 0.1, 2, 0, SeededRng(s + 7))),
        Case("a weight matrix W (3, 2) with targets y (N, 2)",
             (mse_batch, np.zeros((3, 2)), Xm, ym, 0.1, 4, 2, SeededRng(s + 8))),
        Case("logistic regression with 0/1 labels",
             (logistic_batch, np.zeros(2), Xl, yl, 0.5, 3, 3, SeededRng(s + 9))),
        Case("softmax regression with integer labels y (N,)",
             (softmax_batch, np.zeros((3, 3)), Xs, ys, 0.5, 4, 2, SeededRng(s + 10))),
    ]
    for i in range(n_random):
        N, D = int(rng.integers(3, 25)), int(rng.integers(1, 5))
        B, n_epochs = int(rng.integers(1, N + 3)), int(rng.integers(1, 5))
        lr = float(rng.uniform(0.01, 0.2))
        X, y = _regression(rng, N, D)
        out.append(Case(f"random regression N = {N}, D = {D}, B = {B}, {n_epochs} epochs",
                        (mse_batch, rng.standard_normal(D), X, y, lr, B, n_epochs,
                         SeededRng(s + 100 + i))))
    return out


def check_minibatch_sgd(student, *, seed=0, n_random=3, quiet=False):
    """Check minibatch_sgd(grad_fn, w_init, X, y, lr, batch_size, n_epochs, rng) -> (w, losses)."""
    cases = sgd_cases(seed, n_random)
    return _check_with_probe(student, ref.minibatch_sgd, cases, SGD_MISTAKES, 7,
                             "perm = rng.permutation(N) at the start of every epoch", quiet)
