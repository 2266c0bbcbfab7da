"""Checks for notebook 09: the LSTM step, the LSTM over a sequence, its backward pass through
time, and the GRU step.

The gate order is PyTorch's: ``i, f, g, o`` for the LSTM, ``r, z, n`` for the GRU. Orders
other sources use are diagnosed by name: CS231n's assignment ``i, f, o, g``; TensorFlow 1's
``LSTMCell`` ``i, j, f, o`` (j the candidate: ``i, g, f, o`` here); ONNX's ``i, o, f, c``;
Keras's GRU ``z, r, h``. (Keras's LSTM order ``i, f, c, o`` is PyTorch's with the candidate
called c: not a mistake.) ``lstm_backward`` is first compared with finite differences of
``sum(G * H_all)``, one gradient at a time, then with the reference on named cases.

The mistakes are computed with the private LSTM and GRU below, not with the references: a
check forbids the references while the student's function runs.
"""
import warnings

import numpy as np

from ..reference import gated as ref
from .checking import (Case, Mistake, ReferenceUsed, check_function,
                        check_gradient_against_numeric, diagnose, forbid)
from .gradcheck import numerical_gradient

ORDER = "ifgo"  # PyTorch's order of the LSTM's column blocks


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^{-z}), without overflow


def _blocks(z, order, H):
    """The gates' pre-activations by name, from (N, 4H) columns laid out in ``order``."""
    return {name: z[:, k * H:(k + 1) * H] for k, name in enumerate(order)}


def _step(x, h, c, p, order=ORDER, g_act=np.tanh, out="tanh_c", use_i=True):
    """One LSTM step with the blocks read in ``order``; returns (h, c, cache).

    g_act: the candidate's nonlinearity (tanh is right). out: "tanh_c" (right), "c" (tanh
    forgotten), "tanh_c_prev" (the old cell shown).
    """
    H = h.shape[1]
    z = _blocks(x @ p["W_x"] + h @ p["W_h"] + p["b"], order, H)
    i, f, g, o = _sigmoid(z["i"]), _sigmoid(z["f"]), g_act(z["g"]), _sigmoid(z["o"])
    c_new = f * c + (i * g if use_i else g)
    shown = {"tanh_c": np.tanh(c_new), "c": c_new, "tanh_c_prev": np.tanh(c)}[out]
    return o * shown, c_new, (i, f, g, o, c, c_new, h, x)


def _forward(X, h0, c0, p, order=ORDER, carry_h=True, carry_c=True, keep="h"):
    """All steps; returns (H_all (N, T, H), caches). ``carry_*=False`` restarts from h0/c0."""
    h, c = h0, c0
    out, caches = [], []
    for t in range(X.shape[1]):
        h_new, c_new, cache = _step(X[:, t], h if carry_h else h0, c if carry_c else c0, p,
                                    order)
        h, c = h_new, c_new
        out.append(h if keep == "h" else c)
        caches.append(cache)
    return np.stack(out, axis=1), caches


def _backward(dH, X, h0, c0, p, order=ORDER, *, through_tanh_c=True, forget_deriv=True,
              carry_h=True, carry_c=True, forget_in_carry=True, accumulate=True,
              g_deriv="g"):
    """The right gradients by default; each keyword swaps in one typical mistake.

    through_tanh_c: dc from h_t = o * tanh(c_t) includes tanh'(c_t) = 1 - tanh(c_t)^2.
    forget_deriv: dz_f = df * f (1 - f).  carry_h / carry_c: dh_t / dc_t add what step t + 1
    sent back (``+=``).  forget_in_carry: dc_{t-1} = dc_t * f.  accumulate: the weight
    gradients add over the steps (``+=``).  g_deriv: "g" 1 - g^2 (right), "z" 1 - z_g^2.
    """
    H = h0.shape[1]
    _, caches = _forward(X, h0, c0, p, order)
    grads = {k: np.zeros_like(p[k]) for k in ("W_x", "W_h", "b")}
    dX = np.zeros_like(X)
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)
    for t in range(X.shape[1] - 1, -1, -1):
        i, f, g, o, c_prev, c, h_prev, x = caches[t]
        dh = dH[:, t] + (dh_next if carry_h else 0.0)
        tc = np.tanh(c)
        do = dh * tc
        dc = dh * o * ((1 - tc ** 2) if through_tanh_c else 1.0) + (dc_next if carry_c else 0.0)
        di, df, dg = dc * g, dc * c_prev, dc * i
        pre = {"i": di * i * (1 - i), "f": df * f * (1 - f) if forget_deriv else df,
               "o": do * o * (1 - o)}
        if g_deriv == "g":
            pre["g"] = dg * (1 - g ** 2)
        else:
            z_g = _blocks(x @ p["W_x"] + h_prev @ p["W_h"] + p["b"], order, H)["g"]
            pre["g"] = dg * (1 - z_g ** 2)
        dz = np.concatenate([pre[name] for name in order], axis=1)
        step = {"W_x": x.T @ dz, "W_h": h_prev.T @ dz, "b": dz.sum(axis=0)}
        for k in grads:
            grads[k] = grads[k] + step[k] if accumulate else step[k]
        dX[:, t] = dz @ p["W_x"].T
        dh_next = dz @ p["W_h"].T
        dc_next = dc * f if forget_in_carry else dc
    return {**grads, "X": dX, "h0": dh_next, "c0": dc_next}


