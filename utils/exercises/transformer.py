"""Checks for notebook 11: layer normalisation, multi-head attention and the pre-norm
transformer block.

Each check runs the student's function next to the reference (itself tested against
nn.LayerNorm, nn.MultiheadAttention and nn.TransformerEncoderLayer(norm_first=True)) on named
cases, and names the likely mistake when a result matches one: unbiased variance or eps
outside the root, heads interleaved instead of contiguous, the head size's sqrt replaced by
the model's, post-norm instead of pre-norm, a residual path missing, ...
"""
import math

import numpy as np

from ..reference import transformer as ref
from .checking import Case, Mistake, check_function

# The mistakes are computed with the private helpers below, not with the references: a check
# forbids the reference while the student's function runs, and the tests replay each mistake
# as a student's function.

# --- layer_norm ------------------------------------------------------------------------------


def _ln(x, gamma, beta, eps=1e-5, *, ddof=0, eps_outside=False, axis=-1, center=True,
        affine=True, swap=False, no_eps=False):
    """The right layer norm by default; each keyword swaps in one typical mistake."""
    x = np.asarray(x, dtype=float)
    mu = x.mean(axis=axis, keepdims=True) if center else 0.0
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    if no_eps:
        xhat = (x - mu) / np.sqrt(var)
    elif eps_outside:
        xhat = (x - mu) / (np.sqrt(var) + eps)
    else:
        xhat = (x - mu) / np.sqrt(var + eps)
    if not affine:
        return xhat
    return xhat * beta + gamma if swap else xhat * gamma + beta


LN_MISTAKES = [
    Mistake("the variance is the unbiased one (divided by D - 1); layer norm uses the biased "
            "variance, the plain mean of the squared deviations (np.var's default, ddof=0).",
            lambda x, g, b, eps=1e-5: _ln(x, g, b, eps, ddof=1)),
    Mistake("eps is added outside the square root; it belongs inside: (x - mu) / "
            "sqrt(var + eps).", lambda x, g, b, eps=1e-5: _ln(x, g, b, eps, eps_outside=True)),
    Mistake("eps is missing: (x - mu) / sqrt(var + eps) keeps a constant row finite.",
            lambda x, g, b, eps=1e-5: _ln(x, g, b, eps, no_eps=True)),
    Mistake("the statistics are taken over the batch (axis 0), as batch norm does; layer norm "
            "normalises each vector over its own features, the last axis (keepdims=True).",
            lambda x, g, b, eps=1e-5: _ln(x, g, b, eps, axis=0)),
    Mistake("the mean is not subtracted: xhat = (x - mean) / sqrt(var + eps).",
            lambda x, g, b, eps=1e-5: _ln(x, g, b, eps, center=False)),
    Mistake("gamma and beta are missing: return gamma * xhat + beta.",
            lambda x, g, b, eps=1e-5: _ln(x, g, b, eps, affine=False)),
    Mistake("gamma and beta are swapped: gamma scales, beta shifts (gamma * xhat + beta).",
            lambda x, g, b, eps=1e-5: _ln(x, g, b, eps, swap=True)),
]


def _ln_case(rng, shape, offset=0.0, spread=1.0):
    D = shape[-1]
    return (offset + spread * rng.standard_normal(shape), 1.0 + 0.5 * rng.standard_normal(D),
            rng.standard_normal(D))


def layer_norm_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    x, g, b = _ln_case(rng, (3, 4))
    const = x.copy()
    const[1] = 2.5  # a constant row: variance 0, only eps keeps it finite
    out = [
        Case("a batch of 3 vectors, D = 4", _ln_case(rng, (3, 4))),
        Case("small variance (0.01) with eps = 0.1: where eps goes matters", (
            _ln_case(rng, (3, 5), spread=0.1)[0], *_ln_case(rng, (1, 5))[1:]), {"eps": 0.1}),
        Case("sequences (N, T, D) = (2, 3, 5)", _ln_case(rng, (2, 3, 5))),
        Case("one vector (D,) = (6,)", _ln_case(rng, (6,))),
        Case("a constant row (variance 0)", (const, g, b)),
        Case("a large offset (values near 1000)", _ln_case(rng, (4, 3), offset=1000.0)),
        Case("D = 1: every entry becomes beta", _ln_case(rng, (3, 1))),
    ]
    for _ in range(n_random):
        shape = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 4))))
        out.append(Case(f"random shape {shape}", _ln_case(rng, shape, spread=3.0)))
    return out


