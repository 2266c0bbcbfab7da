"""The checks of notebook 05 accept correct answers written differently and explain mistakes."""
import copy
import inspect

import numpy as np
import pytest

import utils
from utils.exercises.checking import ExerciseFailure
from utils.exercises import optim as ex
from utils.exercises import yours_or_reference

CHECKS = {
    "init_weights": (ex.check_init_weights, ex.INIT_MISTAKES),
    "gradient_descent": (ex.check_gradient_descent, ex.GD_MISTAKES),
    "minibatch_sgd": (ex.check_minibatch_sgd, ex.SGD_MISTAKES),
}


def _fails(check, student, *needles):
    with pytest.raises(ExerciseFailure) as info:
        check(student, quiet=True)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    return message


# --- correct answers, written in other ways -----------------------------------------------------

def init_with_normal(shape, sigma, rng):
    return rng.normal(0.0, sigma, size=shape)


def init_with_loc_scale_keywords(shape, sigma, rng):
    return rng.normal(loc=0, scale=sigma, size=shape).astype(np.float64)


def gd_preallocated(grad_fn, w_init, lr, n_steps):
    out = np.zeros((n_steps + 1,) + np.shape(w_init))
    out[0] = w_init
    for t in range(n_steps):
        out[t + 1] = out[t] - lr * grad_fn(out[t].copy())
    return out


def gd_list_of_copies(grad_fn, w_init, lr, n_steps):
    w = w_init.copy()
    rows = [w.copy()]
    for _ in range(n_steps):
        w -= lr * grad_fn(w)  # in place on a private copy, stored as copies: fine
        rows.append(w.copy())
    return np.stack(rows)


def sgd_with_shuffle_and_while(grad_fn, w_init, X, y, lr, batch_size, n_epochs, rng):
    w, N, losses = w_init + 0.0, X.shape[0], []
    for _ in range(n_epochs):
        order = np.arange(N)
        rng.shuffle(order)  # the same draws as rng.permutation(N)
        k, total, count = 0, 0.0, 0
        while k < N:
            idx = order[k:k + batch_size]
            loss, g = grad_fn(w, X[idx], y[idx])
            total, count = total + loss, count + 1
            w = w - lr * g
            k += batch_size
        losses.append(total / count)
    return w, np.array(losses)


def sgd_with_batch_list(grad_fn, w_init, X, y, lr, batch_size, n_epochs, rng):
    w = np.array(w_init, dtype=float)
    losses = []
    for _ in range(n_epochs):
        perm = rng.permutation(len(X))
        batches = [perm[i:i + batch_size] for i in range(0, len(perm), batch_size)]
        epoch = [None] * len(batches)
        for j, b in enumerate(batches):
            epoch[j], g = grad_fn(w, X[b], y[b])
            w = w - lr * g
        losses.append(np.mean(epoch))
    return w, losses  # a list is fine too


@pytest.mark.parametrize("name, student", [
    ("init_weights", init_with_normal),
    ("init_weights", init_with_loc_scale_keywords),
    ("gradient_descent", gd_preallocated),
    ("gradient_descent", gd_list_of_copies),
    ("minibatch_sgd", sgd_with_shuffle_and_while),
    ("minibatch_sgd", sgd_with_batch_list),
])
def test_correct_answers_written_differently_pass(name, student):
    check, _ = CHECKS[name]
    check(student, quiet=True)
    check(student, seed=17, n_random=15, quiet=True)


@pytest.mark.parametrize("name", list(CHECKS))
@pytest.mark.parametrize("seed", [0, 1, 2024])
def test_the_reference_passes_its_own_check(name, seed):
    check, _ = CHECKS[name]
    # the reference's source compiled afresh: the same answers, but not the reference itself
    namespace = dict(vars(ex.ref))
    # compiled under the reference's file name: course code, so its helpers may be used
    exec(compile(inspect.getsource(getattr(ex.ref, name)), ex.ref.__file__, "exec"), namespace)
    check(namespace[name], seed=seed, n_random=20, quiet=True)


def test_a_passing_check_prints_a_summary(capsys):
    ex.check_init_weights(init_with_normal)
    assert "init_weights: all" in capsys.readouterr().out


