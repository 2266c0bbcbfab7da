"""The checks of notebook 09 accept right answers written any way and explain wrong ones."""
import functools

import numpy as np
import pytest

import utils
import utils.reference.gated
from exercise_helpers import assert_each_mistake_is_diagnosed
from utils.exercises import check_for, yours_or_reference
from utils.exercises import gated as ex
from utils.exercises.checking import ExerciseFailure
from utils.exercises.gated import (check_gru_step, check_lstm_backward, check_lstm_forward,
                                   check_lstm_step)

# --- right answers, written as a student might ------------------------------------------------


def sig(z):
    """A stable sigmoid written another way: exp of -|z| only."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def lstm_step(x_t, h_prev, c_prev, params):
    H = h_prev.shape[1]
    z = x_t @ params["W_x"] + h_prev @ params["W_h"] + params["b"]
    i, f, g, o = (z[:, k * H:(k + 1) * H] for k in range(4))
    c = sig(f) * c_prev + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def lstm_step_split(x_t, h_prev, c_prev, params):
    """np.split and einsum, a list instead of a tuple."""
    z = np.einsum("nd,dk->nk", x_t, params["W_x"]) + h_prev.dot(params["W_h"]) + params["b"]
    zi, zf, zg, zo = np.split(z, 4, axis=1)
    c = sig(zf) * c_prev + sig(zi) * np.tanh(zg)
    return [sig(zo) * np.tanh(c), c]


def lstm_forward(X, h0, c0, params):
    h, c, out = h0, c0, []
    for t in range(X.shape[1]):
        h, c = lstm_step(X[:, t], h, c, params)
        out.append(h)
    return np.stack(out, axis=1)


def lstm_forward_prealloc(X, h0, c0, params):
    N, T, _ = X.shape
    H_all = np.zeros((N, T, h0.shape[1]))
    h, c = h0.copy(), c0.copy()
    for t in range(T):
        h, c = lstm_step_split(X[:, t, :], h, c, params)
        H_all[:, t, :] = h
    return H_all


def lstm_backward(dH, X, h0, c0, params):
    """A caching forward pass, then the steps backwards."""
    N, T, D = X.shape
    H = h0.shape[1]
    h, c, cache = h0, c0, []
    for t in range(T):
        z = X[:, t] @ params["W_x"] + h @ params["W_h"] + params["b"]
        i, f, o = sig(z[:, :H]), sig(z[:, H:2 * H]), sig(z[:, 3 * H:])
        g = np.tanh(z[:, 2 * H:3 * H])
        c_new = f * c + i * g
        cache.append((X[:, t], h, c, i, f, g, o, c_new))
        h, c = o * np.tanh(c_new), c_new
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dX = np.zeros_like(X)
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        x, h_prev, c_prev, i, f, g, o, c = cache[t]
        dh = dH[:, t] + dh_next
        tc = np.tanh(c)
        dc = dc_next + dh * o * (1 - tc ** 2)
        dz = np.hstack([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2),
                        dh * tc * o * (1 - o)])
        grads["W_x"] += x.T @ dz
        grads["W_h"] += h_prev.T @ dz
        grads["b"] += dz.sum(axis=0)
        dX[:, t] = dz @ params["W_x"].T
        dh_next, dc_next = dz @ params["W_h"].T, dc * f
    return {**grads, "X": dX, "h0": dh_next, "c0": dc_next}


def gru_step(x_t, h_prev, params):
    H = h_prev.shape[1]
    gx = x_t @ params["W_x"] + params["b_x"]
    gh = h_prev @ params["W_h"] + params["b_h"]
    r = sig(gx[:, :H] + gh[:, :H])
    z = sig(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h_prev


def gru_step_interpolated(x_t, h_prev, params):
    """h_prev + (1 - z) (n - h_prev): the same, rearranged."""
    W_xr, W_xz, W_xn = np.split(params["W_x"], 3, axis=1)
    W_hr, W_hz, W_hn = np.split(params["W_h"], 3, axis=1)
    b_xr, b_xz, b_xn = np.split(params["b_x"], 3)
    b_hr, b_hz, b_hn = np.split(params["b_h"], 3)
    r = sig(x_t @ W_xr + b_xr + h_prev @ W_hr + b_hr)
    z = sig(x_t @ W_xz + b_xz + h_prev @ W_hz + b_hz)
    n = np.tanh(x_t @ W_xn + b_xn + r * (h_prev @ W_hn + b_hn))
    return h_prev + (1 - z) * (n - h_prev)


CHECKS = {"lstm_step": (check_lstm_step, [lstm_step, lstm_step_split]),
          "lstm_forward": (check_lstm_forward, [lstm_forward, lstm_forward_prealloc]),
          "lstm_backward": (check_lstm_backward, [lstm_backward]),
          "gru_step": (check_gru_step, [gru_step, gru_step_interpolated])}


@pytest.mark.parametrize("name", list(CHECKS))
def test_checks_accept_right_answers(name, capsys):
    check, answers = CHECKS[name]
    for student in answers:
        assert check(student) is None  # a shown number would read as credit
        assert "all" in capsys.readouterr().out
        check(student, seed=909, n_random=20, quiet=True)


def test_the_students_functions_agree_with_the_references_on_many_seeds():
    for seed in range(4):
        check_lstm_backward(lstm_backward, seed=seed, n_random=10, quiet=True)
        check_gru_step(gru_step, seed=seed, n_random=10, quiet=True)


def test_check_for_finds_these_checks():
    for name, (check, _) in CHECKS.items():
        assert check_for(name) is check


# --- each typical mistake is rejected with its hint -------------------------------------------

MISTAKES = {"lstm_step": ex.STEP_MISTAKES, "lstm_forward": ex.FORWARD_MISTAKES,
            "lstm_backward": ex.BACKWARD_MISTAKES, "gru_step": ex.GRU_MISTAKES}


@pytest.mark.parametrize("name,mistake", [(n, m) for n, ms in MISTAKES.items() for m in ms],
                         ids=lambda v: v if isinstance(v, str) else v.hint[:40])
def test_each_mistake_is_explained(name, mistake):
    with pytest.raises(ExerciseFailure) as failure:
        CHECKS[name][0](mistake.fn, quiet=True)
    assert mistake.hint in str(failure.value)


def test_each_mistake_has_its_own_hint_on_the_cases():
    assert_each_mistake_is_diagnosed(ex.STEP_MISTAKES, ex.step_cases(0, 3))
    assert_each_mistake_is_diagnosed(ex.FORWARD_MISTAKES, ex.sequence_cases(0, 3))
    assert_each_mistake_is_diagnosed(ex.BACKWARD_MISTAKES, ex.sequence_cases(0, 3, True))
    assert_each_mistake_is_diagnosed(ex.GRU_MISTAKES, ex.gru_cases(0, 3))


def test_mistake_functions_are_wrong_and_the_private_lstm_is_right():
    """The private forward/backward the mistakes are built on equal the reference's."""
    for case in ex.sequence_cases(3, 5, with_dH=True):
        dH, X, h0, c0, p = case.args
        right = ex._backward(dH, X, h0, c0, p)
        expected = utils.lstm_backward(dH, X, h0, c0, p)
        for key in expected:
            np.testing.assert_allclose(right[key], expected[key], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ex._forward(X, h0, c0, p)[0],
                                   utils.lstm_forward(X, h0, c0, p), rtol=1e-12)
    for case in ex.gru_cases(3, 5):
        np.testing.assert_allclose(ex._gru(*case.args), utils.gru_step(*case.args), rtol=1e-12)


