"""Checks for notebook 10: positional encodings, masks, scaled dot-product attention, its
backward pass, and self-attention.

Each check runs the student's function next to the reference on named cases (one position,
odd sizes, leading batch and head axes, masks, scores of size 1000) and names the likely
mistake when a result matches one: no 1/sqrt(dk), the mask after the softmax or with the
opposite polarity, the causal mask without its diagonal, the softmax Jacobian without its
second term, ... The backward pass is first compared with finite differences.
"""
import math
import warnings

import numpy as np

from ..reference import attention as ref
from .checking import (Case, ExerciseFailure, Mistake, ReferenceUsed, check_function,
                        check_gradient_against_numeric, diagnose, forbid)
from .gradcheck import numerical_gradient

# The mistakes are computed with the private helpers below, not with the references: a check
# forbids the reference while the student's function runs, and the tests replay each mistake
# as a student's function.


def _softmax(S, axis=-1):
    S = S - S.max(axis=axis, keepdims=True)
    E = np.exp(S)
    return E / E.sum(axis=axis, keepdims=True)


# --- positional_encoding ---------------------------------------------------------------------

def _pe(T, d_model, *, exponent="2i", swap=False, halves=False, start=0, multiply=False):
    """The right encodings by default; each keyword swaps in one typical mistake.

    exponent: "2i" (right: both columns of a pair share 2i / d_model), "j" (the column index
    itself), "i" (the pair index, without the 2).
    """
    j = np.arange(d_model)
    power = {"2i": j // 2 * 2, "j": j, "i": j // 2}[exponent] / d_model
    p = np.arange(start, start + T)[:, None]
    angle = p * 10000.0 ** power if multiply else p / 10000.0 ** power
    if halves:  # sines of the first half's frequencies, then cosines of the same
        half = (d_model + 1) // 2
        freqs = 10000.0 ** (-(2 * np.arange(half)) / d_model)
        both = np.concatenate([np.sin(p * freqs), np.cos(p * freqs)], axis=1)
        return both[:, :d_model]
    sin, cos = (np.cos, np.sin) if swap else (np.sin, np.cos)
    return np.where(j % 2 == 0, sin(angle), cos(angle))


PE_MISTAKES = [
    Mistake("sine and cosine are swapped: even columns 2i hold the sine, odd columns 2i + 1 "
            "the cosine (PE[0] is 0, 1, 0, 1, ...).", lambda T, d: _pe(T, d, swap=True)),
    Mistake("the odd column 2i + 1 uses its own index in the exponent; both columns of a pair "
            "share the angle p / 10000^(2i / d_model), so column j uses j // 2 * 2.",
            lambda T, d: _pe(T, d, exponent="j")),
    Mistake("the exponent is i / d_model; it is 2i / d_model with i the pair index "
            "(i = j // 2 for column j), so the frequencies fall from 1 to about 1/10000 "
            "across the columns.", lambda T, d: _pe(T, d, exponent="i")),
    Mistake("the sines and cosines are in two halves; they alternate: column 2i is a sine, "
            "column 2i + 1 the cosine of the same angle.", lambda T, d: _pe(T, d, halves=True)),
    Mistake("positions start at 1; the first position is p = 0 (PE[0] = 0, 1, 0, 1, ...).",
            lambda T, d: _pe(T, d, start=1)),
    Mistake("the position is multiplied by 10000^(2i / d_model); it is divided: "
            "p / 10000^(2i / d_model).", lambda T, d: _pe(T, d, multiply=True)),
]


def positional_encoding_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("one position, one column (T = 1, d_model = 1)", (1, 1)),
        Case("T = 3, d_model = 2: one sine-cosine pair", (3, 2)),
        Case("T = 4, d_model = 6", (4, 6)),
        Case("odd d_model (T = 5, d_model = 7): the last column is a sine", (5, 7)),
        Case("one position (T = 1, d_model = 8)", (1, 8)),
        Case("T = 50, d_model = 16", (50, 16)),
    ]
    for _ in range(n_random):
        T, d = int(rng.integers(1, 40)), int(rng.integers(1, 33))
        out.append(Case(f"random sizes T = {T}, d_model = {d}", (T, d)))
    return out