# --- every mistake is recognised, with its hint -------------------------------------------------

@pytest.mark.parametrize("name, index", [(n, i) for n, (_, ms) in CHECKS.items()
                                         for i in range(len(ms))])
def test_each_mistake_fails_with_its_hint(name, index):
    check, mistakes = CHECKS[name]
    mistake = mistakes[index]

    _fails(check, mistake.fn, mistake.hint)  # the course's own code, replayed as an answer


# --- hand-written wrong answers ---------------------------------------------------------------

def init_global_random(shape, sigma, rng):
    return sigma * np.random.standard_normal(shape)


def init_own_generator(shape, sigma, rng):
    return sigma * np.random.default_rng(0).standard_normal(shape)


def init_variance(shape, sigma, rng):
    return rng.normal(0, sigma ** 2, shape)


def gd_ascent(grad_fn, w_init, lr, n_steps):
    rows = [np.array(w_init, dtype=float)]
    for _ in range(n_steps):
        rows.append(rows[-1] + lr * grad_fn(rows[-1]))
    return np.array(rows)


def gd_in_place_on_w_init(grad_fn, w_init, lr, n_steps):
    w, rows = w_init, [w_init.copy()]
    for _ in range(n_steps):
        w -= lr * grad_fn(w)
        rows.append(w.copy())
    return np.array(rows)


def gd_aliasing_rows(grad_fn, w_init, lr, n_steps):
    w = w_init.copy()
    rows = [w]
    for _ in range(n_steps):
        w -= lr * grad_fn(w)
        rows.append(w)
    return np.array(rows)


def gd_missing_w_init(grad_fn, w_init, lr, n_steps):
    w, rows = np.array(w_init, dtype=float), []
    for _ in range(n_steps):
        w = w - lr * grad_fn(w)
        rows.append(w)
    return np.array(rows).reshape((n_steps,) + np.shape(w_init))


def _sgd_body(grad_fn, w, X, y, lr, B, n_epochs, perm_for_epoch, drop_last=False,
              weighted=False):
    N, losses = len(X), []
    for epoch in range(n_epochs):
        perm = perm_for_epoch(epoch)
        stop = N - N % B if drop_last else N
        batch_losses, sizes = [], []
        for k in range(0, stop, B):
            idx = perm[k:k + B]
            loss, g = grad_fn(w, X[idx], y[idx])
            batch_losses.append(loss)
            sizes.append(len(idx))
            w = w - lr * g
        losses.append(np.average(batch_losses, weights=sizes if weighted else None))
    return w, np.array(losses)


def sgd_global_random(grad_fn, w_init, X, y, lr, B, n_epochs, rng):
    return _sgd_body(grad_fn, w_init, X, y, lr, B, n_epochs,
                     lambda e: np.random.permutation(len(X)))


def sgd_shuffle_once(grad_fn, w_init, X, y, lr, B, n_epochs, rng):
    perm = rng.permutation(len(X))
    return _sgd_body(grad_fn, w_init, X, y, lr, B, n_epochs, lambda e: perm)


def sgd_no_shuffle(grad_fn, w_init, X, y, lr, B, n_epochs, rng):
    return _sgd_body(grad_fn, w_init, X, y, lr, B, n_epochs, lambda e: np.arange(len(X)))


def sgd_drop_last(grad_fn, w_init, X, y, lr, B, n_epochs, rng):
    return _sgd_body(grad_fn, w_init, X, y, lr, B, n_epochs,
                     lambda e: rng.permutation(len(X)), drop_last=True)


def sgd_weighted(grad_fn, w_init, X, y, lr, B, n_epochs, rng):
    return _sgd_body(grad_fn, w_init, X, y, lr, B, n_epochs,
                     lambda e: rng.permutation(len(X)), weighted=True)


def sgd_in_place(grad_fn, w_init, X, y, lr, B, n_epochs, rng):
    w, losses = w_init, []
    for _ in range(n_epochs):
        perm = rng.permutation(len(X))
        batch_losses = []
        for k in range(0, len(X), B):
            loss, g = grad_fn(w, X[perm[k:k + B]], y[perm[k:k + B]])
            batch_losses.append(loss)
            w -= lr * g
        losses.append(np.mean(batch_losses))
    return w.copy(), np.array(losses)


