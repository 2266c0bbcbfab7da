"""The checks of notebook 11 accept right answers written any way and explain wrong ones."""
import numpy as np
import pytest

import utils
from exercise_helpers import assert_each_mistake_is_diagnosed
from utils.exercises import transformer as ex
from utils.exercises.checking import ExerciseFailure
from utils.exercises.transformer import (check_layer_norm, check_multi_head_attention,
                                         check_transformer_block)

# --- right answers written differently ------------------------------------------------------


def ln_manual(x, gamma, beta, eps=1e-5):
    x = np.asarray(x, dtype=float)
    D = x.shape[-1]
    mu = np.sum(x, axis=-1, keepdims=True) / D
    var = np.sum((x - mu) ** 2, axis=-1, keepdims=True) / D
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def ln_std(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(-1, keepdims=True)) * (x.var(-1, keepdims=True) + eps) ** -0.5 \
        + beta


def mha_loop(X, params, n_heads, mask=None):
    """Head by head with slices, calling the course's attention from notebook 10 (allowed)."""
    D = X.shape[-1]
    dk = D // n_heads
    Q, K, V = (X @ params[f"W_{k}"] + params[f"b_{k}"] for k in "qkv")
    heads = []
    for h in range(n_heads):
        cols = slice(h * dk, (h + 1) * dk)
        heads.append(utils.scaled_dot_product_attention(Q[..., cols], K[..., cols],
                                                        V[..., cols], mask)[0])
    return np.concatenate(heads, axis=-1) @ params["W_o"] + params["b_o"]


def mha_reshape(X, params, n_heads, mask=None):
    N, T, D = X.shape
    dk = D // n_heads

    def split(Z):
        return Z.reshape(N, T, n_heads, dk).swapaxes(1, 2)

    Q, K, V = (split(X @ params[f"W_{k}"] + params[f"b_{k}"]) for k in "qkv")
    S = Q @ K.swapaxes(-1, -2) / np.sqrt(dk)
    if mask is not None:
        S = np.where(mask, S, -np.inf)
    A = np.exp(S - S.max(-1, keepdims=True))
    A /= A.sum(-1, keepdims=True)
    return (A @ V).swapaxes(1, 2).reshape(N, T, D) @ params["W_o"] + params["b_o"]


def block_own(X, params, n_heads, mask=None):
    p = params
    A = X + mha_reshape(ln_manual(X, p["ln1_gamma"], p["ln1_beta"]), p, n_heads, mask)
    h = ln_std(A, p["ln2_gamma"], p["ln2_beta"])
    return A + np.maximum(h @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]


@pytest.mark.parametrize("check, student", [
    (check_layer_norm, ln_manual), (check_layer_norm, ln_std),
    (check_multi_head_attention, mha_loop), (check_multi_head_attention, mha_reshape),
    (check_transformer_block, block_own),
])
def test_checks_accept_right_answers(check, student, capsys):
    assert check(student) is None
    assert "all" in capsys.readouterr().out
    for seed in (11, 1234):
        check(student, seed=seed, n_random=20, quiet=True)


MISTAKES = [(check_layer_norm, m) for m in ex.LN_MISTAKES] + \
    [(check_multi_head_attention, m) for m in ex.MHA_MISTAKES] + \
    [(check_transformer_block, m) for m in ex.BLOCK_MISTAKES]


@pytest.mark.parametrize("check, mistake", MISTAKES, ids=lambda x: getattr(x, "hint", "")[:40])
def test_each_mistake_is_explained(check, mistake):
    with pytest.raises(ExerciseFailure) as failure:
        check(mistake.fn, quiet=True)
    assert mistake.hint in str(failure.value)


@pytest.mark.parametrize("mistakes, cases", [
    (ex.LN_MISTAKES, ex.layer_norm_cases(0, 3)),
    (ex.MHA_MISTAKES, ex.multi_head_attention_cases(0, 3)),
    (ex.BLOCK_MISTAKES, ex.transformer_block_cases(0, 3)),
])
def test_each_mistake_has_its_own_hint(mistakes, cases):
    assert_each_mistake_is_diagnosed(mistakes, cases)


def test_the_issues_mistakes_are_named():
    hints = " ".join(m.hint for m in ex.LN_MISTAKES + ex.MHA_MISTAKES + ex.BLOCK_MISTAKES)
    for phrase in ("unbiased", "eps is added outside", "heads are interleaved",
                   "scaled by sqrt(D), the model's width", "post-norm"):
        assert phrase in hints, phrase


@pytest.mark.parametrize("check, name", [
    (check_layer_norm, "layer_norm"), (check_multi_head_attention, "multi_head_attention"),
    (check_transformer_block, "transformer_block"),
])
def test_checks_reject_the_reference_and_calls_to_it(check, name):
    reference = getattr(utils, name)
    with pytest.raises(ExerciseFailure, match="reference"):
        check(reference, quiet=True)

    def wrapper(*args, **kwargs):
        return reference(*args, **kwargs)

    with pytest.raises(ExerciseFailure, match="calls the course's reference"):
        check(wrapper, quiet=True)


def test_block_may_call_the_other_exercises():
    """As in the grader, which gives transformer_block the course's layer_norm and
    multi_head_attention (it loads one answer cell per exercise)."""
    def via_course_parts(X, p, n_heads, mask=None):
        A = X + utils.multi_head_attention(
            utils.layer_norm(X, p["ln1_gamma"], p["ln1_beta"]), p, n_heads, mask)
        h = utils.layer_norm(A, p["ln2_gamma"], p["ln2_beta"])
        return A + np.maximum(h @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]

    check_transformer_block(via_course_parts, quiet=True)


def test_in_place_and_blank():
    def in_place(x, gamma, beta, eps=1e-5):
        x -= x.mean(-1, keepdims=True)
        return gamma * x / np.sqrt(x.var(-1, keepdims=True) + eps) + beta

    with pytest.raises(ExerciseFailure, match="in place"):
        check_layer_norm(in_place, quiet=True)

    def blank(X, params, n_heads, mask=None):
        raise NotImplementedError()

    with pytest.raises(ExerciseFailure, match="not written yet"):
        check_multi_head_attention(blank, quiet=True)
