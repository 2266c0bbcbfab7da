"""Checks for notebooks 07 and 08: the recurrent step, the unrolled forward pass, embeddings,
backpropagation through time and clipping by global norm.

Every check forbids the reference it replaces and every graded function after it in the course
(with the reference module's private helpers), so an answer cannot hand its work to the
course; earlier exercises (``rnn_step`` inside ``rnn_forward``) stay allowed. Backward passes are first compared with finite differences of the true forward
pass, one gradient at a time, with a hint when the wrong one matches a typical mistake; then
the named cases run against the reference.

The wrong answers (``Mistake``s) are computed with the private helpers below, not with the
references: inside a check the references are off limits, and the tests replay each mistake as
a student's function.
"""
import copy
import math
import warnings

import numpy as np

from ..contract import FUNCTIONS, notebook_of
from ..reference import rnn as ref
from .checking import (Case, ExerciseFailure, Mistake, ReferenceUsed, check_function,
                       check_gradient_against_numeric, diagnose, difference, forbid)
from .gradcheck import numerical_gradient

RNN_KEYS = ("W_xh", "W_hh", "b_h")
BACKWARD_KEYS = ("W_xh", "W_hh", "b_h", "X", "h0")


def _forbidden(name):
    """The references an answer to ``name`` may not reach: every graded function after it in
    the course (the rest of its notebook, the later notebooks) and, in notebook 07, the
    reference module's private loop.

    Earlier exercises stay allowed, as in notebook 06: an ``rnn_forward`` may call
    ``rnn_step``; the grader itself gives each exercise the reference of the others, so that
    one wrong answer does not cost the next one too.
    """
    import utils

    names = list(FUNCTIONS)
    later = [getattr(utils, n) for n in names[names.index(name) + 1:]]
    # rnn_forward's inner loop, under another name; notebook 08 may use rnn_forward (07's)
    helpers = ([ref._hidden_states, ref._dense]
               if notebook_of(name) == notebook_of("rnn_forward") else [])
    return later + helpers


def _check(student, name, cases, mistakes, quiet):
    return check_function(student, getattr(ref, name), cases, name=name, mistakes=mistakes,
                          forbidden=_forbidden(name), quiet=quiet)


def _quiet_call(student, name, *args):
    """``student(*args)`` on copies, with the references forbidden and numpy's warnings off
    (the finite-difference stage only compares values; the cases report the rest)."""
    args = copy.deepcopy(args)
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            forbid(getattr(ref, name), *_forbidden(name)):
        warnings.simplefilter("ignore")
        return student(*args)


def _component_hint(mistakes, case, pick, got):
    """The hint of the first mistake whose ``pick``-ed part matches ``got``'s part."""
    picked = [Mistake(m.hint, lambda *a, f=m.fn: pick(f(*a))) for m in mistakes]
    return diagnose(picked, case, got)


# --- private forward maths (the mistakes are variations of these lines) ----------------------

def _a(x):
    return np.asarray(x, dtype=np.float64)


def _step(x_t, h_prev, p, *, bias=True, act=np.tanh, T_xh=False, T_hh=False, swap=False,
          use_h=True):
    W_xh, W_hh = _a(p["W_xh"]), _a(p["W_hh"])
    if swap:
        W_xh, W_hh = W_hh, W_xh
    W_xh = W_xh.T if T_xh else W_xh
    W_hh = W_hh.T if T_hh else W_hh
    a = _a(x_t) @ W_xh + (_a(h_prev) @ W_hh if use_h else 0.0) + (_a(p["b_h"]) if bias else 0.0)
    return act(a)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _states(X, h0, p, *, carry=True, reverse=False, **step):
    """[h_1, ..., h_T] as a list, each (N, H); variations: no carry (every step from h0),
    the sequence read backwards."""
    X, h = _a(X), _a(h0)
    order = range(X.shape[1] - 1, -1, -1) if reverse else range(X.shape[1])
    out = {}
    for t in order:
        h_new = _step(X[:, t], h if carry else _a(h0), p, **step)
        out[t] = h_new
        h = h_new
    return [out[t] for t in range(X.shape[1])]