@pytest.mark.parametrize("check, student, needles", [
    (ex.check_init_weights, init_global_random, ["never drew from the generator"]),
    (ex.check_init_weights, init_own_generator, ["never drew from the generator"]),
    (ex.check_init_weights, init_variance, ["not by the variance"]),
    (ex.check_gradient_descent, gd_ascent, ["uphill"]),
    (ex.check_gradient_descent, gd_in_place_on_w_init, ["changed its input argument 2 in place"]),
    (ex.check_gradient_descent, gd_aliasing_rows, ["one array stored again and again"]),
    (ex.check_gradient_descent, gd_missing_w_init, ["the first row must be w_init"]),
    (ex.check_minibatch_sgd, sgd_global_random, ["never drew from the generator",
                                                 "rng.permutation(N)"]),
    (ex.check_minibatch_sgd, sgd_shuffle_once, ["shuffled once"]),
    (ex.check_minibatch_sgd, sgd_no_shuffle, ["not shuffled"]),
    (ex.check_minibatch_sgd, sgd_drop_last, ["last, smaller batch is dropped"]),
    (ex.check_minibatch_sgd, sgd_weighted, ["not weighted by batch size"]),
    (ex.check_minibatch_sgd, sgd_in_place, ["changed its input argument 2 in place"]),
])
def test_hand_written_mistakes_get_a_useful_message(check, student, needles):
    message = _fails(check, student, *needles)
    assert "expected" in message or "in place" in message


def test_a_function_using_randomness_besides_rng_is_caught():
    def noisy(shape, sigma, rng):
        return sigma * rng.standard_normal(shape) + 1e-3 * np.random.standard_normal(shape)

    _fails(ex.check_init_weights, noisy, "randomness besides `rng`")


@pytest.mark.parametrize("name", list(CHECKS))
def test_calling_the_reference_is_rejected(name):
    check, _ = CHECKS[name]
    reference = getattr(utils, name)

    def wrapper(*args):
        return reference(*args)

    _fails(check, wrapper, "reference")
    _fails(check, reference, "reference")


def test_calling_the_reference_through_the_module_is_rejected():
    def wrapper(grad_fn, w_init, lr, n_steps):
        return utils.reference.optim.gradient_descent(grad_fn, w_init, lr, n_steps)

    _fails(ex.check_gradient_descent, wrapper, "reference")


@pytest.mark.parametrize("name", list(CHECKS))
def test_an_unwritten_exercise_says_so(name):
    check, _ = CHECKS[name]

    def blank(*args):
        raise NotImplementedError()

    _fails(check, blank, "not written yet")


def test_yours_or_reference_falls_back_and_accepts():
    def init_weights(shape, sigma, rng):
        raise NotImplementedError()

    assert yours_or_reference(init_weights) is utils.init_weights
    init_weights = init_with_normal
    init_weights.__name__ = "init_weights"
    try:
        assert yours_or_reference(init_weights) is init_weights
    finally:
        init_weights.__name__ = "init_with_normal"


# --- the seeded generator used by the cases -----------------------------------------------------

def test_seeded_rng_copies_keep_state_and_compare_by_seed():
    rng = ex.SeededRng(4)
    rng.standard_normal(3)
    twin = copy.deepcopy(rng)
    assert isinstance(twin, ex.SeededRng) and twin == rng
    np.testing.assert_array_equal(twin.standard_normal(5), rng.standard_normal(5))
    assert ex.SeededRng(4) != ex.SeededRng(5)
    np.testing.assert_array_equal(ex.SeededRng(4).permutation(9),
                                  np.random.default_rng(4).permutation(9))


def test_cases_are_reproducible_and_grow_with_n_random():
    assert len(ex.sgd_cases(0, 5)) == len(ex.sgd_cases(0, 0)) + 5
    a, b = ex.gd_cases(3, 2), ex.gd_cases(3, 2)
    np.testing.assert_array_equal(a[-1].args[1], b[-1].args[1])
