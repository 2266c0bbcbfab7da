"""Gated recurrent cells: the LSTM and the GRU (notebook 09).

The equations and the gate order are PyTorch's ``nn.LSTMCell`` and ``nn.GRUCell``, in the
course's row-vector form (``x @ W`` is PyTorch's ``W x``; PyTorch's ``weight_ih`` is ``W_x.T``).

LSTM, gates in column blocks i, f, g, o of W_x (D, 4H), W_h (H, 4H), b (4H,):

    z = x_t @ W_x + h_{t-1} @ W_h + b                  (N, 4H), blocks z_i, z_f, z_g, z_o
    i = sigma(z_i)   input gate: how much of the candidate to write
    f = sigma(z_f)   forget gate: how much of the old cell state to keep
    g = tanh(z_g)    candidate values
    o = sigma(z_o)   output gate: how much of the cell to show
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

The cell state c_t is updated by a product with f and a sum, not by a matrix and a squashing
function, so its gradient through many steps is multiplied only by the forget gates: the gates
are how the LSTM keeps the long-term dependencies a vanilla RNN's gradient loses.

GRU, blocks r, z, n of W_x (D, 3H), W_h (H, 3H), b_x, b_h (3H,):

    r = sigma(x W_xr + b_xr + h W_hr + b_hr)      reset gate
    z = sigma(x W_xz + b_xz + h W_hz + b_hz)      update gate
    n = tanh(x W_xn + b_xn + r * (h W_hn + b_hn)) candidate
    h_t = (1 - z) * n + z * h_{t-1}

Speed, as in ``utils.reference.rnn``: the inputs' share of every step's pre-activations is one matmul
before the loop, the weight gradients one matmul each after it. The logistic sigmoid of
notebook 02 is computed as sigma(z) = (1 + tanh(z / 2)) / 2, the same function, which lets one
``np.tanh`` call (overflow-free for any z) produce all four gates of a step at once.
"""
import numpy as np

from .backprop import dense_backward
from .rnn import batch_first, time_major
from .shapes import check_params, check_shape

LSTM_SPECS = {"W_x": ("D", "4H"), "W_h": ("H", "4H"), "b": ("4H",)}
GRU_SPECS = {"W_x": ("D", "3H"), "W_h": ("H", "3H"), "b_x": ("3H",), "b_h": ("3H",)}


def _sigmoid(z):
    """sigma(z) = 1 / (1 + e^{-z}) = (1 + tanh(z / 2)) / 2: no exponent to overflow."""
    s = np.multiply(z, 0.5)
    np.tanh(s, out=s)
    s *= 0.5
    s += 0.5
    return s


def _gate_scales(H):
    """Per-column (scale, shift) that turn tanh into the four gate nonlinearities at once.

    sigma(z) = 0.5 * tanh(0.5 * z) + 0.5 on the blocks i, f, o, and tanh(z) = 1 * tanh(1 * z)
    + 0 on g, so ``tanh(z * scale) * scale + shift`` is [sigma(z_i), sigma(z_f), tanh(z_g),
    sigma(z_o)].
    """
    scale = np.full(4 * H, 0.5)
    scale[2 * H:3 * H] = 1.0
    return scale, 0.5 * (scale == 0.5)


def _activate(z, scale, shift):
    """Turn a step's pre-activations z (N, 4H) into its gates [i, f, g, o], in place."""
    z *= scale
    np.tanh(z, out=z)
    z *= scale
    z += shift
    return z


def lstm_step(x_t, h_prev, c_prev, params):
    """One LSTM step (``nn.LSTMCell``).

        z = x_t @ W_x + h_prev @ W_h + b            blocks i, f, g, o of H columns each
        i, f, o = sigma(z_i), sigma(z_f), sigma(z_o);   g = tanh(z_g)
        c_t = f * c_prev + i * g
        h_t = o * tanh(c_t)

    Args:
        x_t: (N, D) inputs.  h_prev: (N, H) previous hidden state.  c_prev: (N, H) previous
        cell state.
        params: dict with W_x (D, 4H), W_h (H, 4H), b (4H,).
    Returns:
        (h_t (N, H), c_t (N, H)).
    """
    dims = {}
    x_t = check_shape("x_t", x_t, ("N", "D"), dims)
    h_prev = check_shape("h_prev", h_prev, ("N", "H"), dims)
    c_prev = check_shape("c_prev", c_prev, ("N", "H"), dims)
    W_x, W_h, b = check_params(params, LSTM_SPECS, dims)
    H = h_prev.shape[1]
    i, f, g, o = _split(_activate(x_t @ W_x + h_prev @ W_h + b, *_gate_scales(H)), H)
    c_t = f * c_prev + i * g
    return o * np.tanh(c_t), c_t