def _forward(X, h0, p, *, states="right", out_bias=True, time_major=False, swap_out=False,
             **kw):
    hs = _states(X, h0, p, **kw)
    if states == "with_h0":  # h0, h_1, ..., h_{T-1}: shifted by one
        hs = [_a(h0)] + hs[:-1]
    H_all = np.stack(hs, axis=1)
    Y = H_all @ _a(p["W_hy"]) + (_a(p["b_y"]) if out_bias else 0.0)
    if time_major:
        H_all, Y = H_all.swapaxes(0, 1), Y.swapaxes(0, 1)
    return (Y, H_all) if swap_out else (H_all, Y)


# --- rnn_step -------------------------------------------------------------------------------

def _wrong_step(**how):
    return lambda x_t, h_prev, params: _step(x_t, h_prev, params, **how)


STEP_MISTAKES = [
    Mistake("the bias b_h is not added: h_t = tanh(x_t @ W_xh + h_prev @ W_hh + b_h).",
            _wrong_step(bias=False)),
    Mistake("tanh is missing: the new state is tanh of the sum, "
            "h_t = tanh(x_t @ W_xh + h_prev @ W_hh + b_h), always in (-1, 1).",
            _wrong_step(act=lambda a: a)),
    Mistake("that is the sigmoid; the recurrence squashes with tanh, "
            "h_t = tanh(x_t @ W_xh + h_prev @ W_hh + b_h).", _wrong_step(act=_sigmoid)),
    Mistake("the previous state is not used: h_prev @ W_hh belongs in the sum; it is what "
            "makes the network recurrent.", _wrong_step(use_h=False)),
    Mistake("W_hh is transposed: with row vectors the state is multiplied from the left, "
            "h_prev @ W_hh (the outline's column-vector W_hh^T h_{t-1}).",
            _wrong_step(T_hh=True)),
    Mistake("W_xh is transposed: with row vectors, x_t @ W_xh (D, H) maps the input to H "
            "units.", _wrong_step(T_xh=True)),
    Mistake("the two weight matrices are swapped: the input goes through W_xh (D, H), the "
            "previous state through W_hh (H, H).", _wrong_step(swap=True)),
]


def _step_case(rng, N, D, H, scale=1.0):
    return (rng.standard_normal((N, D)), np.tanh(rng.standard_normal((N, H))),
            _rnn_params(rng, D, H, None, scale))


def _rnn_params(rng, D, H, K=None, scale=1.0):
    p = {"W_xh": scale * rng.standard_normal((D, H)) / np.sqrt(D),
         "W_hh": scale * rng.standard_normal((H, H)) / np.sqrt(H),
         "b_h": 0.5 * rng.standard_normal(H)}
    if K is not None:
        p.update(W_hy=rng.standard_normal((H, K)), b_y=rng.standard_normal(K))
    return p


def step_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    x, h, p = _step_case(rng, 3, 3, 3)
    # the square case first: there every transposition and swap still fits the shapes, so it
    # shows up as a value with a hint instead of a matmul error
    out = [
        Case("a square step (N = D = H = 3)", (x, h, p)),
        Case("a small step N=2, D=1, H=2", (
            np.array([[1.0], [-2.0]]), np.array([[0.5, -0.5], [0.0, 0.25]]),
            {"W_xh": np.array([[0.5, -1.0]]), "W_hh": np.array([[1.0, 0.5], [-0.5, 1.0]]),
             "b_h": np.array([0.1, -0.2])})),
        Case("N=4, D=2, H=5", _step_case(rng, 4, 2, 5)),
        Case("one sequence (N = 1), one input feature (D = 1)", _step_case(rng, 1, 1, 4)),
        Case("h_prev = 0 (the first step from a zero state)",
             (rng.standard_normal((3, 2)), np.zeros((3, 4)), _rnn_params(rng, 2, 4))),
        Case("params with extra keys (W_hy, b_y are not used here)",
             (rng.standard_normal((2, 3)), rng.standard_normal((2, 2)),
              _rnn_params(rng, 3, 2, K=4))),
        Case("pre-activations up to |1000| (tanh saturates at -1 and 1)",
             _step_case(rng, 3, 2, 3, scale=500.0)),
    ]
    for _ in range(n_random):
        N, D, H = (int(s) for s in rng.integers(1, 7, size=3))
        out.append(Case(f"random shapes N={N}, D={D}, H={H}", _step_case(rng, N, D, H)))
    return out