def check_positional_encoding(student, *, seed=0, n_random=3, quiet=False):
    """Check positional_encoding(T, d_model) -> (T, d_model) sines and cosines."""
    check_function(student, ref.positional_encoding, positional_encoding_cases(seed, n_random),
                   mistakes=PE_MISTAKES, quiet=quiet)


# --- causal_mask -----------------------------------------------------------------------------

CAUSAL_MISTAKES = [
    Mistake("the diagonal is missing: a position may attend to itself (j <= i, not j < i); "
            "without it the first position has nothing to attend to.",
            lambda T: np.tri(T, k=-1, dtype=bool)),
    Mistake("this is an additive float mask (0 where allowed, -inf where blocked); the mask "
            "here is boolean, True where attending is allowed (j <= i).",
            lambda T: np.where(np.tri(T, dtype=bool), 0.0, -np.inf)),
    Mistake("the polarity is reversed: True marks where attending is ALLOWED (PyTorch's "
            "boolean attn_mask of F.scaled_dot_product_attention), here j <= i. (Careful: "
            "nn.MultiheadAttention's masks mean the opposite.)",
            lambda T: ~np.tri(T, dtype=bool)),
    Mistake("the mask is transposed: row i is the query, column j the key, and query i may "
            "look back only, at j <= i (the lower triangle).",
            lambda T: np.tri(T, dtype=bool).T),
]


def causal_mask_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    # T = 4 first: there every mistake gives its own answer (at T = 1 several coincide)
    out = [Case("T = 4", (4,)), Case("T = 1", (1,)), Case("T = 2", (2,)), Case("T = 7", (7,))]
    out += [Case(f"random T = {T}", (T,)) for T in rng.integers(1, 60, size=n_random).tolist()]
    return out


def check_causal_mask(student, *, seed=0, n_random=3, quiet=False):
    """Check causal_mask(T) -> (T, T) bool, True where j <= i; the dtype must be bool."""
    check_function(student, ref.causal_mask, causal_mask_cases(seed, n_random),
                   mistakes=CAUSAL_MISTAKES, quiet=True)
    with forbid(ref.causal_mask):
        got = np.asarray(student(3))
    if got.dtype != bool:
        raise ExerciseFailure(
            f"causal_mask: the values are right but the dtype is {got.dtype}, expected bool\n"
            "  hint: a boolean mask (True = may attend) comes straight from a comparison, "
            "e.g. of two index arrays, or from np.tri(T, dtype=bool); masks of 0/1 numbers "
            "mean something else to attention functions.")
    if not quiet:
        print(f"\u2713 causal_mask: all {len(causal_mask_cases(seed, n_random)) + 1} checks "
              "passed")


# --- scaled_dot_product_attention --------------------------------------------------------------

def _scores(Q, K, scale=None, transpose=True):
    S = Q @ (K.swapaxes(-1, -2) if transpose else K)
    return S / (math.sqrt(Q.shape[-1]) if scale is None else scale)


def _sdpa(Q, K, V, mask=None, *, scale=None, transpose=True, how="before", axis=-1,
          swap_out=False, transpose_weights=False):
    """The right (out, weights) by default; keywords swap in typical mistakes.

    how: "before" (right: -inf where the mask is False, then the softmax), "after" (the
    softmax, then weights * mask, not renormalised), "inverted" (-inf where the mask is True),
    "zero" (scores set to 0 where False), "ignored".
    """
    S = _scores(Q, K, scale, transpose)
    if mask is not None and how != "ignored":
        if how == "before":
            S = np.where(mask, S, -np.inf)
        elif how == "inverted":
            S = np.where(mask, -np.inf, S)
        elif how == "zero":
            S = np.where(mask, S, 0.0)
    A = _softmax(S, axis)
    if mask is not None and how == "after":
        A = A * mask
    A = np.broadcast_to(A, np.broadcast_shapes(A.shape, Q.shape[:-1] + K.shape[-2:-1]))
    out = A @ V
    if transpose_weights:
        A = A.swapaxes(-1, -2)
    return (A, out) if swap_out else (out, A)


