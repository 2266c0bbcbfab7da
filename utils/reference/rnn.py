"""The vanilla recurrent network (notebook 07), backpropagation through time and gradient
clipping (notebook 08).

Row vectors, batch first: a step's input x_t is (N, D), the hidden state h_t (N, H), a whole
sequence X (N, T, D). The outline's column-vector recurrence

    h_t = tanh(W_hh^T h_{t-1} + W_xh^T x_t),    y_t = W_hy^T h_t

is, for a batch of row vectors (plus biases),

    h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h),    y_t = h_t @ W_hy + b_y

with the same weights at every step. Every gradient ``dA`` means dJ/dA for a scalar loss J and
has the shape of ``A``.

Speed: the input's share x_t @ W_xh of every step is one (N*T, D) @ (D, H) matmul before the
loop, and the weight gradients are one matmul each over all steps after it; the loop keeps
only what the recurrence forces, one (N, H) @ (H, H) product per step. Inside, the steps are
stored time-major, (T, N, H), so that each step's slice is one contiguous block (batch-first
slices [:, t] are N rows T*H apart, which the cache handles badly); the arrays returned are
batch-first views of that memory. ``np.tanh`` is notebook 02's ``utils.tanh`` (the same
function, overflow-free for any z) at a third of the cost, which matters inside a loop.
"""
import math

import numpy as np

from .backprop import dense_backward
from .shapes import check_params, check_scalar, check_shape, check_shape_of

RNN_SPECS = {"W_xh": ("D", "H"), "W_hh": ("H", "H"), "b_h": ("H",)}
OUTPUT_SPECS = {"W_hy": ("H", "K"), "b_y": ("K",)}


def rnn_step(x_t, h_prev, params):
    """One step of the recurrence.

        h_t = tanh(x_t @ W_xh + h_prev @ W_hh + b_h)      the outline's h_t = f_W(x_t, h_{t-1})

    Args:
        x_t: (N, D) inputs at step t.  h_prev: (N, H) the previous hidden state h_{t-1}.
        params: dict with W_xh (D, H), W_hh (H, H), b_h (H,).
    Returns:
        (N, H) the new hidden state h_t.
    """
    dims = {}
    x_t = check_shape("x_t", x_t, ("N", "D"), dims)
    h_prev = check_shape("h_prev", h_prev, ("N", "H"), dims)
    W_xh, W_hh, b_h = check_params(params, RNN_SPECS, dims)
    return np.tanh(x_t @ W_xh + h_prev @ W_hh + b_h)


def rnn_forward(X, h0, params):
    """Run the RNN over whole sequences and read out every step.

        h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h)     t = 1..T, starting from h0
        y_t = h_t @ W_hy + b_y

    Args:
        X: (N, T, D) input sequences.  h0: (N, H) initial hidden state.
        params: dict with W_xh (D, H), W_hh (H, H), b_h (H,), W_hy (H, K), b_y (K,).
    Returns:
        (H_all, Y): H_all (N, T, H), the states h_1..h_T in order (H_all[:, 0] is h_1, never
        h0), and Y (N, T, K), the outputs y_1..y_T.
    """
    dims = {}
    X = check_shape("X", X, ("N", "T", "D"), dims)
    h0 = check_shape("h0", h0, ("N", "H"), dims)
    W_xh, W_hh, b_h = check_params(params, RNN_SPECS, dims)
    W_hy, b_y = check_params(params, OUTPUT_SPECS, dims)
    states = _hidden_states(X, h0, W_xh, W_hh, b_h)
    return batch_first(states[1:]), batch_first(_dense(states[1:], W_hy, b_y))


def _hidden_states(X, h0, W_xh, W_hh, b_h):
    """The recurrence on validated inputs.

    Returns the states time-major as one (T + 1, N, H) array, [h0, h_1, ..., h_T], so that
    states[:-1] (every step's h_{t-1}) and states[1:] (every h_t) are contiguous slices.
    """
    N, T, _ = X.shape
    states = np.empty((T + 1, N, W_hh.shape[0]))
    states[0] = h0
    # x_t @ W_xh + b_h for every step, written straight into the steps' slots
    np.matmul(X.swapaxes(0, 1), W_xh, out=states[1:])
    states[1:] += b_h
    for t in range(1, T + 1):
        a = states[t]
        a += states[t - 1] @ W_hh
        np.tanh(a, out=a)
    return states


def _dense(X, W, b):
    """X @ W + b over the last axis of a 3-D array, as one 2-D matmul (numpy would loop a
    3-D @ 2-D product over the first axis). X must be contiguous."""
    A, B, D = X.shape
    Z = X.reshape(A * B, D) @ W
    Z += b
    return Z.reshape(A, B, W.shape[1])


def time_major(X):
    """(N, T, ...) -> (T, N, ...) as a contiguous array (no copy if it already is one)."""
    return np.ascontiguousarray(X.swapaxes(0, 1))


def batch_first(X_tm):
    """(T, N, ...) -> (N, T, ...), a view: the course's batch-first shape, same memory."""
    return X_tm.swapaxes(0, 1)