def check_layer_norm(student, *, seed=0, n_random=3, quiet=False):
    """Check layer_norm(x, gamma, beta, eps=1e-5) -> (..., D) normalised over the last axis."""
    check_function(student, ref.layer_norm, layer_norm_cases(seed, n_random),
                   mistakes=LN_MISTAKES, forbidden=(ref._layer_norm,), quiet=quiet)


# --- multi_head_attention --------------------------------------------------------------------

def _attend(Q, K, V, mask, scale, how="before"):
    S = Q @ K.swapaxes(-1, -2) / scale
    if mask is not None and how == "before":
        S = np.where(mask, S, -np.inf)
    elif mask is not None and how == "inverted":
        S = np.where(mask, -np.inf, S)
    S = S - S.max(axis=-1, keepdims=True)
    A = np.exp(S)
    return (A / A.sum(axis=-1, keepdims=True)) @ V


def _split(Z, n_heads, interleaved=False):
    """(N, T, D) -> (N, heads, T, dk): contiguous column blocks, or every n_heads-th column."""
    N, T, D = Z.shape
    if interleaved:
        return Z.reshape(N, T, D // n_heads, n_heads).transpose(0, 3, 1, 2)
    return Z.reshape(N, T, n_heads, D // n_heads).transpose(0, 2, 1, 3)


def _join(H, interleaved=False):
    N, h, T, dk = H.shape
    if interleaved:
        return H.transpose(0, 2, 3, 1).reshape(N, T, h * dk)
    return H.transpose(0, 2, 1, 3).reshape(N, T, h * dk)


def _mha(X, p, n_heads, mask=None, *, scale="dk", interleaved=False, join_interleaved=None,
         out_proj=True, biases=True, how="before", heads=None):
    """The right multi-head attention by default; keywords swap in typical mistakes."""
    X = np.asarray(X, dtype=float)
    n = n_heads if heads is None else heads
    D = X.shape[-1]
    b = (lambda k: p[k]) if biases else (lambda k: 0.0)
    Q, K, V = (_split(X @ p[f"W_{k}"] + b(f"b_{k}"), n, interleaved) for k in "qkv")
    s = math.sqrt(D // n) if scale == "dk" else math.sqrt(D) if scale == "D" else 1.0
    heads_out = _attend(Q, K, V, mask, s, how)
    concat = _join(heads_out, interleaved if join_interleaved is None else join_interleaved)
    return concat @ p["W_o"] + b("b_o") if out_proj else concat


def _m(hint, **how):
    return Mistake(hint, lambda X, p, n_heads, mask=None: _mha(X, p, n_heads, mask, **how))


MHA_MISTAKES = [
    _m("the scores are scaled by sqrt(D), the model's width; each head attends in dk = "
       "D / n_heads dimensions, so its scores are divided by sqrt(dk).", scale="D"),
    _m("the scores are not scaled: divide each head's Q_h @ K_h^T by sqrt(dk), "
       "dk = D / n_heads.", scale=1.0),
    _m("the heads are interleaved (head h takes every n_heads-th column); head h is the "
       "contiguous block of columns h*dk:(h+1)*dk, as in PyTorch: reshape (N, T, n_heads, dk), "
       "then move the heads' axis forward.", interleaved=True),
    _m("the heads are split into contiguous blocks but joined back interleaved: join them "
       "side by side, head h into columns h*dk:(h+1)*dk (the inverse of the split).",
       join_interleaved=True),
    _m("the output projection is missing: out = concat(heads) @ W_o + b_o.", out_proj=False),
    _m("the biases are missing: Q = X @ W_q + b_q (likewise K, V), out = concat @ W_o + b_o.",
       biases=False),
    _m("the mask's polarity is reversed: True means may attend (scores where the mask is "
       "False become -inf).", how="inverted"),
    _m("the mask is ignored: pass it to every head's attention.", how="ignored"),
    Mistake("n_heads is ignored: the model attends with one head of size D; split Q, K, V "
            "into n_heads blocks of dk = D / n_heads columns and attend in each.",
            lambda X, p, n_heads, mask=None: _mha(X, p, n_heads, mask, heads=1)),
]


def _mha_params(rng, D):
    p = {f"W_{k}": rng.standard_normal((D, D)) / math.sqrt(D) for k in "qkvo"}
    p.update({f"b_{k}": 0.5 * rng.standard_normal(D) for k in "qkvo"})
    return p


def _mha_case(rng, N, T, D, n_heads, scale=1.0):
    return (scale * rng.standard_normal((N, T, D)), _mha_params(rng, D), n_heads)


def multi_head_attention_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("N = 2, T = 3, D = 4, 2 heads", _mha_case(rng, 2, 3, 4, 2, scale=2.0)),
        Case("6 heads of size 2 (D = 12)", _mha_case(rng, 1, 5, 12, 6, scale=2.0)),
        Case("one head (n_heads = 1)", _mha_case(rng, 2, 4, 6, 1)),
        Case("a causal mask (T = 4, 2 heads)", _mha_case(rng, 2, 4, 6, 2),
             {"mask": np.tri(4, dtype=bool)}),
        Case("one position (T = 1)", _mha_case(rng, 3, 1, 4, 2)),
        Case("heads of size 1 (n_heads = D = 3)", _mha_case(rng, 2, 3, 3, 3)),
    ]
    for _ in range(n_random):
        N, T, n_heads, dk = (int(s) for s in rng.integers(1, 5, size=4))
        kwargs = {"mask": np.tri(T, dtype=bool)} if rng.random() < 0.5 else {}
        out.append(Case(f"random sizes N={N}, T={T}, D={n_heads * dk}, n_heads={n_heads}"
                        f"{', causal' if kwargs else ''}",
                        _mha_case(rng, N, T, n_heads * dk, n_heads), kwargs))
    return out


def check_multi_head_attention(student, *, seed=0, n_random=3, quiet=False):
    """Check multi_head_attention(X, params, n_heads, mask=None) -> (N, T, D)."""
    check_function(student, ref.multi_head_attention, multi_head_attention_cases(seed, n_random),
                   mistakes=MHA_MISTAKES, forbidden=(ref._mha_forward,), quiet=quiet)


# --- transformer_block -----------------------------------------------------------------------

def _ffn(x, p, relu=True):
    h = x @ p["W1"] + p["b1"]
    return (np.maximum(h, 0.0) if relu else h) @ p["W2"] + p["b2"]


def _block(X, p, n_heads, mask=None, *, post_norm=False, residual=True, residual_from_ln=False,
           same_ln=False, relu=True, ffn_first=False, final_ln=False):
    """The right pre-norm block by default; keywords swap in typical mistakes."""
    X = np.asarray(X, dtype=float)
    ln2 = ("ln1", "ln1") if same_ln else ("ln1", "ln2")

    def LN(x, k):
        return _ln(x, p[f"{k}_gamma"], p[f"{k}_beta"])

    def attn(x):
        return _mha(x, p, n_heads, mask)

    def ffn(x):
        return _ffn(x, p, relu)

    first, second = (ffn, attn) if ffn_first else (attn, ffn)
    if post_norm:
        A = LN(X + first(X), ln2[0])
        return LN(A + second(A), ln2[1])
    x1 = LN(X, ln2[0])
    A = (x1 if residual_from_ln else X if residual else 0.0) + first(x1)
    x2 = LN(A, ln2[1])
    Y = (x2 if residual_from_ln else A if residual else 0.0) + second(x2)
    return _ln(Y, np.ones(Y.shape[-1]), np.zeros(Y.shape[-1])) if final_ln else Y


def _b(hint, **how):
    return Mistake(hint, lambda X, p, n_heads, mask=None: _block(X, p, n_heads, mask, **how))


BLOCK_MISTAKES = [
    _b("this is the post-norm block (LN(X + MHA(X)), the original transformer's); the block "
       "here is pre-norm: normalise the sublayer's INPUT and add its output to the "
       "un-normalised X, A = X + MHA(LN1(X)), then Y = A + FFN(LN2(A)).", post_norm=True),
    _b("the residual connections are missing: A = X + MHA(LN1(X)) and Y = A + FFN(LN2(A)) "
       "add each sublayer's input back.", residual=False),
    _b("the residual adds the normalised input; it adds the block's own input: "
       "A = X + MHA(LN1(X)) (not LN1(X) + ...), Y = A + FFN(LN2(A)).", residual_from_ln=True),
    _b("both layer norms use ln1's parameters; the second one uses ln2_gamma and ln2_beta.",
       same_ln=True),
    _b("the ReLU of the feed-forward network is missing: FFN(x) = relu(x @ W1 + b1) @ W2 + b2.",
       relu=False),
    _b("the sublayers come in the wrong order: attention first (A = X + MHA(LN1(X))), then "
       "the feed-forward network (Y = A + FFN(LN2(A))).", ffn_first=True),
    _b("there is an extra layer norm at the end: the block returns Y = A + FFN(LN2(A)) as it "
       "is (a final norm belongs after the last block of a model, not in each block).",
       final_ln=True),
]


def _block_params(rng, D, F):
    p = _mha_params(rng, D)
    p.update(W1=rng.standard_normal((D, F)) / math.sqrt(D), b1=0.5 * rng.standard_normal(F),
             W2=rng.standard_normal((F, D)) / math.sqrt(F), b2=0.5 * rng.standard_normal(D))
    for k in ("ln1", "ln2"):
        p[f"{k}_gamma"] = 1.0 + 0.3 * rng.standard_normal(D)
        p[f"{k}_beta"] = 0.3 * rng.standard_normal(D)
    return p


def _block_case(rng, N, T, D, F, n_heads, scale=2.0):
    return (1.0 + scale * rng.standard_normal((N, T, D)), _block_params(rng, D, F), n_heads)


def transformer_block_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("N = 2, T = 3, D = 4, F = 8, 2 heads", _block_case(rng, 2, 3, 4, 8, 2)),
        Case("a causal mask (T = 5, D = 6, 3 heads)", _block_case(rng, 2, 5, 6, 12, 3),
             {"mask": np.tri(5, dtype=bool)}),
        Case("one head, F < D", _block_case(rng, 1, 4, 6, 3, 1)),
        Case("one position (T = 1)", _block_case(rng, 3, 1, 4, 6, 2)),
    ]
    for _ in range(n_random):
        N, T, n_heads, dk, F = (int(s) for s in rng.integers(1, 5, size=5))
        kwargs = {"mask": np.tri(T, dtype=bool)} if rng.random() < 0.5 else {}
        out.append(Case(f"random sizes N={N}, T={T}, D={n_heads * dk}, F={F}, "
                        f"n_heads={n_heads}{', causal' if kwargs else ''}",
                        _block_case(rng, N, T, n_heads * dk, F, n_heads), kwargs))
    return out


def check_transformer_block(student, *, seed=0, n_random=3, quiet=False):
    """Check transformer_block(X, params, n_heads, mask=None) -> (N, T, D), pre-norm."""
    check_function(student, ref.transformer_block, transformer_block_cases(seed, n_random),
                   mistakes=BLOCK_MISTAKES, forbidden=(ref._block_forward,), quiet=quiet)
    # layer_norm and multi_head_attention are not forbidden: the block is meant to call them,
    # and the grader, which loads one answer cell per exercise, hands it the course's versions
