"""Attention (notebook 10): positional encodings, masks and scaled dot-product attention.

The outline's four steps, for a batch of sequences X (N, T, D):

    1. encode positions:            X + PE, PE (T, D) from positional_encoding
    2. queries, keys and values:    Q = X @ W_q,  K = X @ W_k,  V = X @ W_v
    3. attention weights:           A = softmax(Q @ K^T / sqrt(d_k))   row i: how much
                                    position i attends to each position j (rows sum to 1)
    4. extract features:            out = A @ V                        weighted mix of values

Shapes: Q (..., Tq, dk), K (..., Tk, dk), V (..., Tk, dv), any leading (batch, head) axes,
the same for all three. A boolean ``mask`` means what PyTorch's boolean ``attn_mask`` of
``F.scaled_dot_product_attention`` means: ``True`` = may attend. (Careful:
``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` take the opposite, True = blocked.)
"""
import math

import numpy as np

from .shapes import check_int, check_shape


def positional_encoding(T, d_model):
    """Sinusoidal positional encodings ("Attention is all you need").

        PE[p, 2i]     = sin(p / 10000^(2i / d_model))
        PE[p, 2i + 1] = cos(p / 10000^(2i / d_model))          the same angle as column 2i

    Each pair of columns is a sine and a cosine of one frequency, from 1 (columns 0, 1) down
    to about 1/10000, so every position gets a distinct pattern and PE[p + k] is a fixed
    rotation of PE[p] for every p. An odd ``d_model`` ends with a sine column.

    Args:
        T: number of positions (integer >= 1).  d_model: encoding size (integer >= 1).
    Returns:
        (T, d_model) float64.
    """
    T = check_int("T", T, 1)
    d_model = check_int("d_model", d_model, 1)
    two_i = np.arange(d_model) // 2 * 2  # 2i for both columns 2i and 2i + 1
    angle = np.arange(T)[:, None] / 10000.0 ** (two_i / d_model)
    PE = np.empty((T, d_model))
    PE[:, 0::2] = np.sin(angle[:, 0::2])
    PE[:, 1::2] = np.cos(angle[:, 1::2])
    return PE


def causal_mask(T):
    """The mask of a model that must not look ahead: position i may attend to j <= i.

        mask[i, j] = (j <= i)        lower triangle and diagonal True

    Args:
        T: sequence length (integer >= 1).
    Returns:
        (T, T) bool.
    """
    return np.tri(check_int("T", T, 1), dtype=bool)