def _gru(x, h, p, order="rzn", reset="inside", swap_z=False, bias_hn=True):
    """One GRU step; reset: "inside" r * (h W_hn + b_hn) (right), "bias_outside"
    r * (h W_hn) + b_hn, "before" (r * h) W_hn + b_hn (the 2014 paper's form)."""
    H = h.shape[1]
    gx, gh = x @ p["W_x"] + p["b_x"], h @ p["W_h"] + p["b_h"]
    col = {name: slice(k * H, (k + 1) * H) for k, name in enumerate(order)}
    r = _sigmoid(gx[:, col["r"]] + gh[:, col["r"]])
    z = _sigmoid(gx[:, col["z"]] + gh[:, col["z"]])
    b_hn = p["b_h"][col["n"]] if bias_hn else 0.0
    h_W = h @ p["W_h"][:, col["n"]]
    inner = {"inside": r * (h_W + b_hn), "bias_outside": r * h_W + b_hn,
             "before": (r * h) @ p["W_h"][:, col["n"]] + b_hn}[reset]
    n = np.tanh(gx[:, col["n"]] + inner)
    return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h


# --- the mistakes -----------------------------------------------------------------------------

ORDER_HINTS = {
    "ifog": "the gates are read in CS231n's order i, f, o, g; this course uses PyTorch's "
            "(nn.LSTMCell): the four H-wide column blocks of z are i, f, g, o, so the "
            "candidate g is block 3 (z[:, 2H:3H]) and the output gate o block 4.",
    "igfo": "the gates are read in TensorFlow 1's order i, j, f, o (j the candidate); "
            "PyTorch's blocks are i, f, g, o: the forget gate is block 2, the candidate block 3.",
    "iofg": "the gates are read in ONNX's order i, o, f, c; PyTorch's blocks are i, f, g, o.",
}

STEP_MISTAKES = [
    *(Mistake(hint, lambda x, h, c, p, o=order: _step(x, h, c, p, o)[:2])
      for order, hint in ORDER_HINTS.items()),
    Mistake("h_t = o * c_t misses the tanh: the output is o * tanh(c_t), the cell squashed "
            "to (-1, 1) before the output gate shows it.",
            lambda x, h, c, p: _step(x, h, c, p, out="c")[:2]),
    Mistake("h_t uses the old cell: compute c_t = f * c_prev + i * g first, then "
            "h_t = o * tanh(c_t).", lambda x, h, c, p: _step(x, h, c, p, out="tanh_c_prev")[:2]),
    Mistake("the candidate g uses the sigmoid; it is g = tanh(z_g) (values in (-1, 1), so the "
            "cell can be pushed down as well as up); i, f and o are sigmoids.",
            lambda x, h, c, p: _step(x, h, c, p, g_act=_sigmoid)[:2]),
    Mistake("the input gate is missing: c_t = f * c_prev + i * g.",
            lambda x, h, c, p: _step(x, h, c, p, use_i=False)[:2]),
    Mistake("the results come in the wrong order: return (h_t, c_t).",
            lambda x, h, c, p: _step(x, h, c, p)[1::-1]),
    Mistake("the bias b is missing: z = x_t @ W_x + h_prev @ W_h + b.",
            lambda x, h, c, p: _step(x, h, c, {**p, "b": 0 * p["b"]})[:2]),
]