def _sdpa_mistakes(wrap=lambda f: f):
    """The mistakes of scaled dot-product attention; ``wrap`` adapts them to another
    exercise's arguments (self-attention projects X first)."""
    def m(hint, **how):
        return Mistake(hint, wrap(lambda Q, K, V, mask=None: _sdpa(Q, K, V, mask, **how)))
    return [
        m("the scores are not scaled: divide Q @ K^T by sqrt(dk), dk = Q.shape[-1], so that "
          "their spread does not grow with dk and the softmax does not saturate.", scale=1.0),
        Mistake("the scores are divided by dk; the scale is 1 / sqrt(dk) (a dot product of dk "
                "unit-variance terms has standard deviation sqrt(dk)).",
                wrap(lambda Q, K, V, mask=None: _sdpa(Q, K, V, mask, scale=Q.shape[-1]))),
        Mistake("the scores are divided by sqrt of the values' size dv; the scale is "
                "1 / sqrt(dk), dk = the size of the queries and keys (Q.shape[-1]).",
                wrap(lambda Q, K, V, mask=None: _sdpa(Q, K, V, mask,
                                                      scale=math.sqrt(V.shape[-1])))),
        m("the mask is applied after the softmax (weights * mask): the remaining weights no "
          "longer sum to 1. Set the blocked scores to -inf BEFORE the softmax, then "
          "exp(-inf) = 0 and each row still sums to 1.", how="after"),
        m("the mask's polarity is reversed: True means the query MAY attend to that key "
          "(PyTorch's boolean attn_mask), so the scores where the mask is False become -inf.",
          how="inverted"),
        m("the blocked scores are set to 0; a score of 0 still gets weight e^0 > 0. Set them "
          "to -inf (np.where(mask, S, -np.inf)) so their weight is exactly 0.", how="zero"),
        m("the mask is ignored: the scores where mask is False must become -inf before the "
          "softmax.", how="ignored"),
        m("the softmax runs over the queries (axis -2); each query's weights over the keys "
          "must sum to 1: softmax along the last axis.", axis=-2),
        m("K is not transposed: the scores are Q @ K^T, query i against key j, with K^T "
          "= K.swapaxes(-1, -2) (.T would also swap any batch axes).", transpose=False),
        m("the weights are transposed: weights[..., i, j] is how much query i attends to "
          "key j (shape (..., Tq, Tk)).", transpose_weights=True),
        m("the results come in the wrong order: return (out, weights).", swap_out=True),
    ]


SDPA_MISTAKES = _sdpa_mistakes()


def _qkv(rng, lead, Tq, Tk, dk, dv, scale=1.0):
    return (scale * rng.standard_normal((*lead, Tq, dk)),
            scale * rng.standard_normal((*lead, Tk, dk)), rng.standard_normal((*lead, Tk, dv)))


def _random_mask(rng, shape):
    """A boolean mask with at least one True in every row (no query left with nothing)."""
    mask = rng.random(shape) < 0.6
    rows = np.arange(shape[-2])
    mask[..., rows, rng.integers(0, shape[-1], size=shape[-2])] = True
    return mask


def _large(rng):
    """Q, K, V whose scaled scores reach |S| = 1000 (e^1000 overflows float64)."""
    Q, K, V = _qkv(rng, (), 3, 4, 4, 2)
    c = math.sqrt(1000.0 / np.abs(_scores(Q, K)).max())
    return c * Q, c * K, V