def check_rnn_step(student, *, seed=0, n_random=3, quiet=False):
    """Check rnn_step(x_t, h_prev, params) -> tanh(x_t @ W_xh + h_prev @ W_hh + b_h)."""
    _check(student, "rnn_step", step_cases(seed, n_random), STEP_MISTAKES, quiet)


# --- rnn_forward ----------------------------------------------------------------------------

def _wrong_forward(**how):
    return lambda X, h0, params: _forward(X, h0, params, **how)


FORWARD_MISTAKES = [
    Mistake("the state is not carried from step to step: each step must start from the "
            "previous step's h_{t-1} (h0 only at the first step), h = rnn_step(X[:, t], h, "
            "params).", _wrong_forward(carry=False)),
    Mistake("H_all is shifted by one step: it holds h0, h_1, ..., h_{T-1}; it should hold "
            "the new states h_1, ..., h_T (append h after computing it, never h0).",
            _wrong_forward(states="with_h0")),
    Mistake("the sequence is read backwards: step t = 0, 1, ..., T-1 in order, "
            "X[:, t] is the input at step t.", _wrong_forward(reverse=True)),
    Mistake("the outputs' bias b_y is missing: y_t = h_t @ W_hy + b_y.",
            _wrong_forward(out_bias=False)),
    Mistake("the arrays are time-major (T, N, ...); return them batch-first: H_all (N, T, H) "
            "and Y (N, T, K) (np.stack(states, axis=1)).", _wrong_forward(time_major=True)),
    Mistake("the results come in the wrong order: return (H_all, Y).",
            _wrong_forward(swap_out=True)),
    Mistake("the step's bias b_h is missing: h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h).",
            _wrong_forward(bias=False)),
    Mistake("tanh is missing from the step: h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h).",
            _wrong_forward(act=lambda a: a)),
    Mistake("W_hh is transposed: with row vectors the state is multiplied from the left, "
            "h_{t-1} @ W_hh.", _wrong_forward(T_hh=True)),
    Mistake("the two weight matrices are swapped: the input goes through W_xh (D, H), the "
            "previous state through W_hh (H, H).", _wrong_forward(swap=True)),
]


def _seq_case(rng, N, T, D, H, K, scale=1.0, zero_h0=False):
    X = rng.standard_normal((N, T, D))
    h0 = np.zeros((N, H)) if zero_h0 else np.tanh(rng.standard_normal((N, H)))
    return X, h0, _rnn_params(rng, D, H, K, scale)


def forward_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        # N = T = D = H = K: a wrong axis or a transposition still fits every shape
        Case("all sizes equal (N = T = D = H = K = 3)", _seq_case(rng, 3, 3, 3, 3, 3)),
        Case("N=2, T=4, D=3, H=5, K=2", _seq_case(rng, 2, 4, 3, 5, 2)),
        Case("a sequence of one step (T = 1)", _seq_case(rng, 3, 1, 2, 4, 2)),
        Case("one sequence (N = 1), T = 6", _seq_case(rng, 1, 6, 2, 3, 1)),
        Case("h0 = 0", _seq_case(rng, 2, 5, 2, 3, 2, zero_h0=True)),
        Case("large weights: the states saturate at -1 and 1", _seq_case(rng, 2, 4, 2, 3, 2,
                                                                          scale=300.0)),
    ]
    for _ in range(n_random):
        N, T, D, H, K = (int(s) for s in rng.integers(1, 7, size=5))
        out.append(Case(f"random shapes N={N}, T={T}, D={D}, H={H}, K={K}",
                        _seq_case(rng, N, T, D, H, K)))
    return out


