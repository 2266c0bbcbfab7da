"""The checks of notebooks 02 and 03 accept right answers written any way and explain wrong ones."""
import math
import re

import numpy as np
import pytest
from exercise_helpers import assert_each_mistake_is_diagnosed

import utils
import utils.reference.activations
import utils.reference.mlp
from utils.exercises.checking import ExerciseFailure
from utils.exercises import activations as act
from utils.exercises import check_for, mlp, yours_or_reference

ACTIVATIONS = list(act.MISTAKES)


def check(name):
    return check_for(name)


# --- right answers written differently --------------------------------------------------------

def sigmoid_two_masks(z):
    z = np.array(z, dtype=float)  # a private copy: writing into it is fine
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1 + e)
    return out


def sigmoid_via_logaddexp(z):
    return np.exp(-np.logaddexp(0, -np.asarray(z, dtype=float)))


def sigmoid_clipped(z):
    return 1 / (1 + np.exp(-np.clip(z, -500, 500)))  # clipping keeps e^{-z} finite


def sigmoid_loop(z):
    z = np.asarray(z, dtype=float)
    flat = [1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
            for v in z.ravel()]
    return np.array(flat).reshape(z.shape)


def sigmoid_grad_exp_form(z):
    e = np.exp(-np.abs(np.asarray(z, dtype=float)))
    return e / (1 + e) ** 2  # sigma'(z) = e^{-|z|} / (1 + e^{-|z|})^2, symmetric in z


def sigmoid_grad_course_sigmoid(z):
    s = utils.sigmoid(z)  # another exercise's reference is allowed here
    return s - s * s


def tanh_from_sigmoid(z):
    return 2 * sigmoid_two_masks(2 * np.asarray(z, dtype=float)) - 1


def tanh_where(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-2 * np.abs(z))
    return np.where(z >= 0, (1 - e) / (1 + e), (e - 1) / (1 + e))


def tanh_expm1(z):
    z = np.asarray(z, dtype=float)
    m = np.expm1(-2 * np.abs(z))
    return -np.sign(z) * m / (2 + m)


def tanh_grad_own_tanh(z):
    return 1 - tanh_where(z) ** 2


def tanh_grad_numpy_tanh(z):
    return 1 - np.tanh(z) ** 2  # only tanh itself must be built from np.exp


def tanh_grad_from_sigmoid(z):
    s = sigmoid_two_masks(2 * np.asarray(z, dtype=float))
    return 4 * s * (1 - s)


def relu_where(z):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, 0.0)


def relu_mask(z):
    z = np.asarray(z, dtype=float)
    return z * (z > 0)


def relu_copy_then_write(z):
    out = np.array(z, dtype=float)
    out[out < 0] = 0
    return out


def relu_grad_where(z):
    return np.where(np.asarray(z) > 0, 1.0, 0.0)


def relu_grad_heaviside(z):
    return np.heaviside(np.asarray(z, dtype=float), 0.0)


def relu_grad_sign(z):
    return (np.sign(np.asarray(z, dtype=float)) + 1) // 2 * (np.asarray(z) != 0)


def dense_einsum(X, W, b):
    return np.einsum("nd,dh->nh", X, W) + b


def dense_loops(X, W, b):
    N, D = X.shape
    H = W.shape[1]
    out = np.zeros((N, H))
    for n in range(N):
        for j in range(H):
            out[n, j] = sum(X[n, i] * W[i, j] for i in range(D)) + b[j]
    return out


def dense_transposes(X, W, b):
    return (W.T @ X.T).T + b[None, :]


def dense_tensordot(X, W, b):
    return np.tensordot(X, W, axes=([1], [0])) + b


def mlp_with_dense(X, params, g):
    return dense_einsum(g(dense_einsum(X, params["W1"], params["b1"])), params["W2"],
                        params["b2"])


def mlp_dot(X, params, g):
    hidden = g(np.dot(X, params["W1"]) + params["b1"])
    return np.dot(hidden, params["W2"]) + params["b2"]


def mlp_course_dense(X, params, g):
    """Using the course's dense_forward (another exercise's reference) is allowed here."""
    return utils.dense_forward(g(utils.dense_forward(X, params["W1"], params["b1"])),
                               params["W2"], params["b2"])