def check_mask(mask, shape):
    """Validate an optional boolean mask broadcastable to ``shape`` (..., Tq, Tk)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}")
    try:
        fits = np.broadcast_shapes(mask.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"mask has shape {mask.shape}, expected a shape broadcastable to "
                         f"(..., Tq, Tk) = {shape}")
    return mask


def _check_qkv(Q, K, V, dims):
    return (check_shape("Q", Q, (..., "Tq", "dk"), dims),
            check_shape("K", K, (..., "Tk", "dk"), dims),
            check_shape("V", V, (..., "Tk", "dv"), dims))


def scaled_dot_product_attention(Q, K, V, mask=None):
    """Scaled dot-product attention (``F.scaled_dot_product_attention`` with a boolean mask).

        S = Q @ K^T / sqrt(dk)                  (..., Tq, Tk) similarity of query i and key j
        S[i, j] = -inf where mask[i, j] is False      (exp(-inf) = 0: no weight there)
        A = softmax(S) along the keys           each row sums to 1
        out = A @ V                             (..., Tq, dv)

    Dividing by sqrt(dk) keeps the scores' spread independent of dk (a dot product of dk
    unit-variance terms has variance dk), so the softmax does not saturate as dk grows. The
    softmax is ``utils.softmax``'s (max subtracted: stable for any finite scores). A row whose
    mask is False everywhere gets weights 0 and output 0, as in PyTorch, instead of 0/0.

    Args:
        Q: (..., Tq, dk) queries.  K: (..., Tk, dk) keys.  V: (..., Tk, dv) values.
        mask: optional bool array broadcastable to (..., Tq, Tk), True = may attend.
    Returns:
        (out (..., Tq, dv), weights (..., Tq, Tk)).
    """
    Q, K, V = _check_qkv(Q, K, V, {})
    mask = check_mask(mask, Q.shape[:-1] + K.shape[-2:-1])
    weights = attention_weights(Q, K, mask)
    return weights @ V, weights


def attention_weights(Q, K, mask=None):
    """softmax(Q @ K^T / sqrt(dk)) over the keys, masked; Q, K and mask already validated.

    The softmax is ``utils.softmax`` worked in place on the freshly made scores (they are
    ours to overwrite: no (..., Tq, Tk) temporaries). Masked-out scores become -inf, so
    e^(s - max) = 0 there. A row the mask blocks entirely keeps its finite scores for the
    softmax (no -inf - (-inf) = nan, no warning) and gets weights 0 afterwards.
    """
    S = Q @ K.swapaxes(-1, -2)
    S *= 1.0 / math.sqrt(Q.shape[-1])
    blocked = None
    if mask is not None:
        blocked = ~mask.any(axis=-1, keepdims=True)  # rows that may attend to nothing
        np.copyto(S, -np.inf, where=~(mask | blocked))
    S -= S.max(axis=-1, keepdims=True)
    np.exp(S, out=S)
    S /= S.sum(axis=-1, keepdims=True)
    if blocked is not None and blocked.any():
        np.copyto(S, 0.0, where=blocked)
    return S


def attention_backward(dout, Q, K, V, weights):
    """The backward pass of :func:`scaled_dot_product_attention`.

    The forward lines, each next to the backward line that reverses it:

        S = Q @ K^T / sqrt(dk)     dQ = dS @ K / sqrt(dk),   dK = dS^T @ Q / sqrt(dk)
        A = softmax(S)             dS = A * (dA - sum_j(dA * A))      (row by row, below)
        out = A @ V                dA = dout @ V^T,          dV = A^T @ dout

    The softmax line: for one row a = softmax(s), da_j/ds_k = a_j ([j == k] - a_k), so
    ds_k = sum_j da_j a_j ([j == k] - a_k) = a_k (da_k - sum_j da_j a_j).

    Works for masked attention too: a masked-out weight is 0, so its dS is 0 as well (the
    gradient of a score that was replaced by -inf).

    Args:
        dout: (..., Tq, dv) gradient of the loss with respect to ``out``.
        Q, K, V: the forward's inputs.  weights: (..., Tq, Tk) the forward's A.
    Returns:
        (dQ (..., Tq, dk), dK (..., Tk, dk), dV (..., Tk, dv)).
    """
    dims = {}
    Q, K, V = _check_qkv(Q, K, V, dims)
    weights = check_shape("weights", weights, (..., "Tq", "Tk"), dims)
    dout = check_shape("dout", dout, (..., "Tq", "dv"), dims)
    return attention_grads(dout, Q, K, V, weights)


def attention_grads(dout, Q, K, V, weights, out=(None, None, None)):
    """:func:`attention_backward` on validated inputs; ``out`` may name three arrays (or
    views) to write dQ, dK, dV into."""
    dQ, dK, dV = out
    dV = np.matmul(weights.swapaxes(-1, -2), dout, out=dV)
    dS = dout @ V.swapaxes(-1, -2)  # dA, turned into dS in place
    dS -= np.einsum("...ij,...ij->...i", dS, weights)[..., None]  # sum_j dA_ij A_ij per row
    dS *= weights
    dS *= 1.0 / math.sqrt(Q.shape[-1])
    return np.matmul(dS, K, out=dQ), np.matmul(dS.swapaxes(-1, -2), Q, out=dK), dV


def self_attention(X, W_q, W_k, W_v, mask=None):
    """Self-attention: queries, keys and values are projections of the same sequence.

        Q = X @ W_q,   K = X @ W_k,   V = X @ W_v
        (out, weights) = scaled_dot_product_attention(Q, K, V, mask)

    Args:
        X: (..., T, D) sequences (e.g. (N, T, D)).
        W_q, W_k: (D, dk) projections.  W_v: (D, dv).
        mask: optional bool, broadcastable to (..., T, T), True = may attend.
    Returns:
        (out (..., T, dv), weights (..., T, T)).
    """
    dims = {}
    X = check_shape("X", X, (..., "T", "D"), dims)
    W_q = check_shape("W_q", W_q, ("D", "dk"), dims)
    W_k = check_shape("W_k", W_k, ("D", "dk"), dims)
    W_v = check_shape("W_v", W_v, ("D", "dv"), dims)
    return scaled_dot_product_attention(project(X, W_q), project(X, W_k), project(X, W_v),
                                        mask)


def project(X, W):
    """X @ W over the last axis, as one 2-D matmul (numpy would loop over the leading axes)."""
    return (X.reshape(-1, X.shape[-1]) @ W).reshape(*X.shape[:-1], W.shape[1])
