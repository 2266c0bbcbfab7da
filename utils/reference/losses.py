"""Loss functions and their gradients (notebook 04).

Every loss is the empirical mean J = 1/n sum_i L_i over every element (PyTorch's
``reduction="mean"``); cross-entropy averages over the N rows. Each gradient is dJ/d(input):
the 1/n of the mean is part of it. Losses return a Python float, gradients a float64 array
shaped like the input they differentiate. Inputs are never modified.

Numerics: the logit forms (``bce_with_logits_*``, ``softmax``, ``cross_entropy_*``) never
exponentiate a positive number, so they give finite results without warnings for any finite
logits (|z| of 1000 and beyond).
"""
import numpy as np

from .activations import sigmoid
from .shapes import check_shape, check_shape_of


def _pair(name_a, a, name_b, b):
    """``a`` and ``b`` as float64 arrays of one shape, else a ValueError naming both shapes.

    No broadcasting: (N,) against (N, 1) would silently become (N, N).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{name_b} has shape {b.shape}, expected the shape of "
                         f"{name_a} {a.shape}")
    return a, b


def _log_softmax(Z):
    """log softmax over the last axis of (N, C) logits: z - max - log sum_c e^{z_c - max}.

    Every exponent is <= 0 and the sum is >= 1 (the max term is e^0), so the log is finite.
    """
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _logits_labels(logits, labels):
    """Validate (N, C) float logits and (N,) integer labels in [0, C)."""
    dims = {}
    logits = check_shape("logits", logits, ("N", "C"), dims)
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    labels = check_shape_of("labels", labels, ("N",), dims)
    C = logits.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        bad = labels[(labels < 0) | (labels >= C)][0]
        raise ValueError(f"labels must lie in [0, C) = [0, {C}), got {bad}")
    return logits, labels


# --- mean squared error -------------------------------------------------------------------

def mse_loss(y_pred, y_true):
    """Mean squared error over every element.

        J = 1/n sum_i (yhat_i - y_i)^2          n = y_pred.size
        dJ/dyhat_i = 2/n (yhat_i - y_i)         (mse_grad)

    Args:
        y_pred, y_true: arrays of one shape (any).
    Returns:
        float.
    """
    y_pred, y_true = _pair("y_pred", y_pred, "y_true", y_true)
    return float(np.mean((y_pred - y_true) ** 2))


def mse_grad(y_pred, y_true):
    """dJ/dy_pred of :func:`mse_loss`: 2 (y_pred - y_true) / n, n = y_pred.size.

    Returns:
        array shaped like ``y_pred``.
    """
    y_pred, y_true = _pair("y_pred", y_pred, "y_true", y_true)
    return 2.0 * (y_pred - y_true) / y_pred.size


# --- binary cross-entropy on probabilities --------------------------------------------------

def bce_loss(p, y, eps=1e-12):
    """Binary cross-entropy of probabilities, averaged over every element.

        J = -1/n sum_i [ y_i log p_i + (1 - y_i) log(1 - p_i) ],   p clipped to [eps, 1 - eps]
        dJ/dp_i = 1/n [ -y_i / p_i + (1 - y_i) / (1 - p_i) ]      (bce_grad)

    Clipping keeps log away from log(0) = -inf when a probability is exactly 0 or 1.

    Args:
        p: predicted probabilities P(y = 1), any shape.
        y: targets of the same shape, 0 or 1 (soft targets in [0, 1] also work).
        eps: clipping margin.
    Returns:
        float.
    """
    p, y = _pair("p", p, "y", y)
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def bce_grad(p, y, eps=1e-12):
    """dJ/dp of :func:`bce_loss`: (-y / p + (1 - y) / (1 - p)) / n at the clipped p.

    The formula's derivative evaluated at clip(p, eps, 1 - eps); the clipping itself is not
    differentiated (otherwise the gradient would vanish wherever p was clipped).

    Returns:
        array shaped like ``p``.
    """
    p, y = _pair("p", p, "y", y)
    p = np.clip(p, eps, 1.0 - eps)
    return (-y / p + (1.0 - y) / (1.0 - p)) / p.size


# --- binary cross-entropy on logits -------------------------------------------------------

def bce_with_logits_loss(z, y):
    """Binary cross-entropy of p = sigmoid(z), computed from the logits z.

        J = 1/n sum_i [ log(1 + e^{z_i}) - y_i z_i ]
          = 1/n sum_i [ max(z_i, 0) + log(1 + e^{-|z_i|}) - y_i z_i ]
        dJ/dz_i = (sigmoid(z_i) - y_i) / n                          (bce_with_logits_grad)

    Substituting p = sigmoid(z) into -y log p - (1 - y) log(1 - p) gives softplus(z) - y z;
    the second line is the same softplus with e^{-|z|} <= 1, so it never overflows and
    log1p keeps precision when e^{-|z|} is tiny.

    Args:
        z: logits, any shape.  y: targets of the same shape in [0, 1].
    Returns:
        float.
    """
    z, y = _pair("z", z, "y", y)
    softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    return float(np.mean(softplus - y * z))


def bce_with_logits_grad(z, y):
    """dJ/dz of :func:`bce_with_logits_loss`: (sigmoid(z) - y) / n.

    Returns:
        array shaped like ``z``.
    """
    z, y = _pair("z", z, "y", y)
    return (sigmoid(z) - y) / z.size


# --- softmax and multi-class cross-entropy --------------------------------------------------

def softmax(x, axis=-1):
    """softmax(x)_c = e^{x_c} / sum_k e^{x_k} along ``axis``.

    Computed as e^{x_c - m} / sum_k e^{x_k - m} with m = max_k x_k: the same value (the e^{-m}
    cancels), but every exponent is <= 0 and the denominator >= 1, so nothing overflows.
    Entries of -inf get probability 0, as long as each slice has one finite entry.

    Args:
        x: array of any shape.  axis: the axis the probabilities sum to 1 along.
    Returns:
        array shaped like ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def cross_entropy_loss(logits, labels):
    """Multi-class cross-entropy, averaged over the rows.

        J = -1/N sum_n log softmax(z_n)[y_n]
          = 1/N sum_n [ log sum_c e^{z_nc} - z_{n,y_n} ]
        dJ/dz_nc = (softmax(z_n)_c - [c == y_n]) / N                (cross_entropy_grad)

    The log-sum-exp is taken with the row maximum subtracted, so any finite logits work.

    Args:
        logits: (N, C) scores.  labels: (N,) integer classes in [0, C).
    Returns:
        float.
    """
    logits, labels = _logits_labels(logits, labels)
    N = logits.shape[0]
    return float(-np.mean(_log_softmax(logits)[np.arange(N), labels]))


def cross_entropy_grad(logits, labels):
    """dJ/dlogits of :func:`cross_entropy_loss`: (softmax(logits) - onehot(labels)) / N.

    Returns:
        (N, C) array.
    """
    logits, labels = _logits_labels(logits, labels)
    N, C = logits.shape
    onehot = np.eye(C)[labels]
    return (softmax(logits, axis=1) - onehot) / N
