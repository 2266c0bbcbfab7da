"""The references of notebooks 07 and 08 (RNN, embedding, BPTT, clipping) against PyTorch's
nn.RNNCell / nn.RNN and autograd (float64), finite differences, and hypothesis."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import utils
from utils.exercises.gradcheck import numerical_gradient
from numerics import quiet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the backward passes")

RNN_KEYS = ("W_xh", "W_hh", "b_h")
sizes = st.integers(1, 5)
seeds = st.integers(0, 2**32 - 1)


def _params(rng, D, H, K, scale=1.0):
    return {"W_xh": scale * rng.standard_normal((D, H)) / np.sqrt(D),
            "W_hh": scale * rng.standard_normal((H, H)) / np.sqrt(H),
            "b_h": rng.standard_normal(H), "W_hy": rng.standard_normal((H, K)),
            "b_y": rng.standard_normal(K)}


def _inputs(rng, N, T, D, H, K, scale=1.0):
    return rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), _params(rng, D, H, K, scale)


def _torch_rnn(params):
    """nn.RNN (tanh, batch first) holding the same weights: PyTorch's weight_ih is W_xh.T."""
    D, H = params["W_xh"].shape
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(params["W_xh"].T))
        rnn.weight_hh_l0.copy_(torch.tensor(params["W_hh"].T))
        rnn.bias_ih_l0.copy_(torch.tensor(params["b_h"]))
        rnn.bias_hh_l0.zero_()
    return rnn


def _torch_rnn_grads(dH, X, h0, params):
    """Autograd's gradients of sum(dH * H_all) (so dH is dJ/dH_all through the outputs)."""
    rnn = _torch_rnn(params)
    tX, th0 = torch.tensor(X, requires_grad=True), torch.tensor(h0, requires_grad=True)
    H_all, _ = rnn(tX, th0[None])
    H_all.backward(torch.tensor(dH))
    return H_all.detach().numpy(), {
        "W_xh": rnn.weight_ih_l0.grad.numpy().T, "W_hh": rnn.weight_hh_l0.grad.numpy().T,
        "b_h": rnn.bias_ih_l0.grad.numpy(), "X": tX.grad.numpy(), "h0": th0.grad.numpy()}