def check_rnn_forward(student, *, seed=0, n_random=3, quiet=False):
    """Check rnn_forward(X, h0, params) -> (H_all (N, T, H), Y (N, T, K))."""
    _check(student, "rnn_forward", forward_cases(seed, n_random), FORWARD_MISTAKES, quiet)


# --- embed ----------------------------------------------------------------------------------

EMBED_MISTAKES = [
    Mistake("the lookup picks columns of E: a token's vector is a row, E[indices] "
            "(E is (V, D): one row per token).",
            lambda indices, E: np.moveaxis(_a(E)[:, np.asarray(indices)], 0, -1)),
    Mistake("token ids start at 0: row indices[n, t] of E, no shift by one.",
            lambda indices, E: _a(E)[np.asarray(indices) - 1]),
    Mistake("the result is flattened to (N*T, D); keep the batch and time axes: (N, T, D).",
            lambda indices, E: _a(E)[np.asarray(indices).reshape(-1)]),
    Mistake("that is the one-hot matrix (N, T, V), not the embedding: multiply it by E, or "
            "index E's rows directly, E[indices].",
            lambda indices, E: np.eye(len(E))[np.asarray(indices)]),
]


def embed_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    E = rng.standard_normal((5, 3))
    out = [
        # the square table first: picking columns instead of rows still fits its shapes
        Case("a square table (V = D = 4), N = T = 4", (
            rng.integers(0, 4, size=(4, 4)), rng.standard_normal((4, 4)))),
        Case("V=5 tokens, D=3, a batch of 2 sequences of 4", (
            np.array([[0, 1, 2, 1], [4, 4, 3, 0]]), E)),
        Case("one token per sequence (T = 1)", (np.array([[2], [0], [2]]), E)),
        Case("one sequence (N = 1)", (np.array([[3, 3, 1, 0, 4, 2]]), E)),
        Case("int32 ids", (np.array([[1, 0], [0, 1]], dtype=np.int32),
                           rng.standard_normal((2, 6)))),
        Case("a one-word vocabulary (V = 1)", (np.zeros((2, 3), dtype=np.int64),
                                               rng.standard_normal((1, 2)))),
    ]
    for _ in range(n_random):
        N, T, V, D = (int(s) for s in rng.integers(1, 7, size=4))
        out.append(Case(f"random N={N}, T={T}, V={V}, D={D}",
                        (rng.integers(0, V, size=(N, T)), rng.standard_normal((V, D)))))
    return out


def check_embed(student, *, seed=0, n_random=3, quiet=False):
    """Check embed(indices, E) -> E[indices], (N, T, D)."""
    _check(student, "embed", embed_cases(seed, n_random), EMBED_MISTAKES, quiet)


# --- rnn_backward ---------------------------------------------------------------------------

def _backward(dH, X, h0, H_all, p, *, carry=True, reverse=False, deriv="h", own=True,
              overwrite_weights=False, overwrite_dh=False, W_hh_T=True, W_xh_T=True,
              hh_pairs="prev", db="sum", dh0="carried"):
    """The right gradients by default; each keyword swaps in one typical mistake.

    deriv: how tanh' enters: "h" 1 - h_t^2 (right), "none" (forgotten), "tanh_of_h"
        1 - tanh(h_t)^2 (tanh' taken at h_t as if it were the pre-activation), "prev"
        1 - h_{t-1}^2 (the previous step's state), "no_square" 1 - h_t.
    own: False drops dH[:, t] (the step's own output) except at the last step.
    """
    dH, X, h0, H_all = _a(dH), _a(X), _a(h0), _a(H_all)
    W_xh, W_hh = _a(p["W_xh"]), _a(p["W_hh"])
    N, T, H = H_all.shape
    prev = np.concatenate([h0[:, None], H_all[:, :-1]], axis=1)  # h_{t-1} for every t
    slope = {"h": 1 - H_all ** 2, "none": np.ones_like(H_all),
             "tanh_of_h": 1 - np.tanh(H_all) ** 2, "prev": 1 - prev ** 2,
             "no_square": 1 - H_all}[deriv]
    dA = np.zeros_like(H_all)
    grads = {"W_xh": np.zeros_like(W_xh), "W_hh": np.zeros_like(W_hh),
             "b_h": np.zeros(H), "X": np.zeros_like(X)}
    carry_W = W_hh.T if W_hh_T else W_hh
    dh_next = np.zeros((N, H))
    order = range(T) if reverse else range(T - 1, -1, -1)
    first, dh_total = True, {}
    for t in order:
        own_term = dH[:, t] if (own or first) else 0.0
        if overwrite_dh and not first:
            dh = dh_next  # the step's own output gradient overwritten by the carried one
        else:
            dh = own_term + (dh_next if carry else 0.0)
        first, dh_total[t] = False, dh
        da = dh * slope[:, t]
        dA[:, t] = da
        terms = {"W_xh": X[:, t].T @ da,
                 "W_hh": (prev[:, t] if hh_pairs == "prev" else H_all[:, t]).T @ da,
                 "b_h": da.sum(axis=0) if db == "sum" else da.mean(axis=0)}
        for k, v in terms.items():
            grads[k] = v if overwrite_weights else grads[k] + v
        grads["X"][:, t] = da @ (W_xh.T if W_xh_T else W_xh)
        dh_next = da @ carry_W
    grads["h0"] = {"carried": dh_next, "zero": np.zeros_like(h0), "total": dh_total[0]}[dh0]
    return grads