def scaled_dot_product_attention_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    small = (np.array([[1.0, 0.0], [0.0, 2.0]]),
             np.array([[1.0, 1.0], [2.0, -1.0], [0.0, 1.0]]),
             np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0], [3.0, 1.0, 0.0]]))
    out = [
        # the square case first: there a missing transpose still fits the shapes, so it
        # shows up as a value with a hint instead of a matmul error
        Case("square: Tq = Tk = dk = dv = 3", _qkv(rng, (), 3, 3, 3, 3)),
        Case("one query, one key (Tq = Tk = 1)", _qkv(rng, (), 1, 1, 3, 2)),
        Case("a small example: Tq = 2, Tk = 3, dk = 2, dv = 3, no mask", small),
        Case("dk = 16 (the scale matters more as dk grows)", _qkv(rng, (), 4, 5, 16, 2)),
        Case("a causal mask (T = 4)", _qkv(rng, (), 4, 4, 3, 3),
             {"mask": np.tri(4, dtype=bool)}),
        Case("a random mask (Tq = 3, Tk = 5)", _qkv(rng, (), 3, 5, 4, 2),
             {"mask": _random_mask(rng, (3, 5))}),
        Case("a batch of 2 with 3 heads (2, 3, T, dk), one (T, T) mask for all",
             _qkv(rng, (2, 3), 4, 4, 2, 3), {"mask": np.tri(4, dtype=bool)}),
        Case("a batch (N = 3), no mask", _qkv(rng, (3,), 5, 2, 3, 4)),
        Case("large scores (up to 1000): exp must not overflow", _large(rng)),
    ]
    for _ in range(n_random):
        lead = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(0, 3))))
        Tq, Tk, dk, dv = (int(s) for s in rng.integers(1, 7, size=4))
        kwargs = {}
        if rng.random() < 0.5:
            kwargs["mask"] = _random_mask(rng, (Tq, Tk))
        out.append(Case(f"random shapes lead={lead}, Tq={Tq}, Tk={Tk}, dk={dk}, dv={dv}"
                        f"{', masked' if kwargs else ''}", _qkv(rng, lead, Tq, Tk, dk, dv),
                        kwargs))
    return out


def check_scaled_dot_product_attention(student, *, seed=0, n_random=3, quiet=False):
    """Check scaled_dot_product_attention(Q, K, V, mask=None) -> (out, weights)."""
    check_function(student, ref.scaled_dot_product_attention,
                   scaled_dot_product_attention_cases(seed, n_random), mistakes=SDPA_MISTAKES,
                   forbidden=(ref.attention_weights,), quiet=quiet)


# --- attention_backward ----------------------------------------------------------------------

def _backward(dout, Q, K, V, A, *, second_term=True, scale=None, sum_axis=-1, dV_T=True,
              dK_T=True, dA_T=True, sign=1.0, order="QKV"):
    """The right (dQ, dK, dV) by default; each keyword swaps in one typical mistake."""
    dV = (A.swapaxes(-1, -2) if dV_T else A) @ dout
    dA = dout @ (V.swapaxes(-1, -2) if dA_T else V)
    dS = A * dA
    if second_term:
        dS = dS - sign * A * np.sum(dA * A, axis=sum_axis, keepdims=True)
    dS = dS / (math.sqrt(Q.shape[-1]) if scale is None else scale)
    dQ = dS @ K
    dK = (dS.swapaxes(-1, -2) if dK_T else dS) @ Q
    grads = {"Q": dQ, "K": dK, "V": dV}
    return tuple(grads[k] for k in order)


def _wrong(**how):
    return lambda dout, Q, K, V, A: _backward(dout, Q, K, V, A, **how)


BACKWARD_MISTAKES = [
    Mistake("the softmax Jacobian's second term is missing: da_j/ds_k = a_j ([j == k] - a_k), "
            "so dS = A * (dA - sum_j(dA * A)) row by row, not A * dA.",
            _wrong(second_term=False)),
    Mistake("the 1/sqrt(dk) of the forward pass is missing from dQ and dK: S = Q @ K^T / "
            "sqrt(dk), so dS is divided by sqrt(dk) before it goes to Q and K.",
            _wrong(scale=1.0)),
    Mistake("dS is divided by dk; the forward pass divided the scores by sqrt(dk).",
            lambda dout, Q, K, V, A: _backward(dout, Q, K, V, A, scale=Q.shape[-1])),
    Mistake("the sum in the softmax's backward runs over the wrong axis: for each query i, "
            "sum_j dA[i, j] * A[i, j] over the keys (the last axis, keepdims=True).",
            _wrong(sum_axis=-2)),
    Mistake("a sign slipped in the softmax's backward: dS = A * (dA - sum_j(dA * A)).",
            _wrong(sign=-1.0)),
    Mistake("dV needs the weights transposed: out = A @ V, so dV = A^T @ dout "
            "(A.swapaxes(-1, -2) @ dout).", _wrong(dV_T=False)),
    Mistake("dA needs V transposed: out = A @ V, so dA = dout @ V^T.", _wrong(dA_T=False)),
    Mistake("dK needs dS transposed: S = Q @ K^T / sqrt(dk), so dK = dS^T @ Q / sqrt(dk).",
            _wrong(dK_T=False)),
    Mistake("the results come in the wrong order: return (dQ, dK, dV).", _wrong(order="KQV")),
    Mistake("the results come in the wrong order: return (dQ, dK, dV).", _wrong(order="VKQ")),
]