FORWARD_MISTAKES = [
    *(Mistake(hint, lambda X, h0, c0, p, o=order: _forward(X, h0, c0, p, o)[0])
      for order, hint in ORDER_HINTS.items()),
    Mistake("the cell state is not carried from step to step: each step must start from the "
            "c_t the previous step returned (c0 only at t = 1).",
            lambda X, h0, c0, p: _forward(X, h0, c0, p, carry_c=False)[0]),
    Mistake("the hidden state is not carried from step to step: each step must start from the "
            "h_t the previous step returned (h0 only at t = 1).",
            lambda X, h0, c0, p: _forward(X, h0, c0, p, carry_h=False)[0]),
    Mistake("H_all holds the cell states; it holds the hidden states h_1..h_T.",
            lambda X, h0, c0, p: _forward(X, h0, c0, p, keep="c")[0]),
    Mistake("H_all starts with h0; it holds h_1..h_T, shape (N, T, H).",
            lambda X, h0, c0, p: np.concatenate([h0[:, None], _forward(X, h0, c0, p)[0]], 1)),
    Mistake("H_all is time-major (T, N, H); the course is batch first: (N, T, H), "
            "H_all[:, t] is step t + 1 (np.stack(states, axis=1)).",
            lambda X, h0, c0, p: _forward(X, h0, c0, p)[0].swapaxes(0, 1)),
]


def _wrong(**how):
    return lambda dH, X, h0, c0, p: _backward(dH, X, h0, c0, p, **how)


BACKWARD_MISTAKES = [
    Mistake("the cell's gradient from h_t = o * tanh(c_t) skips tanh's derivative: "
            "dc_t = dh_t * o * (1 - tanh(c_t)^2) + (what c_{t+1} sent back).",
            _wrong(through_tanh_c=False)),
    Mistake("the forget gate's derivative is missing: dz_f = df * f * (1 - f), as for i and o.",
            _wrong(forget_deriv=False)),
    Mistake("the cell's own path is dropped (`=` where `+=` belongs): dc_t adds "
            "dc_{t+1} * f_{t+1}, the gradient step t + 1 sent back through c_t, to the path "
            "through h_t.", _wrong(carry_c=False)),
    Mistake("the hidden state's gradient from later steps is dropped (`=` where `+=` "
            "belongs): dh_t = dH[:, t] + dz_{t+1} @ W_h.T.", _wrong(carry_h=False)),
    Mistake("the weight gradients keep only one step (`=` where `+=` belongs): W_x, W_h and "
            "b are shared by every step, so their gradients add up over t.",
            _wrong(accumulate=False)),
    Mistake("the gradient passed to c_{t-1} misses the forget gate: c_t = f * c_{t-1} + i * g, "
            "so dc_{t-1} = dc_t * f.", _wrong(forget_in_carry=False)),
    Mistake("tanh's derivative for the candidate is taken at the wrong point: it is "
            "1 - g^2 with g = tanh(z_g), the gate's output, not 1 - z_g^2.",
            _wrong(g_deriv="z")),
    *(Mistake(hint, _wrong(order=order)) for order, hint in ORDER_HINTS.items()),
]

GRU_MISTAKES = [
    Mistake("z and 1 - z are swapped: h_t = (1 - z) * n + z * h_prev (z = 1 keeps the old "
            "state, as PyTorch defines it).", lambda x, h, p: _gru(x, h, p, swap_z=True)),
    Mistake("the reset gate multiplies h_prev before the matmul (the 2014 paper's form); "
            "PyTorch's applies it after: n = tanh(x W_xn + b_xn + r * (h_prev W_hn + b_hn)).",
            lambda x, h, p: _gru(x, h, p, reset="before")),
    Mistake("b_hn is left outside the reset gate: n = tanh(x W_xn + b_xn + "
            "r * (h_prev W_hn + b_hn)), the bias inside the product.",
            lambda x, h, p: _gru(x, h, p, reset="bias_outside")),
    Mistake("the gates are read in Keras's order z, r, h; PyTorch's blocks are r, z, n "
            "(reset first).", lambda x, h, p: _gru(x, h, p, order="zrn")),
    Mistake("b_hn is missing: n = tanh(x W_xn + b_xn + r * (h_prev W_hn + b_hn)).",
            lambda x, h, p: _gru(x, h, p, bias_hn=False)),
]

BACKWARD_HINTS = {
    "W_x": "dW_x = sum over t of x_t.T @ dz_t, dz_t the four gates' pre-activation gradients.",
    "W_h": "dW_h = sum over t of h_{t-1}.T @ dz_t (h_0 at the first step).",
    "b": "db = sum over t and the batch of dz_t.",
    "X": "dx_t = dz_t @ W_x.T.",
    "h0": "dh0 is what step 1 sends back: dz_1 @ W_h.T.",
    "c0": "dc0 is what step 1 sends back through the cell: dc_1 * f_1.",
}