def _wrong_backward(**how):
    return lambda dH, X, h0, H_all, params: _backward(dH, X, h0, H_all, params, **how)


BACKWARD_MISTAKES = [
    Mistake("the gradient is not carried to earlier steps: h_t also feeds step t + 1, so "
            "the total gradient at h_t is dH[:, t] plus what step t + 1 sends back, "
            "dh_t = dH[:, t] + da_{t+1} @ W_hh.T; loop from t = T - 1 down to 0.",
            _wrong_backward(carry=False)),
    Mistake("the weight gradients keep only one step (`=` where `+=` belongs): the same "
            "W_xh, W_hh, b_h are used at every step, so their gradients add up over the "
            "steps, dW_hh += h_{t-1}.T @ da_t.", _wrong_backward(overwrite_weights=True)),
    Mistake("the step's own gradient dH[:, t] is dropped (`=` where `+=` belongs): "
            "dh_t = dH[:, t] + da_{t+1} @ W_hh.T adds both paths into h_t.",
            _wrong_backward(overwrite_dh=True)),
    Mistake("tanh's derivative is missing: through h_t = tanh(a_t) the chain rule multiplies "
            "by tanh'(a_t) = 1 - h_t**2, so da_t = dh_t * (1 - h_t**2).",
            _wrong_backward(deriv="none")),
    Mistake("tanh' is taken at the wrong point: tanh_grad(h_t) = 1 - tanh(h_t)**2 treats h_t "
            "as the pre-activation; H_all holds h_t = tanh(a_t), so tanh'(a_t) = 1 - h_t**2 "
            "(no second tanh).", _wrong_backward(deriv="tanh_of_h")),
    Mistake("tanh' is taken at the previous step's state: step t's slope is 1 - h_t**2 with "
            "h_t = H_all[:, t], the state that step produced.", _wrong_backward(deriv="prev")),
    Mistake("the square is missing from tanh': tanh'(a_t) = 1 - h_t**2.",
            _wrong_backward(deriv="no_square")),
    Mistake("the gradient is carried back through W_hh instead of W_hh.T: step t + 1 computed "
            "h_t @ W_hh, so it sends back da_{t+1} @ W_hh.T.", _wrong_backward(W_hh_T=False)),
    Mistake("dX needs W_xh transposed: dx_t = da_t @ W_xh.T (shape (N, D), like x_t).",
            _wrong_backward(W_xh_T=False)),
    Mistake("dW_hh pairs da_t with h_t; step t multiplied h_{t-1} by W_hh, so "
            "dW_hh = sum over t of h_{t-1}.T @ da_t (h0 for the first step).",
            _wrong_backward(hh_pairs="same")),
    Mistake("db_h is averaged over the batch; it is a sum over the batch and the steps "
            "(any averaging already happened in the loss, so it is inside dH).",
            _wrong_backward(db="mean")),
    Mistake("the gradient for h0 is missing: it is what the first step sends back, "
            "da_1 @ W_hh.T.", _wrong_backward(dh0="zero")),
    Mistake("dh0 is the total gradient at h_1; h0 gets what step 1 sends back through "
            "W_hh: da_1 @ W_hh.T (one more step of the loop's carry).",
            _wrong_backward(dh0="total")),
    Mistake("the loop runs forwards: the gradient flows from later steps to earlier ones, "
            "so go from t = T - 1 down to 0 (step t needs da_{t+1}).",
            _wrong_backward(reverse=True)),
]