GRAD_HINTS = {
    "dQ": "dQ = dS @ K / sqrt(dk) with dS = A * (dA - sum_j(dA * A)) and dA = dout @ V^T.",
    "dK": "dK = dS^T @ Q / sqrt(dk) with dS = A * (dA - sum_j(dA * A)) and dA = dout @ V^T.",
    "dV": "dV = A^T @ dout: value j reaches output i with weight A[i, j].",
}


def _backward_case(rng, lead, Tq, Tk, dk, dv, mask=None):
    Q, K, V = _qkv(rng, lead, Tq, Tk, dk, dv)
    A = _sdpa(Q, K, V, mask)[1].copy()
    return (rng.standard_normal((*lead, Tq, dv)), Q, K, V, A)


def attention_backward_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("square: Tq = Tk = dk = dv = 3", _backward_case(rng, (), 3, 3, 3, 3)),
        Case("Tq = 2, Tk = 4, dk = 3, dv = 5", _backward_case(rng, (), 2, 4, 3, 5)),
        Case("one query, one key (T = 1): the weight is 1, dQ = dK = 0",
             _backward_case(rng, (), 1, 1, 2, 3)),
        Case("a batch with heads (2, 2, 3, dk)", _backward_case(rng, (2, 2), 3, 3, 4, 2)),
        Case("weights of a causal mask (T = 4)",
             _backward_case(rng, (), 4, 4, 2, 3, np.tri(4, dtype=bool))),
        Case("dout = 0 gives zero gradients",
             (np.zeros((3, 2)), *_backward_case(rng, (), 3, 4, 2, 2)[1:])),
    ]
    for _ in range(n_random):
        lead = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(0, 3))))
        Tq, Tk, dk, dv = (int(s) for s in rng.integers(1, 7, size=4))
        out.append(Case(f"random shapes lead={lead}, Tq={Tq}, Tk={Tk}, dk={dk}, dv={dv}",
                        _backward_case(rng, lead, Tq, Tk, dk, dv)))
    return out


def _quiet_call(student, references, *args):
    with warnings.catch_warnings(), np.errstate(all="ignore"), forbid(*references):
        warnings.simplefilter("ignore")
        return student(*args)


def _component_hint(mistakes, case, i, got):
    picked = [Mistake(m.hint, lambda *a, f=m.fn: f(*a)[i]) for m in mistakes]
    return diagnose(picked, case, got)


def _backward_against_numeric(student, seed):
    """dQ, dK, dV against finite differences of J = sum(G * out(Q, K, V))."""
    rng = np.random.default_rng(seed + 1)
    Tq, Tk, dk, dv = 3, 4, 2, 5  # all different: a missing transpose cannot hide
    G, Q, K, V, A = _backward_case(rng, (2,), Tq, Tk, dk, dv)
    try:
        got = _quiet_call(student, (ref.attention_backward, ref.attention_grads),
                          G.copy(), Q.copy(), K.copy(), V.copy(), A.copy())
        got = tuple(np.asarray(g, dtype=float) for g in got)
    except (Exception, ReferenceUsed):
        return  # the cases below say what went wrong
    if len(got) != 3 or [g.shape for g in got] != [Q.shape, K.shape, V.shape]:
        return  # the cases below report the structure or shapes with a hint

    def J(Q_, K_, V_):
        return np.sum(G * _sdpa(Q_, K_, V_)[0])

    numeric = (numerical_gradient(lambda x: J(x, K, V), Q),
               numerical_gradient(lambda x: J(Q, x, V), K),
               numerical_gradient(lambda x: J(Q, K, x), V))
    case = Case("", (G, Q, K, V, A))
    for i, name in ((2, "dV"), (0, "dQ"), (1, "dK")):
        hint = _component_hint(BACKWARD_MISTAKES, case, i, got[i])
        check_gradient_against_numeric(f"attention_backward: {name} against finite differences",
                                       got[i], numeric[i], hint=hint or GRAD_HINTS[name])