# --- cases ------------------------------------------------------------------------------------

def _lstm_params(rng, D, H, scale=0.5):
    return {"W_x": scale * rng.standard_normal((D, 4 * H)),
            "W_h": scale * rng.standard_normal((H, 4 * H)),
            "b": scale * rng.standard_normal(4 * H)}


def _gru_params(rng, D, H, scale=0.5):
    return {"W_x": scale * rng.standard_normal((D, 3 * H)),
            "W_h": scale * rng.standard_normal((H, 3 * H)),
            "b_x": scale * rng.standard_normal(3 * H), "b_h": scale * rng.standard_normal(3 * H)}


def _states(rng, N, H):
    return rng.standard_normal((N, H)), rng.standard_normal((N, H))


def _saturated_lstm(rng, N, D, H):
    """Pre-activations of +-1000: a sigmoid written as 1 / (1 + exp(-z)) overflows."""
    p = _lstm_params(rng, D, H)
    p["b"] = np.tile([1000.0, -1000.0], 2 * H)
    return p


def step_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    h, c = _states(rng, 3, 2)
    out = [
        Case("N = 3, D = 4, H = 2", (rng.standard_normal((3, 4)), h, c, _lstm_params(rng, 4, 2))),
        Case("x = 0 and h = 0: only the bias drives the gates",
             (np.zeros((2, 3)), np.zeros((2, 2)), rng.standard_normal((2, 2)),
              _lstm_params(rng, 3, 2))),
        Case("one unit (H = 1), one sample (N = 1)",
             (rng.standard_normal((1, 2)), *_states(rng, 1, 1), _lstm_params(rng, 2, 1))),
        Case("saturated gates, |z| = 1000 (stability)",
             (rng.standard_normal((2, 3)), *_states(rng, 2, 2), _saturated_lstm(rng, 2, 3, 2))),
    ]
    for _ in range(n_random):
        N, D, H = (int(s) for s in rng.integers(1, 6, size=3))
        out.append(Case(f"random shapes N={N}, D={D}, H={H}",
                        (rng.standard_normal((N, D)), *_states(rng, N, H),
                         _lstm_params(rng, D, H))))
    return out


def sequence_cases(seed, n_random, with_dH=False):
    """(X, h0, c0, params) cases, preceded by dH (N, T, H) when ``with_dH``."""
    rng = np.random.default_rng(seed)

    def case(label, N, T, D, H, dH=None):
        X = rng.standard_normal((N, T, D))
        h0, c0 = _states(rng, N, H)
        p = _lstm_params(rng, D, H)
        if not with_dH:
            return Case(label, (X, h0, c0, p))
        dH = rng.standard_normal((N, T, H)) if dH is None else dH(N, T, H)
        return Case(label, (dH, X, h0, c0, p))

    def last_only(N, T, H):
        dH = np.zeros((N, T, H))
        dH[:, -1] = rng.standard_normal((N, H))
        return dH

    out = [
        case("N = 2, T = 4, D = 3, H = 2", 2, 4, 3, 2),
        case("one step (T = 1)", 3, 1, 2, 2),
        case("one unit (H = 1), T = 5", 2, 5, 2, 1),
    ]
    if with_dH:
        out.append(case("dH only at the last step (a read-out of h_T), T = 6", 2, 6, 2, 3,
                        last_only))
    for _ in range(n_random):
        N, T, D, H = (int(s) for s in rng.integers(1, 6, size=4))
        out.append(case(f"random shapes N={N}, T={T}, D={D}, H={H}", N, T, D, H))
    return out


def gru_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("N = 3, D = 4, H = 2", (rng.standard_normal((3, 4)), rng.standard_normal((3, 2)),
                                     _gru_params(rng, 4, 2))),
        Case("h_prev = 0", (rng.standard_normal((2, 3)), np.zeros((2, 2)), _gru_params(rng, 3, 2))),
        Case("one unit (H = 1), one sample (N = 1)",
             (rng.standard_normal((1, 2)), rng.standard_normal((1, 1)), _gru_params(rng, 2, 1))),
        Case("saturated gates, |z| = 1000 (stability)",
             (rng.standard_normal((2, 3)), rng.standard_normal((2, 2)),
              {**_gru_params(rng, 3, 2), "b_x": np.array([1000.0, -1000.0] * 3)})),
    ]
    for _ in range(n_random):
        N, D, H = (int(s) for s in rng.integers(1, 6, size=3))
        out.append(Case(f"random shapes N={N}, D={D}, H={H}",
                        (rng.standard_normal((N, D)), rng.standard_normal((N, H)),
                         _gru_params(rng, D, H))))
    return out


