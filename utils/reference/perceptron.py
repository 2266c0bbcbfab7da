"""The perceptron (notebook 01)."""
from .shapes import check_scalar, check_shape


def perceptron_forward(X, w, w0, g):
    """Perceptron outputs for a batch of inputs.

        y_hat = g(w0 + X @ w)

    Row n of ``X`` is one input x^(n); ``X @ w`` is the outline's ``W^T x`` for every row at once.

    Args:
        X: (N, D) inputs, one per row.
        w: (D,) weights.
        w0: scalar bias.
        g: elementwise activation, called on an (N,) array.
    Returns:
        (N,) outputs.
    """
    dims = {}
    X = check_shape("X", X, ("N", "D"), dims)
    w = check_shape("w", w, ("D",), dims)
    w0 = check_scalar("w0", w0)
    return g(w0 + X @ w)