BACKWARD_HINTS = {
    "b_h": "db_h = sum over t of da_t.sum(axis=0), with da_t = dh_t * (1 - h_t**2) and "
           "dh_t = dH[:, t] + da_{t+1} @ W_hh.T.",
    "W_xh": "dW_xh = sum over t of x_t.T @ da_t, with da_t = dh_t * (1 - h_t**2).",
    "W_hh": "dW_hh = sum over t of h_{t-1}.T @ da_t (h0 at the first step).",
    "X": "dX[:, t] = da_t @ W_xh.T.",
    "h0": "dh0 = da_1 @ W_hh.T, what the first step sends back.",
}


def _backward_case(rng, N, T, D, H, scale=1.0, where="all"):
    X, h0, p = _seq_case(rng, N, T, D, H, None, scale)
    H_all = np.stack(_states(X, h0, p), axis=1)
    dH = rng.standard_normal((N, T, H))
    if where == "last":
        dH[:, :-1] = 0.0
    elif where == "first":
        dH[:, 1:] = 0.0
    return dH, X, h0, H_all, p


def _with_readout(rng, case):
    dH, X, h0, H_all, p = case
    H = p["W_hh"].shape[0]
    return dH, X, h0, H_all, {**p, "W_hy": rng.standard_normal((H, 2)), "b_y": np.zeros(2)}


def backward_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("all sizes equal (N = T = D = H = 3)", _backward_case(rng, 3, 3, 3, 3)),
        Case("N=2, T=5, D=3, H=4", _backward_case(rng, 2, 5, 3, 4)),
        Case("a loss on the last state only (many-to-one): dH is 0 before step T",
             _backward_case(rng, 3, 4, 2, 3, where="last")),
        Case("a loss on the first state only: nothing comes back from later steps",
             _backward_case(rng, 2, 4, 2, 3, where="first")),
        Case("a sequence of one step (T = 1)", _backward_case(rng, 3, 1, 2, 4)),
        Case("one sequence (N = 1), T = 6", _backward_case(rng, 1, 6, 2, 3)),
        Case("saturated states (large weights): tanh' is nearly 0",
             _backward_case(rng, 2, 4, 2, 3, scale=30.0)),
        Case("params with extra keys (W_hy, b_y are not used here)", _with_readout(
            rng, _backward_case(rng, 2, 3, 2, 3))),
    ]
    for _ in range(n_random):
        N, T, D, H = (int(s) for s in rng.integers(1, 7, size=4))
        out.append(Case(f"random shapes N={N}, T={T}, D={D}, H={H}",
                        _backward_case(rng, N, T, D, H)))
    return out


def _probe_loss(dH, X, h0, p):
    """J = sum(dH * H_all): its gradient with respect to H_all is dH through the outputs
    alone, which is what rnn_backward is given; the rest is BPTT."""
    return float(np.sum(dH * np.stack(_states(X, h0, p), axis=1)))