# --- rnn_step and rnn_forward -------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(N=sizes, D=sizes, H=sizes, seed=seeds)
def test_rnn_step_matches_torch_rnn_cell(N, D, H, seed):
    rng = np.random.default_rng(seed)
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    p = _params(rng, D, H, 1)
    cell = torch.nn.RNNCell(D, H, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(p["W_xh"].T))
        cell.weight_hh.copy_(torch.tensor(p["W_hh"].T))
        cell.bias_ih.copy_(torch.tensor(p["b_h"]))
        cell.bias_hh.zero_()
        expected = cell(torch.tensor(x), torch.tensor(h)).numpy()
    h_t = utils.rnn_step(x, h, p)
    assert h_t.shape == (N, H) and h_t.dtype == np.float64
    np.testing.assert_allclose(h_t, expected, rtol=1e-12, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(N=sizes, T=sizes, D=sizes, H=sizes, K=sizes, seed=seeds)
def test_rnn_forward_matches_torch_rnn(N, T, D, H, K, seed):
    X, h0, p = _inputs(np.random.default_rng(seed), N, T, D, H, K)
    with torch.no_grad():
        expected, _ = _torch_rnn(p)(torch.tensor(X), torch.tensor(h0)[None])
    H_all, Y = utils.rnn_forward(X, h0, p)
    assert H_all.shape == (N, T, H) and Y.shape == (N, T, K)
    np.testing.assert_allclose(H_all, expected.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(Y, H_all @ p["W_hy"] + p["b_y"], rtol=1e-12, atol=1e-13)


def test_rnn_forward_is_rnn_step_with_the_same_weights_at_every_step():
    X, h0, p = _inputs(np.random.default_rng(0), 3, 6, 4, 5, 2)
    H_all, _ = utils.rnn_forward(X, h0, p)
    h = h0
    for t in range(6):
        h = utils.rnn_step(X[:, t], h, p)
        np.testing.assert_allclose(H_all[:, t], h, rtol=1e-13, atol=1e-15)


def test_rnn_forward_is_stable_for_huge_pre_activations():
    X, h0, p = _inputs(np.random.default_rng(1), 2, 4, 3, 4, 2, scale=1000.0)
    H_all, Y = quiet(utils.rnn_forward, X, h0, p)
    assert np.all(np.abs(H_all) <= 1) and np.all(np.isfinite(Y))
    with torch.no_grad():
        expected, _ = _torch_rnn(p)(torch.tensor(X), torch.tensor(h0)[None])
    np.testing.assert_allclose(H_all, expected.numpy(), rtol=1e-12, atol=1e-13)


# --- embed ----------------------------------------------------------------------------------

def test_embed_is_a_one_hot_matmul_and_a_new_array():
    rng = np.random.default_rng(2)
    E = rng.standard_normal((7, 3))
    idx = np.array([[0, 6, 6], [2, 0, 5]])
    out = utils.embed(idx, E)
    assert out.shape == (2, 3, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(out, np.eye(7)[idx] @ E)
    out[0, 0] = 99.0  # the caller owns the result: E is untouched
    assert not np.any(E == 99.0)
    np.testing.assert_array_equal(utils.embed(idx.tolist(), E.tolist()), np.eye(7)[idx] @ E)
    np.testing.assert_array_equal(
        utils.embed(idx.astype(np.uint8), E),
        torch.nn.functional.embedding(torch.tensor(idx), torch.tensor(E)).numpy())


@pytest.mark.parametrize("idx, message", [
    (np.array([[0.0, 1.0]]), r"indices must be integer token ids, got dtype float64"),
    (np.array([[0, 7]]), r"indices must lie in \[0, V\) = \[0, 7\), got 7"),
    (np.array([[-1, 2]]), r"got -1"),
    (np.array([0, 1]), r"indices has shape \(2,\), expected \(N, T\)"),
])
def test_embed_rejects_bad_indices(idx, message):
    with pytest.raises(ValueError, match=message):
        utils.embed(idx, np.ones((7, 3)))


# --- rnn_backward ---------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(N=sizes, T=sizes, D=sizes, H=sizes, seed=seeds)
def test_rnn_backward_matches_autograd(N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    X, h0, p = _inputs(rng, N, T, D, H, 2)
    dH = rng.standard_normal((N, T, H))
    H_all, _ = utils.rnn_forward(X, h0, p)
    grads = utils.rnn_backward(dH, X, h0, H_all, p)
    _, expected = _torch_rnn_grads(dH, X, h0, p)
    assert set(grads) == {"W_xh", "W_hh", "b_h", "X", "h0"}
    for k, v in expected.items():
        assert grads[k].shape == v.shape, k
        np.testing.assert_allclose(grads[k], v, rtol=1e-10, atol=1e-12, err_msg=k)


def test_rnn_backward_against_finite_differences_of_a_loss_through_the_outputs():
    """J = sum(G * Y): dH[:, t] = G[:, t] @ W_hy.T is the own-output path of each step."""
    rng = np.random.default_rng(3)
    N, T, D, H, K = 2, 4, 3, 3, 2
    X, h0, p = _inputs(rng, N, T, D, H, K)
    G = rng.standard_normal((N, T, K))

    def loss(X=X, h0=h0, **changed):
        return np.sum(G * utils.rnn_forward(X, h0, {**p, **changed})[1])

    H_all, _ = utils.rnn_forward(X, h0, p)
    grads = utils.rnn_backward(G @ p["W_hy"].T, X, h0, H_all, p)
    for k in RNN_KEYS:
        numeric = numerical_gradient(lambda v: loss(**{k: v}), p[k])
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-8, err_msg=k)
    np.testing.assert_allclose(grads["X"], numerical_gradient(lambda v: loss(X=v), X),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grads["h0"], numerical_gradient(lambda v: loss(h0=v), h0),
                               rtol=1e-6, atol=1e-8)


def test_rnn_backward_accepts_hidden_states_in_any_memory_layout():
    rng = np.random.default_rng(4)
    X, h0, p = _inputs(rng, 3, 5, 2, 4, 1)
    dH = rng.standard_normal((3, 5, 4))
    H_all, _ = utils.rnn_forward(X, h0, p)
    a = utils.rnn_backward(dH, X, h0, H_all, p)
    b = utils.rnn_backward(dH.tolist(), X, h0, np.ascontiguousarray(H_all).tolist(), p)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-14, atol=1e-15, err_msg=k)


def test_rnn_backward_gradient_at_the_last_step_only_flows_backwards():
    """A loss on h_T alone: its gradient reaches every earlier step, none goes forwards."""
    rng = np.random.default_rng(5)
    X, h0, p = _inputs(rng, 2, 4, 3, 3, 1)
    H_all, _ = utils.rnn_forward(X, h0, p)
    dH = np.zeros_like(H_all)
    dH[:, -1] = 1.0
    grads = utils.rnn_backward(dH, X, h0, H_all, p)
    assert np.all(np.abs(grads["X"]).sum(axis=2) > 0)  # every step's input matters to h_T
    dH = np.zeros_like(H_all)
    dH[:, 0] = 1.0
    grads = utils.rnn_backward(dH, X, h0, H_all, p)
    np.testing.assert_array_equal(grads["X"][:, 1:], 0.0)  # later inputs cannot affect h_1


def test_rnn_backward_is_stable_for_huge_pre_activations():
    rng = np.random.default_rng(6)
    X, h0, p = _inputs(rng, 2, 4, 3, 4, 2, scale=1000.0)
    dH = rng.standard_normal((2, 4, 4))
    H_all, _ = quiet(utils.rnn_forward, X, h0, p)
    grads = quiet(utils.rnn_backward, dH, X, h0, H_all, p)
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    _, expected = _torch_rnn_grads(dH, X, h0, p)
    for k, v in expected.items():
        np.testing.assert_allclose(grads[k], v, rtol=1e-9, atol=1e-9, err_msg=k)


def test_rnn_functions_leave_their_inputs_alone():
    rng = np.random.default_rng(7)
    X, h0, p = _inputs(rng, 2, 3, 2, 3, 2)
    H_all, _ = utils.rnn_forward(X, h0, p)
    # dH laid out time-major in memory (as rnn_forward's own outputs are): a view of it must
    # not be scribbled on either
    dH = np.ascontiguousarray(rng.standard_normal((3, 2, 3))).swapaxes(0, 1)
    before = [a.copy() for a in (X, h0, H_all, dH, *p.values())]
    utils.rnn_step(X[:, 0], h0, p)
    utils.rnn_forward(X, h0, p)
    utils.rnn_backward(dH, X, h0, H_all, p)
    for a, b in zip((X, h0, H_all, dH, *p.values()), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call, message", [
    (lambda X, h0, p: utils.rnn_step(X[:, 0], h0[:1], p),
     r"h_prev has shape \(1, 4\), expected \(N, H\) = \(2, H\)"),
    (lambda X, h0, p: utils.rnn_step(X[:, 0], h0, {**p, "W_hh": np.ones((4, 5))}),
     r"params\['W_hh'\] has shape \(4, 5\), expected \(H, H\) = \(4, 4\)"),
    (lambda X, h0, p: utils.rnn_forward(X[:, 0], h0, p),
     r"X has shape \(2, 3\), expected \(N, T, D\)"),
    (lambda X, h0, p: utils.rnn_forward(X, h0, {**p, "W_hy": np.ones((3, 2))}),
     r"params\['W_hy'\] has shape \(3, 2\), expected \(H, K\) = \(4, K\)"),
    (lambda X, h0, p: utils.rnn_forward(X, h0, {k: v for k, v in p.items() if k != "b_y"}),
     r"missing key\(s\) \['b_y'\]"),
    (lambda X, h0, p: utils.rnn_backward(np.ones((2, 5, 4)), X, h0, np.ones((2, 5, 4)), p),
     r"H_all has shape \(2, 5, 4\), expected \(N, T, H\) = \(2, 3, 4\)"),
    (lambda X, h0, p: utils.rnn_backward(np.ones((2, 3, 5)), X, h0, np.ones((2, 3, 4)), p),
     r"dH has shape \(2, 3, 5\), expected \(N, T, H\) = \(2, 3, 4\)"),
])
def test_rnn_shape_errors(call, message):
    X, h0, p = _inputs(np.random.default_rng(0), 2, 3, 3, 4, 2)
    with pytest.raises(ValueError, match=message):
        call(X, h0, p)


# --- clip_by_global_norm --------------------------------------------------------------------

def _grads(rng, scale):
    return {"W": scale * rng.standard_normal((3, 4)), "b": scale * rng.standard_normal(4),
            "s": np.array(scale * 0.5)}


@settings(max_examples=40, deadline=None)
@given(scale=st.floats(1e-3, 1e3), max_norm=st.floats(0.1, 10.0), seed=seeds)
def test_clip_by_global_norm_matches_torch(scale, max_norm, seed):
    grads = _grads(np.random.default_rng(seed), scale)
    before = {k: v.copy() for k, v in grads.items()}
    clipped, norm = utils.clip_by_global_norm(grads, max_norm)
    expected_norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    assert isinstance(norm, float) and norm == pytest.approx(expected_norm, rel=1e-12)
    tensors = [torch.tensor(g) for g in grads.values()]
    for t in tensors:
        t.grad = t.clone()
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    assert norm == pytest.approx(torch_norm.item(), rel=1e-12)
    for (k, c), t in zip(clipped.items(), tensors):  # PyTorch divides by norm + 1e-6
        np.testing.assert_allclose(c, t.grad.numpy(), rtol=1e-6 / max(norm, 1e-6) + 1e-12)
    assert set(clipped) == set(grads) and all(clipped[k] is not grads[k] for k in grads)
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])


