"""The checks of notebook 10 accept right answers written any way and explain wrong ones."""
import functools
import math

import numpy as np
import pytest

import utils
from exercise_helpers import assert_each_mistake_is_diagnosed
from utils.exercises import attention as ex
from utils.exercises.attention import (check_attention_backward, check_causal_mask,
                                       check_positional_encoding,
                                       check_scaled_dot_product_attention, check_self_attention)
from utils.exercises.checking import ExerciseFailure

# --- right answers written differently ------------------------------------------------------


def pe_loops(T, d_model):
    PE = np.zeros((T, d_model))
    for p in range(T):
        for j in range(d_model):
            angle = p / 10000 ** ((j - j % 2) / d_model)
            PE[p, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    return PE


def pe_vectorised(T, d_model):
    i = np.arange(0, d_model, 2)
    angle = np.arange(T)[:, None] * np.exp(-np.log(10000.0) * i / d_model)
    PE = np.zeros((T, d_model))
    PE[:, 0::2] = np.sin(angle)
    PE[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return PE


def causal_compare(T):
    i = np.arange(T)
    return i[None, :] <= i[:, None]


def causal_tril(T):
    return np.tril(np.ones((T, T), dtype=bool))


def _softmax_rows(S):
    E = np.exp(S - S.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def sdpa_einsum(Q, K, V, mask=None):
    S = np.einsum("...qd,...kd->...qk", Q, K) / np.sqrt(K.shape[-1])
    if mask is not None:
        S = np.where(mask, S, -np.inf)
    A = _softmax_rows(S)
    return np.einsum("...qk,...kv->...qv", A, V), A


def sdpa_masked_fill(Q, K, V, mask=None):
    """-1e30 instead of -inf and the mask applied after scaling: also right."""
    S = Q @ np.swapaxes(K, -1, -2) * (1 / math.sqrt(Q.shape[-1]))
    if mask is not None:
        S = S + np.where(mask, 0.0, -1e30)
    A = _softmax_rows(S)
    return A @ V, A


def backward_einsum(dout, Q, K, V, weights):
    dV = np.einsum("...qk,...qv->...kv", weights, dout)
    dA = np.einsum("...qv,...kv->...qk", dout, V)
    dS = weights * (dA - np.einsum("...qk,...qk->...q", dA, weights)[..., None])
    dS = dS / np.sqrt(Q.shape[-1])
    return np.einsum("...qk,...kd->...qd", dS, K), np.einsum("...qk,...qd->...kd", dS, Q), dV


def backward_jacobian(dout, Q, K, V, weights):
    """The softmax Jacobian built as a matrix per row: slow, and right."""
    dV = np.swapaxes(weights, -1, -2) @ dout
    dA = dout @ np.swapaxes(V, -1, -2)
    J = weights[..., :, None] * (np.eye(weights.shape[-1]) - weights[..., None, :])
    dS = np.einsum("...ij,...ijk->...ik", dA, J) / math.sqrt(Q.shape[-1])
    return dS @ K, np.swapaxes(dS, -1, -2) @ Q, dV


def self_with_own_sdpa(X, W_q, W_k, W_v, mask=None):
    return sdpa_einsum(X @ W_q, X @ W_k, X @ W_v, mask)


@pytest.mark.parametrize("check, student", [
    (check_positional_encoding, pe_loops), (check_positional_encoding, pe_vectorised),
    (check_causal_mask, causal_compare), (check_causal_mask, causal_tril),
    (check_scaled_dot_product_attention, sdpa_einsum),
    (check_scaled_dot_product_attention, sdpa_masked_fill),
    (check_attention_backward, backward_einsum), (check_attention_backward, backward_jacobian),
    (check_self_attention, self_with_own_sdpa),
])
def test_checks_accept_right_answers(check, student, capsys):
    assert check(student) is None  # a shown number would read as credit
    assert "all" in capsys.readouterr().out
    for seed in (11, 1234):
        check(student, seed=seed, n_random=20, quiet=True)


# --- each typical mistake is rejected with its hint -----------------------------------------

MISTAKES = [(check_positional_encoding, m) for m in ex.PE_MISTAKES] + \
    [(check_causal_mask, m) for m in ex.CAUSAL_MISTAKES] + \
    [(check_scaled_dot_product_attention, m) for m in ex.SDPA_MISTAKES] + \
    [(check_attention_backward, m) for m in ex.BACKWARD_MISTAKES] + \
    [(check_self_attention, m) for m in ex.SELF_MISTAKES]


@pytest.mark.parametrize("check, mistake", MISTAKES, ids=lambda x: getattr(x, "hint", "")[:40])
def test_each_mistake_is_explained(check, mistake):
    with pytest.raises(ExerciseFailure) as failure:
        check(mistake.fn, quiet=True)
    assert mistake.hint in str(failure.value)


@pytest.mark.parametrize("mistakes, cases", [
    (ex.PE_MISTAKES, ex.positional_encoding_cases(0, 3)),
    (ex.CAUSAL_MISTAKES, ex.causal_mask_cases(0, 3)),
    (ex.SDPA_MISTAKES, ex.scaled_dot_product_attention_cases(0, 3)),
    (ex.BACKWARD_MISTAKES, ex.attention_backward_cases(0, 3)),
    (ex.SELF_MISTAKES, ex.self_attention_cases(0, 3)),
])
def test_each_mistake_has_its_own_hint(mistakes, cases):
    assert_each_mistake_is_diagnosed(mistakes, cases)


def test_the_issues_mistakes_are_named():
    """The mistakes issue 17 lists for notebook 10, each with a hint saying so."""
    hints = " ".join(m.hint for m in ex.SDPA_MISTAKES + ex.CAUSAL_MISTAKES
                     + ex.BACKWARD_MISTAKES + ex.SELF_MISTAKES)
    for phrase in ("not scaled", "after the softmax", "polarity is reversed",
                   "diagonal is missing", "second term is missing", "sqrt(D), the model's width"):
        assert phrase in hints, phrase


def test_backward_mistakes_are_caught_by_finite_differences_first():
    no_second_term = functools.partial(ex._backward, second_term=False)  # the course's mistake

    with pytest.raises(ExerciseFailure,
                       match=r"dQ against finite differences(.|\n)*second term is missing"):
        check_attention_backward(no_second_term, quiet=True)

    def off(dout, Q, K, V, weights):
        dQ, dK, dV = backward_einsum(dout, Q, K, V, weights)
        return dQ, dK, dV + 0.1

    with pytest.raises(ExerciseFailure, match=r"dV against finite differences(.|\n)*A\^T @ dout"):
        check_attention_backward(off, quiet=True)


def test_a_float_causal_mask_is_refused_with_a_hint():
    def ones(T):
        return np.tril(np.ones((T, T)))

    with pytest.raises(ExerciseFailure, match=r"dtype is float64, expected bool"):
        check_causal_mask(ones, quiet=True)


def test_overflowing_softmax_is_refused():
    def naive(Q, K, V, mask=None):
        S = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
        if mask is not None:
            S = np.where(mask, S, -np.inf)
        E = np.exp(S)
        A = E / E.sum(axis=-1, keepdims=True)
        return A @ V, A

    with pytest.raises(ExerciseFailure, match=r"large scores(.|\n)*(overflow|warned)"):
        check_scaled_dot_product_attention(naive, quiet=True)


# --- the reference, blanks, wrong structures ------------------------------------------------

@pytest.mark.parametrize("check, name", [
    (check_positional_encoding, "positional_encoding"), (check_causal_mask, "causal_mask"),
    (check_scaled_dot_product_attention, "scaled_dot_product_attention"),
    (check_attention_backward, "attention_backward"), (check_self_attention, "self_attention"),
])
def test_checks_reject_the_reference_and_calls_to_it(check, name):
    reference = getattr(utils, name)
    with pytest.raises(ExerciseFailure, match="reference"):
        check(reference, quiet=True)

    def wrapper(*args, **kwargs):
        return reference(*args, **kwargs)

    with pytest.raises(ExerciseFailure, match="calls the course's reference"):
        check(wrapper, quiet=True)


def test_self_attention_may_call_the_attention_exercise():
    """As in the grader, which gives self_attention the course's scaled_dot_product_attention
    (it loads one answer cell per exercise)."""
    def via_course_attention(X, W_q, W_k, W_v, mask=None):
        return utils.scaled_dot_product_attention(X @ W_q, X @ W_k, X @ W_v, mask)

    check_self_attention(via_course_attention, quiet=True)


def test_unwritten_and_wrong_structure():
    def blank(Q, K, V, mask=None):
        raise NotImplementedError()

    with pytest.raises(ExerciseFailure, match="not written yet"):
        check_scaled_dot_product_attention(blank, quiet=True)

    def only_out(Q, K, V, mask=None):
        return sdpa_einsum(Q, K, V, mask)[0]

    with pytest.raises(ExerciseFailure, match="tuple of 2"):
        check_scaled_dot_product_attention(only_out, quiet=True)

    def in_place(Q, K, V, mask=None):
        Q /= np.sqrt(Q.shape[-1])
        S = Q @ np.swapaxes(K, -1, -2)
        if mask is not None:
            S = np.where(mask, S, -np.inf)
        A = _softmax_rows(S)
        return A @ V, A

    with pytest.raises(ExerciseFailure, match="in place"):
        check_scaled_dot_product_attention(in_place, quiet=True)