def _backward_against_numeric(student, seed):
    """Every gradient against finite differences of J = sum(dH * H_all) at T = 4."""
    rng = np.random.default_rng(seed + 1)
    dH, X, h0, H_all, p = _backward_case(rng, 2, 4, 3, 5)  # no two sizes equal but T, N
    try:
        got = _quiet_call(student, "rnn_backward", dH, X, h0, H_all, p)
        got = {k: np.asarray(got[k], dtype=float) for k in BACKWARD_KEYS}
    except (Exception, ReferenceUsed):
        return  # the cases below say what went wrong
    shapes = {"W_xh": p["W_xh"].shape, "W_hh": p["W_hh"].shape, "b_h": p["b_h"].shape,
              "X": X.shape, "h0": h0.shape}
    if any(got[k].shape != shapes[k] for k in BACKWARD_KEYS):
        return  # the cases below report the shapes with a hint
    numeric = {k: numerical_gradient(lambda v, k=k: _probe_loss(dH, X, h0, {**p, k: v}), p[k])
               for k in RNN_KEYS}
    numeric["X"] = numerical_gradient(lambda v: _probe_loss(dH, v, h0, p), X)
    numeric["h0"] = numerical_gradient(lambda v: _probe_loss(dH, X, v, p), h0)
    case = Case("", (dH, X, h0, H_all, p))
    for key in ("b_h", "W_xh", "W_hh", "X", "h0"):
        hint = _component_hint(BACKWARD_MISTAKES, case, lambda out, key=key: out[key],
                               got[key])
        check_gradient_against_numeric(
            f"rnn_backward: grads['{key}'] against finite differences (T = 4)", got[key],
            numeric[key], hint=hint or BACKWARD_HINTS[key])


def check_rnn_backward(student, *, seed=0, n_random=3, quiet=False):
    """Check rnn_backward(dH, X, h0, H_all, params) -> dict of W_xh, W_hh, b_h, X, h0.

    First every gradient against finite differences of a loss through the forward pass,
    then against the reference on named cases (T = 1 among them).
    """
    _backward_against_numeric(student, seed)
    _check(student, "rnn_backward", backward_cases(seed, n_random), BACKWARD_MISTAKES, quiet)


# --- clip_by_global_norm --------------------------------------------------------------------

def _norm(grads):
    return math.sqrt(sum(float(np.sum(_a(g) ** 2)) for g in grads.values()))


def _clip(grads, max_norm, *, per_tensor=False, norm_after=False, always=False,
          squared=False, summed_norms=False, inverted=False):
    norms = {k: float(np.sqrt(np.sum(_a(g) ** 2))) for k, g in grads.items()}
    norm = sum(norms.values()) if summed_norms else _norm(grads)
    if squared:
        norm = norm ** 2
    out = {}
    for k, g in grads.items():
        n = norms[k] if per_tensor else norm
        scale = max_norm / n if (n > max_norm or (always and n > 0)) else 1.0
        if inverted and n > max_norm:
            scale = n / max_norm
        out[k] = _a(g) * scale
    if norm_after:
        norm = min(norm, float(max_norm))
    return out, norm


def _wrong_clip(**how):
    return lambda grads, max_norm: _clip(grads, max_norm, **how)


CLIP_MISTAKES = [
    Mistake("each array is clipped by its own norm (per-tensor clipping); the global norm "
            "joins all of them, norm = sqrt(sum over every array of (g**2).sum()), and every "
            "array is scaled by the same factor max_norm / norm, so the update keeps its "
            "direction.", _wrong_clip(per_tensor=True)),
    Mistake("the norm returned is the one after clipping; return the global norm from "
            "before clipping (it is what you log to see gradients explode).",
            _wrong_clip(norm_after=True)),
    Mistake("the gradients are rescaled even when norm <= max_norm (scaled up); nothing "
            "changes then: scale only when norm > max_norm.", _wrong_clip(always=True)),
    Mistake("the square root is missing: the global norm is sqrt(sum of every entry "
            "squared).", _wrong_clip(squared=True)),
    Mistake("the norms of the arrays are added; the global norm is the L2 norm of all "
            "entries together, sqrt(norm_1**2 + norm_2**2 + ...).",
            _wrong_clip(summed_norms=True)),
    Mistake("the factor is upside down: clipped = g * max_norm / norm (below 1 when "
            "norm > max_norm).", _wrong_clip(inverted=True)),
    Mistake("that clips every entry to [-max_norm, max_norm] (clipping by value); clip by "
            "the global norm: one factor max_norm / norm for every array.",
            lambda grads, max_norm: ({k: np.clip(_a(g), -max_norm, max_norm)
                                      for k, g in grads.items()}, _norm(grads))),
    Mistake("the results come in the wrong order: return (clipped, norm).",
            lambda grads, max_norm: _clip(grads, max_norm)[::-1]),
]