def check_attention_backward(student, *, seed=0, n_random=3, quiet=False):
    """Check attention_backward(dout, Q, K, V, weights) -> (dQ, dK, dV): first against
    finite differences, then against the reference on named cases."""
    _backward_against_numeric(student, seed)
    check_function(student, ref.attention_backward, attention_backward_cases(seed, n_random),
                   mistakes=BACKWARD_MISTAKES, forbidden=(ref.attention_grads,), quiet=quiet)


# --- self_attention --------------------------------------------------------------------------

def _projected(f):
    """A mistake of scaled dot-product attention, on self-attention's arguments."""
    return lambda X, W_q, W_k, W_v, mask=None: f(X @ W_q, X @ W_k, X @ W_v, mask)


SELF_MISTAKES = [
    Mistake("the scores are scaled by sqrt(D), the model's width; the scale is 1 / sqrt(dk), "
            "dk = W_q.shape[1], the size of the queries and keys.",
            lambda X, W_q, W_k, W_v, mask=None: _sdpa(X @ W_q, X @ W_k, X @ W_v, mask,
                                                      scale=math.sqrt(X.shape[-1]))),
    Mistake("queries and keys are swapped: Q = X @ W_q asks, K = X @ W_k answers; swapping "
            "them transposes the scores.",
            lambda X, W_q, W_k, W_v, mask=None: _sdpa(X @ W_k, X @ W_q, X @ W_v, mask)),
    Mistake("the values are the inputs themselves; they are projected too: V = X @ W_v.",
            lambda X, W_q, W_k, W_v, mask=None: _sdpa(X @ W_q, X @ W_k, X, mask)),
    Mistake("the mask is not passed on: hand `mask` to the attention.",
            lambda X, W_q, W_k, W_v, mask=None: _sdpa(X @ W_q, X @ W_k, X @ W_v)),
] + [m for m in _sdpa_mistakes(_projected) if not m.hint.startswith("the mask is ignored")]


def _self_case(rng, lead, T, D, dk, dv):
    return (rng.standard_normal((*lead, T, D)), rng.standard_normal((D, dk)) / math.sqrt(D),
            rng.standard_normal((D, dk)) / math.sqrt(D), rng.standard_normal((D, dv)))


def self_attention_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("one sequence, square (T = dk = dv = 3, D = 5)", _self_case(rng, (), 3, 5, 3, 3)),
        Case("one sequence (T, D) = (4, 6), dk = 2, dv = 3", _self_case(rng, (), 4, 6, 2, 3)),
        Case("a batch (N, T, D) = (2, 5, 8), dk = 4, dv = 4", _self_case(rng, (2,), 5, 8, 4, 4)),
        Case("one position (T = 1)", _self_case(rng, (3,), 1, 4, 2, 2)),
        Case("a causal mask (N = 2, T = 4)", _self_case(rng, (2,), 4, 5, 3, 2),
             {"mask": np.tri(4, dtype=bool)}),
    ]
    for _ in range(n_random):
        lead = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(0, 2))))
        T, D, dk, dv = (int(s) for s in rng.integers(1, 7, size=4))
        kwargs = {"mask": np.tri(T, dtype=bool)} if rng.random() < 0.5 else {}
        out.append(Case(f"random shapes lead={lead}, T={T}, D={D}, dk={dk}, dv={dv}"
                        f"{', causal' if kwargs else ''}", _self_case(rng, lead, T, D, dk, dv),
                        kwargs))
    return out


def check_self_attention(student, *, seed=0, n_random=3, quiet=False):
    """Check self_attention(X, W_q, W_k, W_v, mask=None) -> (out, weights)."""
    # scaled_dot_product_attention is not forbidden: self-attention is meant to call it, and
    # the grader, which loads one answer cell per exercise, hands it the course's version
    check_function(student, ref.self_attention, self_attention_cases(seed, n_random),
                   mistakes=SELF_MISTAKES, quiet=quiet)
