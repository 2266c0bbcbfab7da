"""The checks of notebooks 07 and 08 accept right answers written any way and explain wrong ones."""
import functools

import numpy as np
import pytest

import utils
import utils.reference.rnn
from utils.exercises import check_for
from utils.exercises import rnn as ex
from utils.exercises.checking import ExerciseFailure

# --- right answers written differently ------------------------------------------------------


def step_einsum(x_t, h_prev, params):
    a = np.einsum("nd,dh->nh", x_t, params["W_xh"]) + np.einsum("nk,kh->nh", h_prev,
                                                               params["W_hh"])
    return np.tanh(a + params["b_h"])


def step_stacked(x_t, h_prev, params):
    """One dense layer on [x_t h_prev], tanh from exponentials (stable form)."""
    a = np.hstack([x_t, h_prev]) @ np.vstack([params["W_xh"], params["W_hh"]]) + params["b_h"]
    e = np.exp(-2 * np.abs(a))
    return np.sign(a) * (1 - e) / (1 + e)


def forward_loop(X, h0, params):
    N, T, _ = X.shape
    H_all = np.zeros((N, T, h0.shape[1]))
    h = h0
    for t in range(T):
        h = step_einsum(X[:, t], h, params)
        H_all[:, t] = h
    return H_all, np.einsum("nth,hk->ntk", H_all, params["W_hy"]) + params["b_y"]


def forward_time_major(X, h0, params):
    """Time-major inside, a list for the result, per-sequence read-out."""
    states, h = [], h0
    for x_t in np.transpose(X, (1, 0, 2)):
        h = step_stacked(x_t, h, params)
        states.append(h)
    H_all = np.transpose(np.array(states), (1, 0, 2))
    return [H_all, np.array([s @ params["W_hy"] + params["b_y"] for s in H_all])]


def embed_take(indices, E):
    return np.take(E, indices, axis=0)


def embed_one_hot(indices, E):
    return np.eye(E.shape[0])[indices] @ E


def backward_loop(dH, X, h0, H_all, params):
    """BPTT with explicit accumulators and utils.tanh_grad-free slopes."""
    N, T, H = H_all.shape
    grads = {"W_xh": np.zeros_like(params["W_xh"]), "W_hh": np.zeros_like(params["W_hh"]),
             "b_h": np.zeros(H), "X": np.zeros_like(X)}
    dh_next = np.zeros((N, H))
    for t in reversed(range(T)):
        da = (dH[:, t] + dh_next) * (1 - H_all[:, t] ** 2)
        h_prev = H_all[:, t - 1] if t > 0 else h0
        grads["W_xh"] += X[:, t].T @ da
        grads["W_hh"] += h_prev.T @ da
        grads["b_h"] += da.sum(axis=0)
        grads["X"][:, t] = da @ params["W_xh"].T
        dh_next = da @ params["W_hh"].T
    grads["h0"] = dh_next
    return grads


def backward_vectorised(dH, X, h0, H_all, params):
    """The loop keeps only the carry; weight gradients in one einsum each, via dense_backward
    of notebook 06 (an earlier notebook's function: allowed)."""
    N, T, H = H_all.shape
    dA = np.zeros_like(H_all)
    carry = 0.0
    for t in range(T - 1, -1, -1):
        dA[:, t] = (dH[:, t] + carry) * (1 - H_all[:, t] * H_all[:, t])
        carry = dA[:, t] @ params["W_hh"].T
    prev = np.concatenate([h0[:, None], H_all[:, :-1]], axis=1)
    dX, dW_xh, db_h = utils.dense_backward(dA.reshape(N * T, H), X.reshape(N * T, -1),
                                           params["W_xh"])
    return {"W_xh": dW_xh, "W_hh": np.einsum("nth,ntk->hk", prev, dA), "b_h": db_h,
            "X": dX.reshape(X.shape), "h0": carry}