def _grads(rng, shapes, scale=1.0):
    return {k: scale * rng.standard_normal(s) for k, s in shapes.items()}


RNN_SHAPES = {"W_xh": (3, 4), "W_hh": (4, 4), "b_h": (4,), "W_hy": (4, 2), "b_y": (2,)}


def clip_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    # one array much larger than the others: per-tensor clipping then differs visibly
    lopsided = {"W": np.full((2, 3), 2.0), "b": np.array([0.1, -0.1, 0.2])}
    three_four = {"a": np.array([3.0]), "b": np.array([[4.0]])}  # global norm exactly 5
    out = [
        Case("two arrays, norm above max_norm", (lopsided, 1.0)),
        Case("an RNN's gradients, norm above max_norm", (_grads(rng, RNN_SHAPES, 3.0), 2.0)),
        Case("norm below max_norm: nothing changes", (_grads(rng, RNN_SHAPES, 0.1), 5.0)),
        Case("norm exactly max_norm (3-4-5): nothing changes", (three_four, 5.0)),
        Case("norm 5 clipped to 1 (3-4-5)", (three_four, 1)),
        Case("all zeros (norm 0: no division by zero)",
             ({"W": np.zeros((2, 2)), "b": np.zeros(2)}, 1.0)),
        Case("one array", ({"W": rng.standard_normal((3, 3)) * 10}, 0.5)),
        Case("a 3-D array and a scalar-shaped one",
             ({"E": rng.standard_normal((2, 3, 2)), "s": np.array(4.0)}, 1.5)),
        Case("integer gradients (the result is float)",
             ({"W": np.array([[3, 0], [0, 4]]), "b": np.array([0, 12])}, 6.5)),
    ]
    for _ in range(n_random):
        k = int(rng.integers(1, 5))
        shapes = {f"g{i}": tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 3)))
                  for i in range(k)}
        grads = _grads(rng, shapes, float(rng.choice([0.1, 1.0, 10.0])))
        max_norm = float(rng.uniform(0.5, 5.0))
        out.append(Case(f"random: {k} array(s), max_norm {max_norm:.2f}", (grads, max_norm)))
    return out


def _clip_leaves_its_input_alone(student, seed):
    """Clipping that writes into the gradients it was given (`g *= scale`, or storing the
    clipped arrays in the same dict) fails here first, with a message of its own."""
    rng = np.random.default_rng(seed + 3)
    grads = _grads(rng, RNN_SHAPES, 5.0)
    kept = {k: v.copy() for k, v in grads.items()}
    ids = {k: id(v) for k, v in grads.items()}
    try:
        _quiet_call_inplace(student, grads, 1.0)
    except (Exception, ReferenceUsed):
        return  # the cases below say what went wrong
    changed = (set(grads) != set(kept) or any(id(grads[k]) != ids[k] for k in grads)
               or any(difference(kept[k], grads[k], 0, 0) for k in kept))
    if changed:
        raise ExerciseFailure(
            "clip_by_global_norm modified the dict of gradients it was given "
            "(its arrays, or the dict itself).\n"
            "  likely mistake: clipping in place (g *= scale, grads[k] = ...) changes the "
            "caller's gradients; build a new dict of new arrays, "
            "{k: g * scale for k, g in grads.items()}, and leave grads as it was.")


def _quiet_call_inplace(student, grads, max_norm):
    """Call the student on the very dict given (not a copy), to see what it changes."""
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            forbid(ref.clip_by_global_norm, *_forbidden("clip_by_global_norm")):
        warnings.simplefilter("ignore")
        return student(grads, max_norm)


def check_clip_by_global_norm(student, *, seed=0, n_random=3, quiet=False):
    """Check clip_by_global_norm(grads, max_norm) -> (clipped, norm before clipping)."""
    _clip_leaves_its_input_alone(student, seed)
    _check(student, "clip_by_global_norm", clip_cases(seed, n_random), CLIP_MISTAKES, quiet)
