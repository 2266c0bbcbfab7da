"""Activation functions and their derivatives (notebook 02).

Elementwise: any shape in, the same shape out, float64. Stable for any finite z:
no overflow warnings, finite results.
"""
import numpy as np


def sigmoid(z):
    """sigma(z) = 1 / (1 + e^{-z}).

    Computed from e^{-|z|} (always in (0, 1]) so no exponent overflows:
    z >= 0: 1 / (1 + e^{-z});   z < 0: e^{z} / (1 + e^{z}).
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    """sigma'(z) = sigma(z) (1 - sigma(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """tanh(z) = (e^z - e^{-z}) / (e^z + e^{-z}) = -sign(z) m / (2 + m),  m = e^{-2|z|} - 1.

    The second form only exponentiates a non-positive number, so it cannot overflow, and
    expm1 keeps full relative precision for tiny |z| (where tanh(z) ~ z).
    """
    z = np.asarray(z, dtype=np.float64)
    m = np.expm1(-2.0 * np.abs(z))
    return -np.sign(z) * m / (2.0 + m)


def tanh_grad(z):
    """tanh'(z) = 1 - tanh(z)^2."""
    return 1.0 - tanh(z) ** 2


def relu(z):
    """relu(z) = max(0, z)."""
    z = np.asarray(z, dtype=np.float64)
    return np.maximum(z, 0.0)


def relu_grad(z):
    """relu'(z) = 1 if z > 0 else 0 (0 at z = 0, the outline's "otherwise")."""
    z = np.asarray(z, dtype=np.float64)
    return (z > 0).astype(np.float64)
