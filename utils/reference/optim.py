"""Initialisation, gradient descent and mini-batch SGD (notebook 05).

Parameters here are one array ``w`` of any shape (a vector, a weight matrix). Inputs are never
modified; every step builds a new array.
"""
import numbers

import numpy as np

from .shapes import check_scalar


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng is a {type(rng).__name__}, expected a numpy.random.Generator "
                         "(make one with np.random.default_rng(seed))")
    return rng


def _check_count(name, n, low):
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < low:
        raise ValueError(f"{name} is {n!r}, expected an integer >= {low}")
    return int(n)


def _check_grad(grad, w, where):
    grad = np.asarray(grad, dtype=np.float64)
    if grad.shape != w.shape:
        raise ValueError(f"{where} returned a gradient of shape {grad.shape}, expected the "
                         f"shape of w, {w.shape}")
    return grad


def init_weights(shape, sigma, rng):
    """Random initial weights drawn from N(0, sigma^2).

        w_i = sigma * e_i,   e_i ~ N(0, 1) independent    (so E w_i = 0, Var w_i = sigma^2)

    ``sigma`` is the standard deviation, not the variance. The draws come from ``rng`` alone,
    so the same generator state gives the same weights.

    Args:
        shape: int or tuple of ints, the shape of the weights, e.g. (D, H).
        sigma: scalar >= 0, the standard deviation.
        rng: a ``numpy.random.Generator`` (``np.random.default_rng(seed)``).
    Returns:
        float64 array of shape ``shape``.
    """
    sigma = check_scalar("sigma", sigma)
    if sigma < 0:
        raise ValueError(f"sigma is {sigma}, expected a standard deviation >= 0")
    return sigma * _check_rng(rng).standard_normal(shape)


def gradient_descent(grad_fn, w_init, lr, n_steps):
    """Full-batch gradient descent; returns every iterate.

        w_0 = w_init,    w_{t+1} = w_t - lr * grad_fn(w_t),    t = 0, ..., n_steps - 1

    Args:
        grad_fn: callable, w -> dJ/dw, an array shaped like w.
        w_init: array of any shape S, the starting point (not modified).
        lr: scalar learning rate (step size) eta.
        n_steps: integer >= 0, the number of updates.
    Returns:
        trajectory, float64 array of shape (n_steps + 1, *S): row t is w_t, row 0 is w_init.
    """
    w = np.array(w_init, dtype=np.float64)  # a copy: the caller's array stays as it was
    lr = check_scalar("lr", lr)
    n_steps = _check_count("n_steps", n_steps, 0)
    trajectory = np.empty((n_steps + 1, *w.shape))
    trajectory[0] = w
    for t in range(n_steps):
        # w - lr * g builds a new array, so no row of the trajectory aliases another
        w = w - lr * _check_grad(grad_fn(w), w, "grad_fn")
        trajectory[t + 1] = w
    return trajectory


def minibatch_sgd(grad_fn, w_init, X, y, lr, batch_size, n_epochs, rng):
    """Mini-batch stochastic gradient descent over shuffled epochs.

    Each epoch draws ``perm = rng.permutation(N)`` once and visits the batches
    ``perm[0:B], perm[B:2B], ...`` in order (the last one has N mod B rows when B does not
    divide N). On batch b with indices I_b:

        (loss_b, g_b) = grad_fn(w, X[I_b], y[I_b]),    w <- w - lr * g_b

    so ``loss_b`` is the batch's loss at the weights *before* its update, and

        losses[e] = (1 / n_batches) * sum_b loss_b      (unweighted mean over epoch e's batches)

    Args:
        grad_fn: callable, (w, X_batch, y_batch) -> (loss, grad) with grad shaped like w.
        w_init: array of any shape S, the starting weights (not modified).
        X: (N, ...) inputs, one example per row.
        y: (N, ...) targets, one per row of X.
        lr: scalar learning rate.
        batch_size: integer B >= 1 (B >= N means one full batch per epoch).
        n_epochs: integer >= 0.
        rng: ``numpy.random.Generator`` that draws the shuffles.
    Returns:
        (w, losses): the final weights, float64 of shape S, and losses of shape (n_epochs,).
    """
    w = np.array(w_init, dtype=np.float64)
    X = np.asarray(X)  # dtypes kept: integer inputs (token ids) and labels stay integers
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"X has shape {X.shape} and y has shape {y.shape}, expected one "
                         "row per example in both: (N, ...) and (N, ...)")
    lr = check_scalar("lr", lr)
    B = _check_count("batch_size", batch_size, 1)
    n_epochs = _check_count("n_epochs", n_epochs, 0)
    _check_rng(rng)
    N = len(X)
    losses = np.empty(n_epochs)
    for epoch in range(n_epochs):
        perm = rng.permutation(N)  # a fresh order every epoch
        batch_losses = []
        for start in range(0, N, B):
            batch = perm[start:start + B]
            loss, grad = grad_fn(w, X[batch], y[batch])
            batch_losses.append(float(loss))
            w = w - lr * _check_grad(grad, w, "grad_fn")
        losses[epoch] = np.mean(batch_losses) if batch_losses else np.nan
    return w, losses