def embed(indices, E):
    """Look up each token's vector: the row of the embedding matrix it indexes.

        out[n, t] = E[indices[n, t]]

    The same as one_hot(indices) @ E (a dense layer on one-hot inputs) without building the
    one-hot vectors; the gradient therefore adds dout[n, t] into row indices[n, t] of dE.

    Args:
        indices: (N, T) integer token ids in [0, V).  E: (V, D) embedding matrix.
    Returns:
        (N, T, D) float64, a new array.
    """
    dims = {}
    E = check_shape("E", E, ("V", "D"), dims)
    indices = check_indices("indices", indices, E.shape[0], dims)
    return E[indices]


def check_indices(name, indices, V, dims):
    """Validate (N, T) integer token ids in [0, V) (shapes bind in ``dims``)."""
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integer token ids, got dtype {indices.dtype}")
    indices = check_shape_of(name, indices, ("N", "T"), dims)
    if indices.size and (indices.min() < 0 or indices.max() >= V):
        bad = indices[(indices < 0) | (indices >= V)][0]
        raise ValueError(f"{name} must lie in [0, V) = [0, {V}), got {bad}")
    return indices


def rnn_backward(dH, X, h0, H_all, params):
    """Backpropagation through time: the gradients of the loss through every step.

    Each step t (1..T) computed, and its backward pass reverses it line by line:

        a_t = x_t @ W_xh + h_{t-1} @ W_hh + b_h   dW_xh += x_t.T @ da_t     dx_t = da_t @ W_xh.T
                                                  dW_hh += h_{t-1}.T @ da_t
                                                  db_h  += da_t.sum(0)
                                                  dh_{t-1} (from step t) = da_t @ W_hh.T
        h_t = tanh(a_t)                           da_t = dh_t * (1 - h_t^2)      (tanh' at a_t)

    where dh_t is the *total* gradient at h_t: dH_t (the path through step t's own output,
    ``dH[:, t - 1]`` in 0-based Python) plus the path through step t + 1,

        dh_t = dH_t + da_{t+1} @ W_hh.T        (no second term at t = T)

    That sum is why the loop runs backwards, from t = T down to 1; da_1 @ W_hh.T is what
    reaches h_0 (dh0). The weights are shared by the steps, so their gradients add up.

    Args:
        dH: (N, T, H) gradient of the loss with respect to each h_t through step t's own
            output only (e.g. dY[:, t] @ W_hy.T).
        X: (N, T, D) the inputs.  h0: (N, H) the initial state.
        H_all: (N, T, H) the hidden states ``rnn_forward`` returned for these inputs.
        params: dict with W_xh (D, H), W_hh (H, H), b_h (H,) (other keys are ignored).
    Returns:
        dict with W_xh (D, H), W_hh (H, H), b_h (H,), X (N, T, D), h0 (N, H).
    """
    dims = {}
    X = check_shape("X", X, ("N", "T", "D"), dims)
    h0 = check_shape("h0", h0, ("N", "H"), dims)
    H_all = check_shape("H_all", H_all, ("N", "T", "H"), dims)
    dH = check_shape("dH", dH, ("N", "T", "H"), dims)
    W_xh, W_hh, b_h = check_params(params, RNN_SPECS, dims)
    N, T, H = H_all.shape
    H_tm = time_major(H_all)  # rnn_forward's time-major memory (copied only if batch-first)

    dA = np.empty((T, N, H))  # every step's da_t, filled from t = T down
    W_hh_T = W_hh.T
    dh_next = 0.0  # nothing comes back from beyond the last step
    for t in range(T - 1, -1, -1):  # python index t holds step t + 1
        dh = dH[:, t] + dh_next  # this step's own output + what step t + 1 sent back
        h = H_tm[t]
        np.multiply(dh, 1.0 - h * h, out=dA[t])  # tanh'(a_t) = 1 - h_t^2
        dh_next = dA[t] @ W_hh_T
    dh0 = dh_next

    dA_flat = dA.reshape(T * N, H)
    dX, dW_xh, db_h = dense_backward(dA_flat, time_major(X).reshape(T * N, -1), W_xh)
    # sum_t h_{t-1}.T @ da_t: h0 pairs with da_1, h_1..h_{T-1} with da_2..da_T
    dW_hh = h0.T @ dA[0] + H_tm[:-1].reshape(-1, H).T @ dA[1:].reshape(-1, H)
    return {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h,
            "X": batch_first(dX.reshape(T, N, -1)), "h0": dh0}


def clip_by_global_norm(grads, max_norm):
    """Rescale a set of gradients so that their joint L2 norm is at most ``max_norm``.

        norm = sqrt( sum over every array g, every entry: g^2 )
        clipped[k] = grads[k] * max_norm / norm    if norm > max_norm,   else grads[k]

    One factor for every array keeps the update's direction and only shortens it: the cure
    for exploding gradients in backpropagation through time.

    Args:
        grads: dict name -> array (any shapes); not modified.
        max_norm: scalar > 0.
    Returns:
        (clipped, norm): a new dict with the same keys holding new float64 arrays, and the
        float global norm before clipping.
    """
    if not isinstance(grads, dict):
        raise ValueError(f"grads is a {type(grads).__name__}, expected a dict of arrays")
    max_norm = check_scalar("max_norm", max_norm)
    if not max_norm > 0:
        raise ValueError(f"max_norm is {max_norm}, expected a number > 0")
    arrays = {k: np.asarray(g, dtype=np.float64) for k, g in grads.items()}
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in arrays.values()))
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in arrays.items()}, norm