def test_keras_lstm_order_is_pytorchs():
    """Keras's LSTM blocks i, f, c, o are PyTorch's i, f, g, o: nothing to diagnose there."""
    assert ex.ORDER == "ifgo" and not any("Keras" in h for h in ex.ORDER_HINTS.values())


def test_backward_mistakes_are_caught_by_finite_differences_first():
    no_tanh_deriv = functools.partial(ex._backward, through_tanh_c=False)  # the course's mistake

    with pytest.raises(ExerciseFailure,
                       match=r"against finite differences(.|\n)*skips tanh's derivative"):
        check_lstm_backward(no_tanh_deriv, quiet=True)

    def off(dH, X, h0, c0, params):
        grads = lstm_backward(dH, X, h0, c0, params)
        return {**grads, "W_h": grads["W_h"] * 1.1}

    with pytest.raises(ExerciseFailure, match=r"grads\['W_h'\] against finite differences"
                                              r"(.|\n)*h_\{t-1\}.T @ dz_t"):
        check_lstm_backward(off, quiet=True)


# --- the reference, shapes, blanks, stability -------------------------------------------------


def test_checks_reject_the_references_and_calls_to_them():
    for name, (check, _) in CHECKS.items():
        with pytest.raises(ExerciseFailure, match="reference"):
            check(getattr(utils, name), quiet=True)

    def via_utils(X, h0, c0, params):
        return utils.lstm_forward(X, h0, c0, params) + 0.0

    def forward_via_reference_step(X, h0, c0, params):
        h, c, out = h0, c0, []
        for t in range(X.shape[1]):
            h, c = utils.reference.gated.lstm_step(X[:, t], h, c, params)
            out.append(h)
        return np.stack(out, axis=1)

    def backward_via_reference_forward(dH, X, h0, c0, params):
        utils.lstm_forward(X, h0, c0, params)
        return lstm_backward(dH, X, h0, c0, params)

    with pytest.raises(ExerciseFailure, match="calls the course's reference"):
        check_lstm_forward(via_utils, quiet=True)
    # earlier exercises of the notebook may be called, as the grader hands each exercise the
    # course's versions of the others (06 does the same with dense_backward)
    check_lstm_forward(forward_via_reference_step, quiet=True)
    check_lstm_backward(backward_via_reference_forward, quiet=True)


