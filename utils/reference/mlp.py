"""Dense layers and the two-layer perceptron (notebook 03)."""
from .shapes import check_keys, check_shape

MLP_KEYS = ("W1", "b1", "W2", "b2")


def dense_forward(X, W, b):
    """A dense (fully connected) layer: Z = X @ W + b.

    Element-wise, z_nj = sum_i x_ni w_ij + b_j: the outline's z_j = sum_i x_i w_ij + w_0j
    for every row n at once (b_j is the bias w_0j).

    Args:
        X: (N, D) inputs.  W: (D, H) weights.  b: (H,) biases.
    Returns:
        (N, H) pre-activations.
    """
    dims = {}
    X = check_shape("X", X, ("N", "D"), dims)
    W = check_shape("W", W, ("D", "H"), dims)
    b = check_shape("b", b, ("H",), dims)
    return X @ W + b


def mlp_forward(X, params, g):
    """A two-layer perceptron with a linear output layer.

        Y = g(X @ W1 + b1) @ W2 + b2        y_k = sum_j g(z_j) w_jk + w_0k

    Args:
        X: (N, D) inputs.
        params: dict with W1 (D, H), b1 (H,), W2 (H, K), b2 (K,).
        g: elementwise hidden activation.
    Returns:
        (N, K) outputs.
    """
    X, W1, b1, W2, b2 = check_mlp_inputs(X, params)
    return g(X @ W1 + b1) @ W2 + b2


def check_mlp_inputs(X, params, dims=None):
    """Validate ``X (N, D)`` and the two-layer ``params``; return them as float64 arrays.

    ``dims`` (a dict) receives the sizes N, D, H, K for further checks (e.g. targets y).
    """
    check_keys("params", params, MLP_KEYS)
    dims = {} if dims is None else dims
    return (check_shape("X", X, ("N", "D"), dims),
            check_shape("params['W1']", params["W1"], ("D", "H"), dims),
            check_shape("params['b1']", params["b1"], ("H",), dims),
            check_shape("params['W2']", params["W2"], ("H", "K"), dims),
            check_shape("params['b2']", params["b2"], ("K",), dims))
