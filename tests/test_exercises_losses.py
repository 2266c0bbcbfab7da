"""The checks of notebook 04 accept right answers written any way and explain wrong ones."""
import re

import numpy as np
import pytest
from exercise_helpers import assert_each_mistake_is_diagnosed

import utils
import utils.reference.losses
from utils.exercises.checking import ExerciseFailure
from utils.exercises import losses as ex
from utils.exercises import check_for, yours_or_reference

NAMES = list(ex.MISTAKES)


def check(name):
    return getattr(ex, f"check_{name}")


# --- right answers written differently ------------------------------------------------------

def mse_loss_loops(y_pred, y_true):
    total, n = 0.0, 0
    for a, b in zip(np.ravel(y_pred), np.ravel(y_true)):
        total += (a - b) ** 2
        n += 1
    return total / n


def mse_loss_einsum(y_pred, y_true):
    d = (y_pred - y_true).ravel()
    return np.einsum("i,i->", d, d) / d.size


def mse_grad_mean(y_pred, y_true):
    return 2 * (y_pred - y_true) / np.prod(np.shape(y_pred))


def bce_loss_where(p, y, eps=1e-12):
    p = np.minimum(np.maximum(p, eps), 1 - eps)
    return -np.sum(np.where(y == 1, np.log(p), 0) + np.where(y == 1, 0, (1 - y) * np.log(1 - p))
                   + np.where((y > 0) & (y < 1), y * np.log(p), 0)) / p.size


def bce_grad_ratio(p, y, eps=1e-12):
    p = np.clip(p, eps, 1 - eps)
    return (-(y / p) + (1 - y) / (1 - p)) / np.size(p)


def bce_logits_logaddexp(z, y):
    return np.mean(np.logaddexp(0, z) - y * z)


def bce_logits_two_sided(z, y):
    """y softplus(-z) + (1 - y) softplus(z), each softplus stable."""
    def softplus(u):
        return np.maximum(u, 0) + np.log1p(np.exp(-np.abs(u)))
    return float(np.mean(y * softplus(-z) + (1 - y) * softplus(z)))


def bce_logits_grad_tanh(z, y):
    return (0.5 * (1 + np.tanh(z / 2)) - y) / z.size


def bce_logits_grad_course_sigmoid(z, y):
    return (utils.sigmoid(z) - y) / z.size  # notebook 02's reference is allowed here


def softmax_moveaxis(x, axis=-1):
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    e = np.exp(x - x.max(axis=-1)[..., None])
    return np.moveaxis(e / e.sum(axis=-1)[..., None], -1, axis)


def ce_loss_loop(logits, labels):
    total = 0.0
    for z, k in zip(logits, labels):
        m = max(z)
        total += m + np.log(sum(np.exp(v - m) for v in z)) - z[k]
    return total / len(labels)


def ce_loss_onehot(logits, labels):
    m = logits.max(axis=1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    return -np.sum(np.eye(logits.shape[1])[labels] * logp) / logits.shape[0]


def ce_grad_inplace_copy(logits, labels):
    G = softmax_moveaxis(logits, axis=1)  # a fresh array, so editing it is fine
    G[np.arange(len(labels)), labels] -= 1
    return G / len(labels)


def ce_grad_course_softmax(logits, labels):
    """Calling utils.softmax (another exercise's reference) is allowed."""
    return (utils.softmax(logits, axis=1) - np.eye(logits.shape[1])[labels]) / len(labels)


RIGHT = {
    "mse_loss": [mse_loss_loops, mse_loss_einsum],
    "mse_grad": [mse_grad_mean],
    "bce_loss": [bce_loss_where],
    "bce_grad": [bce_grad_ratio],
    "bce_with_logits_loss": [bce_logits_logaddexp, bce_logits_two_sided],
    "bce_with_logits_grad": [bce_logits_grad_tanh, bce_logits_grad_course_sigmoid],
    "softmax": [softmax_moveaxis],
    "cross_entropy_loss": [ce_loss_loop, ce_loss_onehot],
    "cross_entropy_grad": [ce_grad_inplace_copy, ce_grad_course_softmax],
}


@pytest.mark.parametrize("name, student", [(n, f) for n, fs in RIGHT.items() for f in fs],
                         ids=lambda v: getattr(v, "__name__", v))
def test_checks_accept_right_answers(name, student, capsys):
    assert check(name)(student) is None  # a number shown by a test cell is partial credit
    assert "all" in capsys.readouterr().out
    check(name)(student, seed=11, n_random=20, quiet=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 1234])
@pytest.mark.parametrize("name", NAMES)
def test_checks_pass_right_answers_for_many_seeds(name, seed):
    check(name)(RIGHT[name][0], seed=seed, n_random=20, quiet=True)


def test_check_for_finds_every_check():
    for name in NAMES:
        assert check_for(name) is check(name)


# --- each typical mistake is rejected with its hint -----------------------------------------

def mse_rows_only_on_matrices(y_pred, y_true):
    """Right on vectors, rows-then-mean on matrices: the mistake the rows hint describes."""
    d = (y_pred - y_true) ** 2
    return np.mean(d) if d.ndim == 1 else np.mean(np.sum(d, axis=1))


# a mistake that coincides with another on the early cases is played by a function making
# only that mistake where it shows
STUDENT_FOR = {ex.MISTAKES["mse_loss"][5].hint: mse_rows_only_on_matrices}


@pytest.mark.parametrize("name, mistake", [(n, m) for n in NAMES for m in ex.MISTAKES[n]],
                         ids=lambda v: v if isinstance(v, str) else v.hint[:40])