def lstm_forward(X, h0, c0, params):
    """Run an LSTM over whole sequences: :func:`lstm_step` for t = 1..T, the same weights.

    Args:
        X: (N, T, D) input sequences.  h0, c0: (N, H) initial hidden and cell states.
        params: dict with W_x (D, 4H), W_h (H, 4H), b (4H,).
    Returns:
        H_all (N, T, H): the hidden states h_1..h_T in order (H_all[:, 0] is h_1).
    """
    X, h0, c0, W_x, W_h, b = _check_lstm(X, h0, c0, params)
    return batch_first(_lstm_forward(time_major(X), h0, c0, W_x, W_h, b)[0][1:])


def lstm_states(X, h0, c0, params):
    """:func:`lstm_forward` that also returns the last cell state, to carry both states on to
    the next batch (truncated backpropagation through time, notebook 12).

    Returns:
        (H_all (N, T, H), h_T (N, H), c_T (N, H)).
    """
    X, h0, c0, W_x, W_h, b = _check_lstm(X, h0, c0, params)
    hs, cs, _ = _lstm_forward(time_major(X), h0, c0, W_x, W_h, b)
    return batch_first(hs[1:]), hs[-1].copy(), cs[-1].copy()


def _check_lstm(X, h0, c0, params, dims=None):
    dims = {} if dims is None else dims
    X = check_shape("X", X, ("N", "T", "D"), dims)
    h0 = check_shape("h0", h0, ("N", "H"), dims)
    c0 = check_shape("c0", c0, ("N", "H"), dims)
    return (X, h0, c0, *check_params(params, LSTM_SPECS, dims))


def _lstm_forward(X_tm, h0, c0, W_x, W_h, b):
    """The recurrence on validated inputs, time-major (see ``utils.reference.rnn``): X_tm is (T, N, D).

    Returns (hs, cs, gates): hs = [h0, h_1, ..., h_T] and cs = [c0, c_1, ..., c_T] as
    (T + 1, N, H) arrays, and every step's gates [i, f, g, o] as (T, N, 4H), for the backward.
    """
    T, N, D = X_tm.shape
    H = h0.shape[1]
    scale, shift = _gate_scales(H)
    # x_t @ W_x + b for every step in one matmul; the loop adds h_{t-1} @ W_h
    gates = (X_tm.reshape(T * N, D) @ W_x).reshape(T, N, 4 * H)
    gates += b
    hs, cs = np.empty((T + 1, N, H)), np.empty((T + 1, N, H))
    hs[0], cs[0] = h0, c0
    for t in range(T):
        z = gates[t]
        z += hs[t] @ W_h
        i, f, g, o = _split(_activate(z, scale, shift), H)
        c = np.multiply(f, cs[t], out=cs[t + 1])
        c += i * g
        np.multiply(o, np.tanh(c), out=hs[t + 1])
    return hs, cs, gates


def _split(gates, H):
    """The four H-wide column blocks [i, f, g, o] of (..., 4H) gates, as views."""
    return [gates[..., k * H:(k + 1) * H] for k in range(4)]