def test_clip_by_global_norm_scales_everything_by_one_factor_to_max_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}  # norm 5
    clipped, norm = utils.clip_by_global_norm(grads, 1.0)
    assert norm == 5.0
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [[0.0], [0.8]])
    new_norm = np.sqrt(sum(np.sum(g ** 2) for g in clipped.values()))
    assert new_norm == pytest.approx(1.0, rel=1e-14)
    np.testing.assert_array_equal(grads["a"], [3.0, 0.0])  # the input is untouched


@pytest.mark.parametrize("max_norm", [5.0, 7.0])
def test_clip_by_global_norm_changes_nothing_at_or_below_max_norm(max_norm):
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}
    clipped, norm = utils.clip_by_global_norm(grads, max_norm)
    assert norm == 5.0
    for k in grads:
        np.testing.assert_array_equal(clipped[k], grads[k])
        assert clipped[k] is not grads[k]
    clipped["a"][0] = 99.0
    assert grads["a"][0] == 3.0


def test_clip_by_global_norm_of_zero_gradients():
    clipped, norm = utils.clip_by_global_norm({"a": np.zeros(3)}, 1.0)
    assert norm == 0.0
    np.testing.assert_array_equal(clipped["a"], 0.0)


@pytest.mark.parametrize("grads, max_norm, message", [
    ({"a": np.ones(2)}, 0.0, r"max_norm is 0.0, expected a number > 0"),
    ({"a": np.ones(2)}, -1.0, r"max_norm is -1.0"),
    ({"a": np.ones(2)}, np.ones(2), r"max_norm has shape \(2,\), expected a scalar"),
    ([np.ones(2)], 1.0, r"grads is a list, expected a dict"),
])
def test_clip_by_global_norm_rejects_bad_arguments(grads, max_norm, message):
    with pytest.raises(ValueError, match=message):
        utils.clip_by_global_norm(grads, max_norm)