# --- the checks -------------------------------------------------------------------------------

def _others(reference):
    """This notebook's later references: a submission earns nothing by calling them. Earlier
    exercises may be called (lstm_forward from lstm_step), as the grader hands each exercise
    the course's versions of the others."""
    order = (ref.lstm_step, ref.lstm_forward, ref.lstm_backward, ref.gru_step)
    return order[order.index(reference) + 1:]


def check_lstm_step(student, *, seed=0, n_random=3, quiet=False):
    """Check lstm_step(x_t, h_prev, c_prev, params) -> (h_t, c_t) against the reference."""
    check_function(student, ref.lstm_step, step_cases(seed, n_random), mistakes=STEP_MISTAKES,
                   forbidden=_others(ref.lstm_step), quiet=quiet)


def check_lstm_forward(student, *, seed=0, n_random=3, quiet=False):
    """Check lstm_forward(X, h0, c0, params) -> H_all (N, T, H) against the reference."""
    check_function(student, ref.lstm_forward, sequence_cases(seed, n_random),
                   mistakes=FORWARD_MISTAKES, forbidden=_others(ref.lstm_forward), quiet=quiet)


def _quiet_call(student, *args):
    with warnings.catch_warnings(), np.errstate(all="ignore"), forbid(
            ref.lstm_backward, *_others(ref.lstm_backward)):
        warnings.simplefilter("ignore")
        return student(*args)


def _backward_against_numeric(student, seed):
    """Each gradient against finite differences of J = sum(G * H_all) on a small LSTM."""
    rng = np.random.default_rng(seed + 1)
    N, T, D, H = 2, 4, 3, 2
    X = rng.standard_normal((N, T, D))
    h0, c0 = _states(rng, N, H)
    p = _lstm_params(rng, D, H, scale=0.7)
    G = rng.standard_normal((N, T, H))
    try:
        got = _quiet_call(student, G.copy(), X.copy(), h0.copy(), c0.copy(),
                          {k: v.copy() for k, v in p.items()})
        got = {k: np.asarray(got[k], dtype=float) for k in BACKWARD_HINTS}
    except (Exception, ReferenceUsed):
        return  # the cases below say what went wrong
    inputs = {**p, "X": X, "h0": h0, "c0": c0}
    if any(got[k].shape != inputs[k].shape for k in BACKWARD_HINTS):
        return  # the cases below report the shapes

    def J(**change):
        v = {**inputs, **change}
        params = {k: v[k] for k in ("W_x", "W_h", "b")}
        return float(np.sum(G * _forward(v["X"], v["h0"], v["c0"], params)[0]))

    case = Case("", (G, X, h0, c0, p))
    for key in ("b", "W_h", "W_x", "c0", "h0", "X"):
        numeric = numerical_gradient(lambda v, key=key: J(**{key: v}), inputs[key])
        picked = [Mistake(m.hint, lambda *a, f=m.fn, key=key: f(*a)[key])
                  for m in BACKWARD_MISTAKES]
        hint = diagnose(picked, case, got[key])
        check_gradient_against_numeric(
            f"lstm_backward: grads['{key}'] against finite differences", got[key], numeric,
            hint=hint or BACKWARD_HINTS[key])


def check_lstm_backward(student, *, seed=0, n_random=3, quiet=False):
    """Check lstm_backward(dH, X, h0, c0, params) -> dict of gradients.

    First every gradient against finite differences, then against the reference on named
    cases (T = 1 and a read-out of h_T only among them).
    """
    _backward_against_numeric(student, seed)
    check_function(student, ref.lstm_backward, sequence_cases(seed, n_random, with_dH=True),
                   mistakes=BACKWARD_MISTAKES, forbidden=_others(ref.lstm_backward), quiet=quiet)


def check_gru_step(student, *, seed=0, n_random=3, quiet=False):
    """Check gru_step(x_t, h_prev, params) -> h_t against the reference."""
    check_function(student, ref.gru_step, gru_cases(seed, n_random), mistakes=GRU_MISTAKES,
                   forbidden=_others(ref.gru_step), quiet=quiet)