def test_an_overflowing_sigmoid_is_reported():
    def naive(x_t, h_prev, c_prev, params):
        H = h_prev.shape[1]
        z = x_t @ params["W_x"] + h_prev @ params["W_h"] + params["b"]
        s = 1 / (1 + np.exp(-z))
        c = s[:, H:2 * H] * c_prev + s[:, :H] * np.tanh(z[:, 2 * H:3 * H])
        return s[:, 3 * H:] * np.tanh(c), c

    with pytest.raises(ExerciseFailure, match=r"saturated(.|\n)*numpy warned"):
        check_lstm_step(naive, quiet=True)


def test_in_place_changes_are_reported():
    def moves_c(x_t, h_prev, c_prev, params):
        h, c = lstm_step(x_t, h_prev, c_prev, params)
        c_prev *= 0.0
        return h, c

    with pytest.raises(ExerciseFailure, match="in place"):
        check_lstm_step(moves_c, quiet=True)


def test_wrong_shapes_and_keys_are_reported():
    def time_major(X, h0, c0, params):
        return lstm_forward(X, h0, c0, params).swapaxes(0, 1)

    with pytest.raises(ExerciseFailure, match=r"has shape(.|\n)*batch first"):
        check_lstm_forward(time_major, quiet=True)

    def no_c0(dH, X, h0, c0, params):
        grads = lstm_backward(dH, X, h0, c0, params)
        del grads["c0"]
        return grads

    with pytest.raises(ExerciseFailure, match=r"missing key\(s\) \['c0'\]"):
        check_lstm_backward(no_c0, quiet=True)


def test_blank_answers_say_what_to_do():
    def blank(*args):
        raise NotImplementedError()

    for check, _ in CHECKS.values():
        with pytest.raises(ExerciseFailure, match="not written yet"):
            check(blank, quiet=True)


def test_yours_or_reference(capsys):
    def gru_step(x_t, h_prev, params):  # noqa: F811 (a blank answer of the same name)
        raise NotImplementedError()

    assert yours_or_reference(gru_step) is utils.gru_step
    assert "reference" in capsys.readouterr().out
    assert yours_or_reference(lstm_backward) is lstm_backward