def clip_plain(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def clip_flat(grads, max_norm):
    """Through one flat vector and np.linalg.norm; returns copies always, a list for the pair."""
    flat = np.concatenate([np.ravel(g) for g in grads.values()]).astype(float)
    norm = float(np.linalg.norm(flat))
    factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return [{k: np.array(g, dtype=float) * factor for k, g in grads.items()}, norm]


RIGHT = {
    "rnn_step": [step_einsum, step_stacked],
    "rnn_forward": [forward_loop, forward_time_major],
    "embed": [embed_take, embed_one_hot],
    "rnn_backward": [backward_loop, backward_vectorised],
    "clip_by_global_norm": [clip_plain, clip_flat],
}
CASES = [(name, f) for name, fs in RIGHT.items() for f in fs]


@pytest.mark.parametrize("name, student", CASES, ids=[f.__name__ for _, f in CASES])
def test_checks_accept_right_answers(name, student, capsys):
    check = check_for(name)
    assert check(student) is None  # a shown number would read as credit
    assert "all" in capsys.readouterr().out
    check(student, seed=11, n_random=20, quiet=True)


@pytest.mark.parametrize("seed", [1, 2, 1234])
def test_checks_pass_right_answers_for_many_seeds(seed):
    for name, student in CASES[::2]:
        check_for(name)(student, seed=seed, n_random=10, quiet=True)


# --- each typical mistake is rejected with its hint -----------------------------------------

MISTAKES = [("rnn_step", m) for m in ex.STEP_MISTAKES] + \
    [("rnn_forward", m) for m in ex.FORWARD_MISTAKES] + \
    [("embed", m) for m in ex.EMBED_MISTAKES] + \
    [("rnn_backward", m) for m in ex.BACKWARD_MISTAKES] + \
    [("clip_by_global_norm", m) for m in ex.CLIP_MISTAKES]


@pytest.mark.parametrize("name, mistake", MISTAKES, ids=[f"{n}: {m.hint[:40]}"
                                                         for n, m in MISTAKES])
def test_each_mistake_is_explained(name, mistake):
    with pytest.raises(ExerciseFailure) as failure:
        check_for(name)(mistake.fn, quiet=True)
    assert mistake.hint in str(failure.value)


def test_the_issues_mistakes_are_named():
    """The mistakes issue 16 lists each have a hint of their own."""
    hints = " ".join(m.hint for m in ex.BACKWARD_MISTAKES + ex.CLIP_MISTAKES)
    for words in ("not carried to earlier steps", "`=` where `+=` belongs",
                  "tanh's derivative is missing", "tanh' is taken at the wrong point",
                  "per-tensor clipping", "the norm returned is the one after clipping"):
        assert words in hints


def test_gradient_not_carried_is_caught_by_finite_differences_first():
    """The first message names the gradient, the finite differences and the cause."""
    not_carried = functools.partial(ex._backward, carry=False)  # the course's mistake

    with pytest.raises(ExerciseFailure,
                       match=r"grads\['b_h'\] against finite differences(.|\n)*not carried"):
        ex.check_rnn_backward(not_carried, quiet=True)


def test_tanh_derivative_at_the_pre_activation_is_named():
    """tanh_grad applied to H_all (the states) instead of 1 - H_all**2."""
    def wrong_point(dH, X, h0, H_all, params):
        g = backward_loop(dH, X, h0, H_all, params)
        N, T, H = H_all.shape
        dh_next = np.zeros((N, H))
        out = {k: np.zeros_like(v) for k, v in g.items()}
        for t in reversed(range(T)):
            da = (dH[:, t] + dh_next) * utils.tanh_grad(H_all[:, t])
            h_prev = H_all[:, t - 1] if t > 0 else h0
            out["W_xh"] += X[:, t].T @ da
            out["W_hh"] += h_prev.T @ da
            out["b_h"] += da.sum(0)
            out["X"][:, t] = da @ params["W_xh"].T
            dh_next = da @ params["W_hh"].T
        out["h0"] = dh_next
        return out

    with pytest.raises(ExerciseFailure, match=r"tanh' is taken at the wrong point"):
        ex.check_rnn_backward(wrong_point, quiet=True)


def test_an_unknown_wrong_gradient_gets_the_generic_hint():
    def off(dH, X, h0, H_all, params):
        g = backward_loop(dH, X, h0, H_all, params)
        g["W_hh"] = g["W_hh"] + 0.1
        return g

    with pytest.raises(ExerciseFailure, match=r"grads\['W_hh'\](.|\n)*h_\{t-1\}\.T @ da_t"):
        ex.check_rnn_backward(off, quiet=True)


def test_clipping_in_place_is_named():
    def in_place(grads, max_norm):
        norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
        if norm > max_norm:
            for g in grads.values():
                g *= max_norm / norm
        return grads, norm

    def into_the_same_dict(grads, max_norm):
        clipped, norm = clip_plain(grads, max_norm)
        grads.update(clipped)
        return grads, norm

    for student in (in_place, into_the_same_dict):
        with pytest.raises(ExerciseFailure, match=r"modified the dict of gradients"):
            ex.check_clip_by_global_norm(student, quiet=True)


def test_clipping_at_zero_norm_must_not_divide_by_zero():
    def divides(grads, max_norm):
        norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
        scale = np.minimum(1.0, max_norm / np.float64(norm))
        return {k: g * scale for k, g in grads.items()}, norm

    with pytest.raises(ExerciseFailure, match=r"all zeros(.|\n)*numpy warned"):
        ex.check_clip_by_global_norm(divides, quiet=True)


def test_wrong_shapes_and_missing_keys_are_reported():
    def time_major(X, h0, params):
        H_all, Y = forward_loop(X, h0, params)
        return H_all.swapaxes(0, 1), Y.swapaxes(0, 1)

    with pytest.raises(ExerciseFailure, match=r"time-major"):
        ex.check_rnn_forward(time_major, quiet=True)

    def no_h0(dH, X, h0, H_all, params):
        g = backward_loop(dH, X, h0, H_all, params)
        del g["h0"]
        return g

    with pytest.raises(ExerciseFailure, match=r"missing key\(s\) \['h0'\]"):
        ex.check_rnn_backward(no_h0, quiet=True)


# --- the references, in-place changes, blanks -----------------------------------------------


@pytest.mark.parametrize("name", list(RIGHT))
def test_checks_reject_the_reference_and_calls_to_it(name):
    reference = getattr(utils, name)
    with pytest.raises(ExerciseFailure, match="reference"):
        check_for(name)(reference, quiet=True)

    def wrapper(*args):
        return getattr(utils.reference.rnn, name)(*args)

    with pytest.raises(ExerciseFailure, match=r"calls the course's reference"):
        check_for(name)(wrapper, quiet=True)


def forward_via_step(X, h0, params):
    """Calls utils.rnn_step (the grader hands every exercise the others' references)."""
    states, h = [], h0
    for t in range(X.shape[1]):
        h = utils.rnn_step(X[:, t], h, params)
        states.append(h)
    H_all = np.stack(states, axis=1)
    return H_all, H_all @ params["W_hy"] + params["b_y"]


def test_later_references_and_private_helpers_are_refused():
    def step_via_forward(x_t, h_prev, params):
        H = params["W_hh"].shape[0]
        out = {**params, "W_hy": np.zeros((H, 1)), "b_y": np.zeros(1)}
        return utils.rnn_forward(x_t[:, None], h_prev, out)[0][:, 0]

    def forward_via_helper(X, h0, params):
        states = utils.reference.rnn._hidden_states(X, h0, params["W_xh"], params["W_hh"],
                                                    params["b_h"])
        H_all = states[1:].swapaxes(0, 1)
        return H_all, H_all @ params["W_hy"] + params["b_y"]

    def clip_inside_backward(dH, X, h0, H_all, params):
        g = backward_loop(dH, X, h0, H_all, params)
        return utils.clip_by_global_norm(g, 1e300)[0]

    for check, student in ((ex.check_rnn_step, step_via_forward),
                           (ex.check_rnn_forward, forward_via_helper),
                           (ex.check_rnn_backward, clip_inside_backward)):
        with pytest.raises(ExerciseFailure, match=r"calls the course's reference"):
            check(student, quiet=True)


def test_earlier_exercises_of_the_notebook_are_allowed():
    ex.check_rnn_forward(forward_via_step, quiet=True)


def test_earlier_notebooks_functions_are_allowed():
    """An 08 answer may run notebook 07's forward pass (the course's) inside its backward."""
    def backward_recomputing_states(dH, X, h0, H_all, params):
        H = params["W_hh"].shape[0]
        states, _ = utils.rnn_forward(X, h0, {**params, "W_hy": np.zeros((H, 1)),
                                              "b_y": np.zeros(1)})
        return backward_loop(dH, X, h0, np.asarray(states), params)

    ex.check_rnn_backward(backward_recomputing_states, quiet=True)


def test_checks_reject_in_place_changes():
    def scales_X(X, h0, params):
        out = forward_loop(X, h0, params)
        X *= 2.0
        return out

    with pytest.raises(ExerciseFailure, match="in place"):
        ex.check_rnn_forward(scales_X, quiet=True)


def test_blank_answers_say_what_to_do():
    def blank(*args):
        raise NotImplementedError()

    for name in RIGHT:
        with pytest.raises(ExerciseFailure, match="not written yet"):
            check_for(name)(blank, quiet=True)


def test_backward_cases_include_one_step_and_come_from_their_own_forward_pass():
    cases = ex.backward_cases(0, 5)
    assert any(c.args[1].shape[1] == 1 for c in cases), "a T = 1 case is missing"
    for case in cases:
        dH, X, h0, H_all, params = case.args
        np.testing.assert_allclose(H_all, utils.rnn_forward(
            X, h0, {**params, "W_hy": np.zeros((h0.shape[1], 1)), "b_y": np.zeros(1)})[0],
            rtol=1e-12, atol=1e-14)


def test_the_mistake_helpers_are_right_when_nothing_is_swapped():
    """_backward and _clip with default arguments are the references' maths."""
    rng = np.random.default_rng(5)
    for case in ex.backward_cases(3, 5):
        got, want = ex._backward(*case.args), utils.rnn_backward(*case.args)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-12)
    grads = {"a": rng.standard_normal((3, 2)), "b": rng.standard_normal(4)}
    for max_norm in (0.1, 1.0, 100.0):
        got, want = ex._clip(grads, max_norm), utils.clip_by_global_norm(grads, max_norm)
        assert got[1] == pytest.approx(want[1])
        for k in grads:
            np.testing.assert_allclose(got[0][k], want[0][k])