def lstm_backward(dH, X, h0, c0, params):
    """Backpropagation through time for the LSTM (runs the forward pass itself).

    Step t's forward lines, each next to the backward line that reverses it (dh and dc are
    the total gradients at h_t and c_t, see below):

        z = x_t @ W_x + h_{t-1} @ W_h + b    dW_x += x_t.T @ dz,  dW_h += h_{t-1}.T @ dz,
                                             db += dz.sum(0),  dx_t = dz @ W_x.T,
                                             dh_{t-1} (from step t) = dz @ W_h.T
        i, f, o = sigma(z_i, z_f, z_o)       dz_i = di * i (1 - i),  dz_f = df * f (1 - f),
                                             dz_o = do * o (1 - o)
        g = tanh(z_g)                        dz_g = dg * (1 - g^2)
        c_t = f * c_{t-1} + i * g            df = dc * c_{t-1},  di = dc * g,  dg = dc * i,
                                             dc_{t-1} (from step t) = dc * f
        h_t = o * tanh(c_t)                  do = dh * tanh(c_t),
                                             dc = dc_t (from step t + 1)
                                                  + dh * o * (1 - tanh(c_t)^2)

    with dh = dH_t + dh_t (from step t + 1), where dH_t = ``dH[:, t - 1]`` is the path through
    step t's own output; at t = T nothing comes from a later step. The cell's own path,
    dc_{t-1} = dc * f, passes no weight matrix and no squashing derivative.

    The loop runs these lines for t = T down to 1 on (N, H) slices; the three weight gradients
    and dX are then one matmul each over all steps' dz at once.

    Args:
        dH: (N, T, H) gradient of the loss with respect to each h_t through step t's own output.
        X: (N, T, D) inputs.  h0, c0: (N, H) initial states.
        params: dict with W_x (D, 4H), W_h (H, 4H), b (4H,).
    Returns:
        dict with W_x (D, 4H), W_h (H, 4H), b (4H,), X (N, T, D), h0 (N, H), c0 (N, H).
    """
    dims = {}
    X, h0, c0, W_x, W_h, b = _check_lstm(X, h0, c0, params, dims)
    dH = check_shape("dH", dH, ("N", "T", "H"), dims)
    N, T, D = X.shape
    H = h0.shape[1]
    X_tm = time_major(X)
    hs, cs, gates = _lstm_forward(X_tm, h0, c0, W_x, W_h, b)

    dZ = np.empty((T, N, 4 * H))  # every step's dz, filled from t = T down
    W_h_T = W_h.T
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T - 1, -1, -1):  # python index t holds step t + 1; cs[t] is c_{t-1}
        gate, dz = gates[t], dZ[t]
        i, f, g, o = _split(gate, H)
        di, df, dg, do = _split(dz, H)  # filled with dJ/d(gate), then turned into dz
        tanh_c = np.tanh(cs[t + 1])
        dh = dH[:, t] + dh_next  # this step's own output + what step t + 1 sent back
        np.multiply(dh, tanh_c, out=do)  # h_t = o * tanh(c_t)
        dc = 1.0 - tanh_c * tanh_c
        dc *= o
        dc *= dh
        dc += dc_next  # c_t's own path from step t + 1 + the path through h_t
        np.multiply(dc, g, out=di)  # c_t = f * c_{t-1} + i * g
        np.multiply(dc, cs[t], out=df)
        np.multiply(dc, i, out=dg)
        local = gate * (1.0 - gate)  # sigma'(z) = s (1 - s) on i, f, o ...
        _split(local, H)[2][...] = 1.0 - g * g  # ... and tanh'(z_g) = 1 - g^2 on g
        dz *= local
        dh_next = dz @ W_h_T
        dc_next = dc * f

    # the gates and cells are done with: their memory goes to the arrays below, instead of
    # fresh pages (which cost the kernel a page fault each)
    del gates, cs, gate, i, f, g, o
    dZ = dZ.reshape(T * N, 4 * H)
    dW_h = hs[:-1].reshape(T * N, H).T @ dZ  # sum_t h_{t-1}.T @ dz_t in one matmul
    del hs
    dX, dW_x, db = dense_backward(dZ, X_tm.reshape(T * N, D), W_x)
    return {"W_x": dW_x, "W_h": dW_h, "b": db, "X": batch_first(dX.reshape(T, N, D)),
            "h0": dh_next, "c0": dc_next}


def gru_step(x_t, h_prev, params):
    """One GRU step (``nn.GRUCell``).

        gx = x_t @ W_x + b_x,   gh = h_prev @ W_h + b_h      (N, 3H), blocks r, z, n
        r = sigma(gx_r + gh_r)                 reset gate
        z = sigma(gx_z + gh_z)                 update gate
        n = tanh(gx_n + r * gh_n)              candidate: r decides how much of h_prev it sees
        h_t = (1 - z) * n + z * h_prev         z = 1 keeps the old state unchanged

    The reset gate multiplies h_prev @ W_hn + b_hn (after the matmul, as PyTorch does), which
    is why the GRU keeps the two biases apart.

    Args:
        x_t: (N, D) inputs.  h_prev: (N, H) previous hidden state.
        params: dict with W_x (D, 3H), W_h (H, 3H), b_x (3H,), b_h (3H,).
    Returns:
        (N, H) the new hidden state h_t.
    """
    dims = {}
    x_t = check_shape("x_t", x_t, ("N", "D"), dims)
    h_prev = check_shape("h_prev", h_prev, ("N", "H"), dims)
    W_x, W_h, b_x, b_h = check_params(params, GRU_SPECS, dims)
    H = h_prev.shape[1]
    gx = x_t @ W_x + b_x
    gh = h_prev @ W_h + b_h
    rz = _sigmoid(gx[:, :2 * H] + gh[:, :2 * H])
    r, z = rz[:, :H], rz[:, H:]
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1.0 - z) * n + z * h_prev