RIGHT = {
    "sigmoid": [sigmoid_two_masks, sigmoid_via_logaddexp, sigmoid_clipped, sigmoid_loop],
    "sigmoid_grad": [sigmoid_grad_exp_form, sigmoid_grad_course_sigmoid],
    "tanh": [tanh_from_sigmoid, tanh_where, tanh_expm1],
    "tanh_grad": [tanh_grad_own_tanh, tanh_grad_numpy_tanh, tanh_grad_from_sigmoid],
    "relu": [relu_where, relu_mask, relu_copy_then_write],
    "relu_grad": [relu_grad_where, relu_grad_heaviside, relu_grad_sign],
    "dense_forward": [dense_einsum, dense_loops, dense_transposes, dense_tensordot],
    "mlp_forward": [mlp_with_dense, mlp_dot, mlp_course_dense],
}
MISTAKES = {**act.MISTAKES, "dense_forward": mlp.DENSE_MISTAKES,
            "mlp_forward": mlp.MLP_MISTAKES}
CASES = {**dict.fromkeys(ACTIVATIONS, act.cases), "dense_forward": mlp.dense_cases,
         "mlp_forward": mlp.mlp_cases}


@pytest.mark.parametrize("name, student", [(n, f) for n, fs in RIGHT.items() for f in fs],
                         ids=lambda v: getattr(v, "__name__", v))
def test_checks_accept_right_answers(name, student, capsys):
    assert check(name)(student) is None  # a number shown in a test cell would be partial credit
    assert "all" in capsys.readouterr().out
    check(name)(student, seed=11, n_random=20, quiet=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 1234])
@pytest.mark.parametrize("name", list(RIGHT))
def test_checks_pass_right_answers_for_many_seeds(name, seed):
    check(name)(RIGHT[name][0], seed=seed, n_random=20, quiet=True)


def test_check_for_finds_every_check():
    for name in ACTIVATIONS:
        assert check_for(name) is getattr(act, f"check_{name}")
    assert check_for("dense_forward") is mlp.check_dense_forward
    assert check_for("mlp_forward") is mlp.check_mlp_forward


# --- each typical mistake is rejected with its hint -------------------------------------------

@pytest.mark.parametrize("name, mistake", [(n, m) for n in MISTAKES for m in MISTAKES[n]],
                         ids=lambda v: v if isinstance(v, str) else v.hint[:40])
def test_checks_explain_each_mistake(name, mistake):
    with pytest.raises(ExerciseFailure) as failure:
        check(name)(mistake.fn, quiet=True)
    assert mistake.hint in str(failure.value)


@pytest.mark.parametrize("name", list(MISTAKES))
def test_every_mistake_is_distinguishable_on_some_case(name):
    """For every mistake some default case shows its own hint (not another mistake's)."""
    assert_each_mistake_is_diagnosed(MISTAKES[name], CASES[name](0, 3))


@pytest.mark.parametrize("name", ["sigmoid_grad", "tanh_grad", "relu_grad"])
def test_gradient_mistakes_are_caught_by_finite_differences_first(name):
    """A derivative off by a factor no listed mistake explains fails the finite-difference
    stage, which shows the derivative's formula as the hint."""
    def doubled(z):
        return 2 * RIGHT[name][0](z)

    with pytest.raises(ExerciseFailure, match=rf"{name} against finite differences(.|\n)*"
                                              rf"likely mistake: {re.escape(act.GRAD_HINTS[name])}"):
        check(name)(doubled, quiet=True)


def test_finite_difference_stage_names_the_matching_mistake():
    def tanh_rule_for_sigmoid(z):
        return 1 - sigmoid_two_masks(z) ** 2

    with pytest.raises(ExerciseFailure, match=r"finite differences(.|\n)*tanh's rule"):
        check("sigmoid_grad")(tanh_rule_for_sigmoid, quiet=True)


# --- stability, plain numbers and ready-made functions ----------------------------------------

def sigmoid_naive(z):
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))


def sigmoid_naive_where(z):
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


def tanh_textbook(z):
    z = np.asarray(z, dtype=float)
    return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))


def sigmoid_grad_naive(z):
    e = np.exp(-np.asarray(z, dtype=float))
    return e / (1 + e) ** 2


@pytest.mark.parametrize("name, student, words", [
    ("sigmoid", sigmoid_naive, "the result is right but numpy warned"),
    ("sigmoid", sigmoid_naive_where, "numpy warned"),
    ("tanh", tanh_textbook, "NaN or inf"),
    ("sigmoid_grad", sigmoid_grad_naive, "numpy warned"),
])
def test_unstable_answers_fail_with_the_stability_hint(name, student, words):
    with pytest.raises(ExerciseFailure) as failure:
        check(name)(student, quiet=True)
    message = str(failure.value)
    assert words in message and "large |z|" in message
    assert act.STABILITY_HINTS[name] in message
    assert "np.where(c, a, b) computes both" in message


