"""The checks of notebook 06 accept right answers written any way and explain wrong ones."""
import numpy as np
import pytest

import utils
import utils.reference.backprop
from utils.exercises.checking import ExerciseFailure
from utils.exercises import backprop as ex
from utils.exercises import check_for, yours_or_reference
from utils.exercises.backprop import check_dense_backward, check_mlp_loss_and_grads

# --- right answers written differently ------------------------------------------------------


def dense_einsum(dZ, X, W):
    return (np.einsum("nh,dh->nd", dZ, W), np.einsum("nd,nh->dh", X, dZ),
            np.einsum("nh->h", dZ))


def dense_loops(dZ, X, W):
    N, D = X.shape
    H = W.shape[1]
    dX, dW, db = np.zeros((N, D)), np.zeros((D, H)), np.zeros(H)
    for n in range(N):
        for i in range(D):
            for j in range(H):
                dX[n, i] += dZ[n, j] * W[i, j]
                dW[i, j] += X[n, i] * dZ[n, j]
        db += dZ[n]
    return dX, dW, db


def dense_list(dZ, X, W):
    """A list instead of a tuple, per-sample outer products for dW."""
    dW = sum(np.outer(x, d) for x, d in zip(X, dZ))
    return [np.dot(dZ, np.transpose(W)), dW, np.sum(dZ, axis=0, keepdims=True)[0]]


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable in its own way


ACT = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * _sigmoid(-z)),
    "tanh": (np.tanh, lambda z: 1.0 / np.cosh(np.clip(z, -300, 300)) ** 2),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.heaviside(z, 0.0)),
}


def mlp_own(X, y, params, activation):
    """Written from scratch: its own activations, einsum, the loss's gradient via y.size."""
    if activation not in ACT:
        raise ValueError(activation)
    g, dg = ACT[activation]
    Z1 = np.einsum("nd,dh->nh", X, params["W1"]) + params["b1"]
    A = g(Z1)
    Y = A @ params["W2"] + params["b2"]
    diff = Y - y
    loss = np.sum(diff * diff) / diff.size
    dY = 2 * diff / diff.size
    dZ1 = (dY @ params["W2"].T) * dg(Z1)
    return loss, {"b2": dY.sum(0), "W2": np.einsum("nh,nk->hk", A, dY),
                  "b1": dZ1.sum(0), "W1": X.T @ dZ1}


def mlp_with_dense_backward(X, y, params, activation):
    """Reuses the notebook's dense_backward (here: an own one) and the course's activations."""
    g = {"sigmoid": utils.sigmoid, "tanh": utils.tanh, "relu": utils.relu}[activation]
    g_grad = {"sigmoid": utils.sigmoid_grad, "tanh": utils.tanh_grad,
              "relu": utils.relu_grad}[activation]
    Z1 = X @ params["W1"] + params["b1"]
    A = g(Z1)
    Y = A @ params["W2"] + params["b2"]
    dA, dW2, db2 = dense_einsum(2 * (Y - y) / y.size, A, params["W2"])
    _, dW1, db1 = dense_einsum(dA * g_grad(Z1), X, params["W1"])
    return float(np.mean((Y - y) ** 2)), dict(W1=dW1, b1=db1, W2=dW2, b2=db2)


def mlp_reusing_course_dense_backward(X, y, params, activation):
    """Calling utils.dense_backward (another exercise's reference) is allowed here."""
    g, g_grad = {"sigmoid": (utils.sigmoid, utils.sigmoid_grad), "tanh": (utils.tanh, utils.tanh_grad),
                 "relu": (utils.relu, utils.relu_grad)}[activation]  # notebook 02's: allowed
    Z1 = X @ params["W1"] + params["b1"]
    A = g(Z1)
    Y = A @ params["W2"] + params["b2"]
    dA, dW2, db2 = utils.dense_backward(2 * (Y - y) / y.size, A, params["W2"])
    _, dW1, db1 = utils.dense_backward(dA * g_grad(Z1), X, params["W1"])
    return float(np.mean((Y - y) ** 2)), dict(W1=dW1, b1=db1, W2=dW2, b2=db2)


@pytest.mark.parametrize("student", [dense_einsum, dense_loops, dense_list])
def test_dense_check_accepts_right_answers(student, capsys):
    assert check_dense_backward(student) is None  # a shown number would read as credit
    assert "all" in capsys.readouterr().out
    check_dense_backward(student, seed=11, n_random=20, quiet=True)


@pytest.mark.parametrize("student", [mlp_own, mlp_with_dense_backward,
                                     mlp_reusing_course_dense_backward])
def test_mlp_check_accepts_right_answers(student, capsys):
    assert check_mlp_loss_and_grads(student) is None
    assert "all" in capsys.readouterr().out
    check_mlp_loss_and_grads(student, seed=11, n_random=20, quiet=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 1234])
def test_checks_pass_the_reference_logic_for_many_seeds(seed):
    check_dense_backward(dense_einsum, seed=seed, n_random=20, quiet=True)
    check_mlp_loss_and_grads(mlp_own, seed=seed, n_random=20, quiet=True)


# --- each typical mistake is rejected with its hint -----------------------------------------


@pytest.mark.parametrize("mistake", ex.DENSE_MISTAKES, ids=lambda m: m.hint[:40])
def test_dense_check_explains_each_mistake(mistake):
    with pytest.raises(ExerciseFailure) as failure:
        check_dense_backward(mistake.fn, quiet=True)
    assert mistake.hint in str(failure.value)


@pytest.mark.parametrize("mistake", ex.MLP_MISTAKES, ids=lambda m: m.hint[:40])
def test_mlp_check_explains_each_mistake(mistake):
    with pytest.raises(ExerciseFailure) as failure:
        check_mlp_loss_and_grads(mistake.fn, quiet=True)
    assert mistake.hint in str(failure.value)


