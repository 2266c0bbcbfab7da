"""Backpropagation through a dense layer and the two-layer perceptron (notebook 06).

Row-vector convention: a batch X (N, D) goes through Z = X @ W + b with W (D, H). Every
gradient ``dA`` below means dJ/dA for the scalar loss J and has the shape of ``A``.
"""
import numpy as np

from .activations import relu, relu_grad, sigmoid, sigmoid_grad, tanh, tanh_grad
from .mlp import check_mlp_inputs
from .shapes import check_shape

# name -> (g, g'): the hidden activations mlp_loss_and_grads accepts
ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
}


def activation_pair(activation):
    """``(g, g')`` for an activation's name; ValueError naming the valid ones otherwise."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation is {activation!r}, expected one of {list(ACTIVATIONS)}")
    return ACTIVATIONS[activation]


def dense_backward(dZ, X, W):
    """The backward pass of a dense layer Z = X @ W + b.

    Forward (notebook 03):   Z = X @ W + b          z_nj = sum_i x_ni w_ij + b_j
    Backward, given dZ = dJ/dZ, by the chain rule through that sum:

        dX = dZ @ W.T     (N, D) = (N, H) @ (H, D)   dJ/dx_ni = sum_j dJ/dz_nj * w_ij
        dW = X.T @ dZ     (D, H) = (D, N) @ (N, H)   dJ/dw_ij = sum_n x_ni * dJ/dz_nj
        db = dZ.sum(0)    (H,)                       dJ/db_j  = sum_n dJ/dz_nj

    W and b are shared by every row n, so their gradients add up the rows' contributions
    (a sum, not a mean: any averaging already happened in the loss, hence in dZ).

    Args:
        dZ: (N, H) gradient of the loss with respect to the layer's output Z.
        X: (N, D) the layer's input.  W: (D, H) its weights.
    Returns:
        (dX (N, D), dW (D, H), db (H,)).
    """
    dims = {}
    X = check_shape("X", X, ("N", "D"), dims)
    W = check_shape("W", W, ("D", "H"), dims)
    dZ = check_shape("dZ", dZ, ("N", "H"), dims)
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)


def mlp_loss_and_grads(X, y, params, activation):
    """MSE loss of the two-layer perceptron and its gradient with respect to every parameter.

    Forward (notebook 03), then backward line by line in reverse, each by the chain rule:

        Z1 = X @ W1 + b1       (N, H)   dW1, db1 = X.T @ dZ1, dZ1.sum(0)   (dense_backward)
        A  = g(Z1)             (N, H)   dZ1 = dA * g'(Z1)      elementwise, at Z1 (not A)
        Y  = A @ W2 + b2       (N, K)   dA = dY @ W2.T,  dW2 = A.T @ dY,  db2 = dY.sum(0)
        J  = mean((Y - y)^2)   scalar   dY = 2 (Y - y) / (N K)   (mean over all N*K entries)

    Args:
        X: (N, D) inputs.  y: (N, K) targets.
        params: dict with W1 (D, H), b1 (H,), W2 (H, K), b2 (K,).
        activation: "sigmoid", "tanh" or "relu" (the hidden layer's g).
    Returns:
        (loss, grads): the float J and a dict with the keys of ``params``, each gradient
        shaped like its parameter.
    """
    g, g_grad = activation_pair(activation)
    dims = {}
    X, W1, b1, W2, b2 = check_mlp_inputs(X, params, dims)
    y = check_shape("y", y, ("N", "K"), dims)

    Z1 = X @ W1 + b1
    A = g(Z1)
    Y = A @ W2 + b2
    loss = float(np.mean((Y - y) ** 2))

    dY = 2.0 * (Y - y) / y.size
    dA, dW2, db2 = dense_backward(dY, A, W2)
    dZ1 = dA * g_grad(Z1)
    _, dW1, db1 = dense_backward(dZ1, X, W1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