def test_checks_explain_each_mistake(name, mistake):
    student = STUDENT_FOR.get(mistake.hint, mistake.fn)
    with pytest.raises(ExerciseFailure) as failure:
        check(name)(student, quiet=True)
    assert mistake.hint in str(failure.value)


@pytest.mark.parametrize("name", NAMES)
def test_every_mistake_is_distinguishable_on_some_case(name):
    """For every mistake some default case shows its own hint (not another mistake's)."""
    assert_each_mistake_is_diagnosed(ex.MISTAKES[name], ex.CASES[name](0, 3))


@pytest.mark.parametrize("name", [n for n in NAMES if n.endswith("_grad")])
def test_gradient_mistakes_are_caught_by_finite_differences_first(name):
    """A gradient off by a factor no listed mistake explains: the finite-difference stage
    fails first and shows the gradient's formula as the hint."""
    def doubled(*args):
        return 2 * RIGHT[name][0](*args)

    with pytest.raises(ExerciseFailure, match=rf"{name} against finite differences of "
                                              rf"{name[:-5]}_loss(.|\n)*likely mistake: "
                                              rf"{re.escape(ex.GRAD_HINTS[name])}"):
        check(name)(doubled, quiet=True)


def test_finite_difference_stage_names_the_matching_mistake():
    def no_factor_two(y_pred, y_true):
        return (y_pred - y_true) / y_pred.size

    with pytest.raises(ExerciseFailure, match=r"finite differences(.|\n)*factor 2"):
        check("mse_grad")(no_factor_two, quiet=True)

    def forgot_mean(logits, labels):
        return ce_grad_inplace_copy(logits, labels) * len(labels)

    with pytest.raises(ExerciseFailure, match=r"finite differences(.|\n)*1/N of the mean"):
        check("cross_entropy_grad")(forgot_mean, quiet=True)


def test_naive_but_right_answers_fail_on_numpy_warnings():
    def naive_sigmoid_grad(z, y):
        return (1 / (1 + np.exp(-z)) - y) / z.size  # right values, but warns at z = -1000

    with pytest.raises(ExerciseFailure, match="numpy warned"):
        check("bce_with_logits_grad")(naive_sigmoid_grad, quiet=True)

    def clipped_log_softmax(logits, labels):
        p = np.clip(softmax_moveaxis(logits, axis=1), 1e-300, 1)
        return -np.mean(np.log(p[np.arange(len(labels)), labels]))

    with pytest.raises(ExerciseFailure, match="large logits"):
        check("cross_entropy_loss")(clipped_log_softmax, quiet=True)


# --- the references are off limits ------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_checks_reject_calling_the_reference(name):
    reference = getattr(utils, name)

    def wrapper(*args, **kwargs):
        return reference(*args, **kwargs)

    def through_module(*args, **kwargs):
        return getattr(utils.reference.losses, name)(*args, **kwargs)

    for student in (wrapper, through_module):
        with pytest.raises(ExerciseFailure, match="reference"):
            check(name)(student, quiet=True)
    with pytest.raises(ExerciseFailure, match="reference implementation"):
        check(name)(reference, quiet=True)


@pytest.mark.parametrize("name, loss", [("mse_grad", "mse_loss"), ("bce_grad", "bce_loss"),
                                        ("bce_with_logits_grad", "bce_with_logits_loss"),
                                        ("cross_entropy_grad", "cross_entropy_loss")])
def test_gradients_may_not_differentiate_the_course_loss(name, loss):
    from utils.exercises.gradcheck import numerical_gradient

    reference_loss = getattr(utils, loss)

    def by_finite_differences(x, y, *rest):
        return numerical_gradient(lambda v: reference_loss(v, y, *rest), x)

    with pytest.raises(ExerciseFailure, match="reference"):
        check(name)(by_finite_differences, quiet=True)


def test_cross_entropy_may_not_use_the_private_log_softmax():
    def private(logits, labels):
        return -np.mean(utils.reference.losses._log_softmax(logits)[np.arange(len(labels)), labels])

    with pytest.raises(ExerciseFailure, match="reference"):
        check("cross_entropy_loss")(private, quiet=True)


# --- inputs stay untouched ------------------------------------------------------------------

def test_checks_reject_in_place_modification():
    def mse_inplace(y_pred, y_true):
        y_pred -= y_true
        return float(np.mean(y_pred ** 2))

    def bce_clip_inplace(p, y, eps=1e-12):
        np.clip(p, eps, 1 - eps, out=p)
        return -float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    def softmax_inplace(x, axis=-1):
        x -= x.max(axis=axis, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=axis, keepdims=True)
        return x

    def ce_grad_inplace(logits, labels):
        logits -= logits.max(axis=1, keepdims=True)
        P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return (P - np.eye(P.shape[1])[labels]) / len(labels)

    for name, student in [("mse_loss", mse_inplace), ("bce_loss", bce_clip_inplace),
                          ("softmax", softmax_inplace), ("cross_entropy_grad", ce_grad_inplace)]:
        with pytest.raises(ExerciseFailure, match="in place"):
            check(name)(student, quiet=True)


# --- the fallback the notebook's experiments use ----------------------------------------------

def test_yours_or_reference(capsys):
    def cross_entropy_loss(logits, labels):
        raise NotImplementedError()

    assert yours_or_reference(cross_entropy_loss) is utils.cross_entropy_loss
    assert "reference" in capsys.readouterr().out

    def softmax(x, axis=-1):
        return softmax_moveaxis(x, axis)

    assert yours_or_reference(softmax) is softmax
    assert "Using your softmax" in capsys.readouterr().out