def test_plain_python_numbers_get_their_own_hint():
    def relu_grad_astype(z):
        return (z > 0).astype(float)

    with pytest.raises(ExerciseFailure, match=r"Python number(.|\n)*np.asarray\(z, dtype=float\)"):
        check("relu_grad")(relu_grad_astype, quiet=True)


def test_integer_inputs_must_give_floats():
    def sigmoid_empty_like(z):
        z = np.asarray(z)
        out = np.empty_like(z)  # integer for integer z: the fractions are cut off
        out[...] = sigmoid_two_masks(z)
        return out

    with pytest.raises(ExerciseFailure, match="integer array"):
        check("sigmoid")(sigmoid_empty_like, quiet=True)


@pytest.mark.parametrize("student", [
    lambda z: np.tanh(z),
    lambda z: math.tanh(z) if np.ndim(z) == 0 else np.vectorize(math.tanh)(z),
    lambda z: 2 * np.tanh(np.asarray(z) / 2) / (1 + np.tanh(np.asarray(z) / 2) ** 2),
])
def test_tanh_may_not_call_a_ready_made_tanh(student):
    with pytest.raises(ExerciseFailure, match="ready-made tanh(.|\n)*np.exp"):
        check("tanh")(student, quiet=True)


def test_tanh_check_catches_a_nested_helper():
    def tanh(z):
        def helper(v):
            return np.tanh(v)
        return helper(z)

    with pytest.raises(ExerciseFailure, match="ready-made tanh"):
        check("tanh")(tanh, quiet=True)


def test_sigmoid_may_not_call_expit():
    from scipy.special import expit

    def sigmoid(z):
        return expit(z)

    with pytest.raises(ExerciseFailure, match="ready-made expit"):
        check("sigmoid")(sigmoid, quiet=True)


# --- the references are off limits ------------------------------------------------------------

MODULES = {**dict.fromkeys(ACTIVATIONS, utils.reference.activations),
           "dense_forward": utils.reference.mlp, "mlp_forward": utils.reference.mlp}


@pytest.mark.parametrize("name", list(RIGHT))
def test_checks_reject_calling_the_reference(name):
    reference = getattr(utils, name)

    def wrapper(*args, **kwargs):
        return reference(*args, **kwargs)

    def through_module(*args, **kwargs):
        return getattr(MODULES[name], name)(*args, **kwargs)

    for student in (wrapper, through_module):
        with pytest.raises(ExerciseFailure, match="reference"):
            check(name)(student, quiet=True)
    with pytest.raises(ExerciseFailure, match="reference implementation"):
        check(name)(reference, quiet=True)


# --- inputs stay untouched --------------------------------------------------------------------

def relu_inplace(z):
    z = np.asarray(z, dtype=float)  # no copy for a float array: still the caller's
    z[z < 0] = 0
    return z


def sigmoid_inplace(z):
    z = np.asarray(z, dtype=float)
    np.negative(np.abs(z), out=z)
    e = np.exp(z)
    return np.where(np.asarray(z) >= 0, 1 / (1 + e), e / (1 + e))


def dense_inplace(X, W, b):
    b += 1.0  # harmless-looking, but it changes the caller's bias
    return X @ W + b - 1.0


def mlp_inplace(X, params, g):
    params["W1"] *= 2
    return g(X @ (params["W1"] / 2) + params["b1"]) @ params["W2"] + params["b2"]


@pytest.mark.parametrize("name, student", [
    ("relu", relu_inplace), ("sigmoid", sigmoid_inplace), ("dense_forward", dense_inplace),
    ("mlp_forward", mlp_inplace)])
def test_checks_reject_in_place_modification(name, student):
    with pytest.raises(ExerciseFailure, match="in place"):
        check(name)(student, quiet=True)


# --- the fallback the notebooks' experiments use ----------------------------------------------

def test_yours_or_reference(capsys):
    def sigmoid(z):
        raise NotImplementedError()

    assert yours_or_reference(sigmoid) is utils.sigmoid
    assert "reference" in capsys.readouterr().out

    def mlp_forward(X, params, g):
        return mlp_dot(X, params, g)

    assert yours_or_reference(mlp_forward) is mlp_forward
    assert "Using your mlp_forward" in capsys.readouterr().out

    def tanh(z):
        return np.tanh(z)  # right values, but not built from np.exp

    assert yours_or_reference(tanh) is utils.tanh