def test_gradient_mistakes_are_caught_by_finite_differences_first():
    """The first message names the gradient, the finite differences and the cause."""
    forgot_derivative = ex._wrong(deriv="none")  # the course's formula, replayed as an answer
    with pytest.raises(ExerciseFailure, match=r"grads\['W1'\] against finite differences"):
        check_mlp_loss_and_grads(forgot_derivative, quiet=True)

    def mean_db(dZ, X, W):
        return dZ @ W.T, X.T @ dZ, dZ.mean(axis=0)

    with pytest.raises(ExerciseFailure, match=r"db against finite differences(.|\n)*averaged"):
        check_dense_backward(mean_db, quiet=True)


def test_two_mistakes_at_once_still_get_a_hint_per_gradient():
    """dX and dW both wrong: the finite-difference stage names the first with its hint."""
    def two(dZ, X, W):
        return dZ @ W if W.shape[0] == W.shape[1] else dZ @ W.T, X.T @ dZ / len(X), dZ.sum(0)

    with pytest.raises(ExerciseFailure, match=r"dW against finite differences(.|\n)*divided by N"):
        check_dense_backward(two, quiet=True)


def test_unknown_wrong_answer_gets_the_generic_gradient_hint():
    def off(dZ, X, W):
        return dZ @ W.T, X.T @ dZ + 0.1, dZ.sum(0)

    with pytest.raises(ExerciseFailure, match=r"dW = X.T @ dZ: w_ij meets x_ni"):
        check_dense_backward(off, quiet=True)


def test_wrong_shapes_are_reported_with_the_likely_mistake():
    def db_not_summed(dZ, X, W):
        return dZ @ W.T, X.T @ dZ, dZ

    with pytest.raises(ExerciseFailure, match=r"result\[2\] has shape(.|\n)*not summed"):
        check_dense_backward(db_not_summed, quiet=True)


def test_mlp_missing_key_is_reported():
    def no_b1(X, y, params, activation):
        loss, grads = mlp_own(X, y, params, activation)
        del grads["b1"]
        return loss, grads

    with pytest.raises(ExerciseFailure, match=r"missing key\(s\) \['b1'\]"):
        check_mlp_loss_and_grads(no_b1, quiet=True)


# --- the reference, in-place changes, numpy warnings, blanks --------------------------------


def test_checks_reject_the_reference_itself_and_aliases():
    with pytest.raises(ExerciseFailure, match="reference"):
        check_dense_backward(utils.dense_backward, quiet=True)
    with pytest.raises(ExerciseFailure, match="reference"):
        check_mlp_loss_and_grads(utils.reference.backprop.mlp_loss_and_grads, quiet=True)


def test_checks_reject_calls_to_the_reference():
    def via_utils(dZ, X, W):
        return utils.dense_backward(dZ, X, W)

    from utils.reference.backprop import mlp_loss_and_grads as renamed

    def via_import(X, y, params, activation):
        loss, grads = renamed(X, y, params, activation)
        return loss + 0.0, dict(grads)

    with pytest.raises(ExerciseFailure, match=r"calls the course's reference"):
        check_dense_backward(via_utils, quiet=True)
    with pytest.raises(ExerciseFailure, match=r"calls the course's reference"):
        check_mlp_loss_and_grads(via_import, quiet=True)


def test_checks_reject_in_place_changes():
    def scales_dZ(dZ, X, W):
        out = dense_einsum(dZ, X, W)
        dZ *= 2.0
        return out

    def updates_params(X, y, params, activation):
        loss, grads = mlp_own(X, y, params, activation)
        for k in params:  # a training step hidden in the gradient function
            params[k] -= 0.1 * grads[k]
        return loss, grads

    with pytest.raises(ExerciseFailure, match="in place"):
        check_dense_backward(scales_dZ, quiet=True)
    with pytest.raises(ExerciseFailure, match="in place"):
        check_mlp_loss_and_grads(updates_params, quiet=True)


def test_mlp_check_rejects_an_overflowing_sigmoid():
    def naive(X, y, params, activation):
        if activation != "sigmoid":
            return mlp_own(X, y, params, activation)
        s = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731  overflows for z < -709
        Z1 = X @ params["W1"] + params["b1"]
        A = s(Z1)
        Y = A @ params["W2"] + params["b2"]
        dY = 2 * (Y - y) / y.size
        dZ1 = (dY @ params["W2"].T) * A * (1 - A)
        return float(np.mean((Y - y) ** 2)), {"W1": X.T @ dZ1, "b1": dZ1.sum(0),
                                              "W2": A.T @ dY, "b2": dY.sum(0)}

    with pytest.raises(ExerciseFailure, match=r"saturated sigmoid(.|\n)*numpy warned"):
        check_mlp_loss_and_grads(naive, quiet=True)


def test_blank_answers_say_what_to_do():
    def blank(*args):
        raise NotImplementedError()

    for check in (check_dense_backward, check_mlp_loss_and_grads):
        with pytest.raises(ExerciseFailure, match="not written yet"):
            check(blank, quiet=True)


def test_yours_or_reference_finds_these_checks(capsys):
    assert check_for("dense_backward") is check_dense_backward
    assert check_for("mlp_loss_and_grads") is check_mlp_loss_and_grads

    def dense_backward(dZ, X, W):
        raise NotImplementedError()

    assert yours_or_reference(dense_backward) is utils.dense_backward
    assert "reference" in capsys.readouterr().out
    dense_einsum.__name__ = "dense_backward"
    try:
        assert yours_or_reference(dense_einsum) is dense_einsum
    finally:
        dense_einsum.__name__ = "dense_einsum"
