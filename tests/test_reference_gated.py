"""The references of notebook 09 (LSTM, GRU) against nn.LSTMCell / nn.LSTM / nn.GRUCell and
autograd (float64), finite differences, and hypothesis. PyTorch stores the weights transposed
(weight_ih is W_x.T) with the gate blocks in the same order (LSTM i, f, g, o; GRU r, z, n)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import utils
from utils.exercises.gradcheck import numerical_gradient
from numerics import quiet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the backward passes")

LSTM_KEYS = ("W_x", "W_h", "b")
sizes = st.integers(1, 5)
seeds = st.integers(0, 2**32 - 1)


def _lstm_params(rng, D, H, scale=1.0):
    return {"W_x": scale * rng.standard_normal((D, 4 * H)) / np.sqrt(D),
            "W_h": scale * rng.standard_normal((H, 4 * H)) / np.sqrt(H),
            "b": rng.standard_normal(4 * H)}


def _gru_params(rng, D, H, scale=1.0):
    return {"W_x": scale * rng.standard_normal((D, 3 * H)),
            "W_h": scale * rng.standard_normal((H, 3 * H)),
            "b_x": rng.standard_normal(3 * H), "b_h": rng.standard_normal(3 * H)}


def _lstm_inputs(rng, N, T, D, H, scale=1.0):
    return (rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
            rng.standard_normal((N, H)), _lstm_params(rng, D, H, scale))


def _copy_lstm(module, p, suffix=""):
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).copy_(torch.tensor(p["W_x"].T))
        getattr(module, "weight_hh" + suffix).copy_(torch.tensor(p["W_h"].T))
        getattr(module, "bias_ih" + suffix).copy_(torch.tensor(p["b"]))
        getattr(module, "bias_hh" + suffix).zero_()  # PyTorch's two biases add up to our b
    return module


def _torch_lstm_grads(dH, X, h0, c0, p):
    """nn.LSTM's output and autograd's gradients of sum(dH * H_all)."""
    D, H = p["W_x"].shape[0], p["W_h"].shape[0]
    lstm = _copy_lstm(torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64), p, "_l0")
    tX, th0, tc0 = (torch.tensor(a, requires_grad=True) for a in (X, h0, c0))
    H_all, _ = lstm(tX, (th0[None], tc0[None]))
    H_all.backward(torch.tensor(dH))
    return H_all.detach().numpy(), {
        "W_x": lstm.weight_ih_l0.grad.numpy().T, "W_h": lstm.weight_hh_l0.grad.numpy().T,
        "b": lstm.bias_ih_l0.grad.numpy(), "X": tX.grad.numpy(), "h0": th0.grad.numpy(),
        "c0": tc0.grad.numpy()}


# --- LSTM -----------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(N=sizes, D=sizes, H=sizes, seed=seeds)
def test_lstm_step_matches_lstm_cell(N, D, H, seed):
    rng = np.random.default_rng(seed)
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    p = _lstm_params(rng, D, H)
    cell = _copy_lstm(torch.nn.LSTMCell(D, H, dtype=torch.float64), p)
    with torch.no_grad():
        h_ref, c_ref = cell(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
    h_t, c_t = utils.lstm_step(x, h, c, p)
    assert h_t.shape == c_t.shape == (N, H)
    np.testing.assert_allclose(h_t, h_ref.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_t, c_ref.numpy(), rtol=1e-12, atol=1e-14)


def test_lstm_gate_order_is_i_f_g_o():
    """Saturated gates through the biases alone: forget everything but the candidate, or keep
    the cell and hide it; each works only with the blocks in PyTorch's order."""
    H, big = 3, 50.0
    p = {"W_x": np.zeros((2, 4 * H)), "W_h": np.zeros((H, 4 * H)), "b": np.zeros(4 * H)}
    x, h, c = np.ones((1, 2)), np.ones((1, H)), np.full((1, H), 0.7)
    g = np.array([0.1, -0.2, 0.3])
    # i open, f shut, g = tanh(atanh(...)), o open: c_t = g, h_t = tanh(g)
    p["b"] = np.concatenate([np.full(H, big), np.full(H, -big), np.arctanh(g), np.full(H, big)])
    h_t, c_t = utils.lstm_step(x, h, c, p)
    np.testing.assert_allclose(c_t, g[None], atol=1e-15)
    np.testing.assert_allclose(h_t, np.tanh(g)[None], atol=1e-15)
    # i shut, f open, o shut: the cell keeps c_prev, the output shows nothing
    p["b"] = np.concatenate([np.full(H, -big), np.full(H, big), np.arctanh(g), np.full(H, -big)])
    h_t, c_t = utils.lstm_step(x, h, c, p)
    np.testing.assert_allclose(c_t, c, atol=1e-15)
    np.testing.assert_allclose(h_t, 0.0, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(N=sizes, T=sizes, D=sizes, H=sizes, seed=seeds)
def test_lstm_forward_matches_nn_lstm_and_lstm_step(N, T, D, H, seed):
    X, h0, c0, p = _lstm_inputs(np.random.default_rng(seed), N, T, D, H)
    H_all = utils.lstm_forward(X, h0, c0, p)
    expected, _ = _torch_lstm_grads(np.zeros((N, T, H)), X, h0, c0, p)
    assert H_all.shape == (N, T, H)
    np.testing.assert_allclose(H_all, expected, rtol=1e-12, atol=1e-13)
    h, c = h0, c0
    for t in range(T):
        h, c = utils.lstm_step(X[:, t], h, c, p)
        np.testing.assert_allclose(H_all[:, t], h, rtol=1e-13, atol=1e-15)


def test_lstm_states_are_the_forward_and_the_last_states_of_its_steps():
    from utils.reference.gated import lstm_states
    X, h0, c0, p = _lstm_inputs(np.random.default_rng(4), 3, 5, 2, 4)
    H_all, h_last, c_last = lstm_states(X, h0, c0, p)
    np.testing.assert_array_equal(H_all, utils.lstm_forward(X, h0, c0, p))
    h, c = h0, c0
    for t in range(5):
        h, c = utils.lstm_step(X[:, t], h, c, p)
    np.testing.assert_allclose(h_last, h, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(c_last, c, rtol=1e-13, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(N=sizes, T=sizes, D=sizes, H=sizes, seed=seeds)
def test_lstm_backward_matches_autograd(N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    X, h0, c0, p = _lstm_inputs(rng, N, T, D, H)
    dH = rng.standard_normal((N, T, H))
    grads = utils.lstm_backward(dH, X, h0, c0, p)
    _, expected = _torch_lstm_grads(dH, X, h0, c0, p)
    assert set(grads) == {"W_x", "W_h", "b", "X", "h0", "c0"}
    for k, v in expected.items():
        assert grads[k].shape == v.shape, k
        np.testing.assert_allclose(grads[k], v, rtol=1e-10, atol=1e-12, err_msg=k)


def test_lstm_backward_against_finite_differences():
    rng = np.random.default_rng(1)
    X, h0, c0, p = _lstm_inputs(rng, 2, 3, 3, 2)
    G = rng.standard_normal((2, 3, 2))

    def loss(X=X, h0=h0, c0=c0, **changed):
        return np.sum(G * utils.lstm_forward(X, h0, c0, {**p, **changed}))

    grads = utils.lstm_backward(G, X, h0, c0, p)
    numeric = {k: numerical_gradient(lambda v: loss(**{k: v}), p[k]) for k in LSTM_KEYS}
    numeric.update(X=numerical_gradient(lambda v: loss(X=v), X),
                   h0=numerical_gradient(lambda v: loss(h0=v), h0),
                   c0=numerical_gradient(lambda v: loss(c0=v), c0))
    for k, v in numeric.items():
        np.testing.assert_allclose(grads[k], v, rtol=1e-6, atol=1e-8, err_msg=k)


def test_lstm_is_stable_for_huge_pre_activations():
    rng = np.random.default_rng(2)
    X, h0, c0, p = _lstm_inputs(rng, 2, 3, 3, 4, scale=1000.0)
    dH = rng.standard_normal((2, 3, 4))
    H_all = quiet(utils.lstm_forward, X, h0, c0, p)
    grads = quiet(utils.lstm_backward, dH, X, h0, c0, p)
    assert np.all(np.abs(H_all) <= 1) and all(np.all(np.isfinite(g)) for g in grads.values())
    expected_H, expected = _torch_lstm_grads(dH, X, h0, c0, p)
    np.testing.assert_allclose(H_all, expected_H, rtol=1e-12, atol=1e-13)
    for k, v in expected.items():
        np.testing.assert_allclose(grads[k], v, rtol=1e-9, atol=1e-9, err_msg=k)


def test_lstm_functions_leave_their_inputs_alone():
    rng = np.random.default_rng(3)
    X, h0, c0, p = _lstm_inputs(rng, 2, 3, 2, 3)
    dH = np.ascontiguousarray(rng.standard_normal((3, 2, 3))).swapaxes(0, 1)  # time-major memory
    arrays = (X, h0, c0, dH, *p.values())
    before = [a.copy() for a in arrays]
    utils.lstm_step(X[:, 0], h0, c0, p)
    utils.lstm_forward(X, h0, c0, p)
    utils.lstm_backward(dH, X, h0, c0, p)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call, message", [
    (lambda X, h0, c0, p: utils.lstm_step(X[:, 0], h0, c0, {**p, "W_x": np.ones((3, 12))}),
     r"params\['W_x'\] has shape \(3, 12\), expected \(D, 4H\) = \(3, 16\)"),
    (lambda X, h0, c0, p: utils.lstm_forward(X, h0, c0, {**p, "b": np.ones(4)}),
     r"params\['b'\] has shape \(4,\), expected \(4H,\) = \(16,\)"),
    (lambda X, h0, c0, p: utils.lstm_forward(X, h0, c0[:, :2], p),
     r"c0 has shape \(2, 2\), expected \(N, H\) = \(2, 4\)"),
    (lambda X, h0, c0, p: utils.lstm_backward(np.ones((2, 3)), X, h0, c0, p),
     r"dH has shape \(2, 3\), expected \(N, T, H\) = \(2, 5, 4\)"),
    (lambda X, h0, c0, p: utils.lstm_backward(np.ones((2, 5, 4)), X, h0, c0, {"W_x": p["W_x"]}),
     r"missing key\(s\) \['W_h', 'b'\]"),
])
def test_lstm_shape_errors(call, message):
    X, h0, c0, p = _lstm_inputs(np.random.default_rng(0), 2, 5, 3, 4)
    with pytest.raises(ValueError, match=message):
        call(X, h0, c0, p)


# --- GRU ------------------------------------------------------------------------------------

def _torch_gru_step(x, h, p):
    D, H = p["W_x"].shape[0], p["W_h"].shape[0]
    cell = torch.nn.GRUCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(p["W_x"].T))
        cell.weight_hh.copy_(torch.tensor(p["W_h"].T))
        cell.bias_ih.copy_(torch.tensor(p["b_x"]))
        cell.bias_hh.copy_(torch.tensor(p["b_h"]))
        return cell(torch.tensor(x), torch.tensor(h)).numpy()


@settings(max_examples=40, deadline=None)
@given(N=sizes, D=sizes, H=sizes, seed=seeds)
def test_gru_step_matches_gru_cell(N, D, H, seed):
    rng = np.random.default_rng(seed)
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    p = _gru_params(rng, D, H)
    h_t = utils.gru_step(x, h, p)
    assert h_t.shape == (N, H)
    np.testing.assert_allclose(h_t, _torch_gru_step(x, h, p), rtol=1e-12, atol=1e-14)


def test_gru_gates_r_z_n():
    """z = 1 keeps the old state; z = 0 takes the candidate, whose reset gate r = 0 hides
    h_prev @ W_hn + b_hn (so the biases must stay apart)."""
    H, big = 2, 50.0
    x, h = np.ones((1, 1)), np.array([[0.3, -0.4]])
    p = {"W_x": np.zeros((1, 3 * H)), "W_h": np.ones((H, 3 * H)), "b_x": np.zeros(3 * H),
         "b_h": np.zeros(3 * H)}
    p["b_x"][H:2 * H] = big - np.sum(h)  # z = sigma(big) = 1
    np.testing.assert_allclose(utils.gru_step(x, h, p), h, atol=1e-15)
    p["b_x"][:H], p["b_x"][H:2 * H] = -big - np.sum(h), -big - np.sum(h)  # r = z = 0
    p["b_x"][2 * H:], p["b_h"][2 * H:] = [0.2, -0.1], 5.0
    np.testing.assert_allclose(utils.gru_step(x, h, p), np.tanh([[0.2, -0.1]]), atol=1e-15)


def test_gru_step_is_stable_and_leaves_inputs_alone():
    rng = np.random.default_rng(4)
    x, h = rng.standard_normal((3, 2)), rng.standard_normal((3, 4))
    p = _gru_params(rng, 2, 4, scale=1000.0)
    before = [a.copy() for a in (x, h, *p.values())]
    h_t = quiet(utils.gru_step, x, h, p)
    np.testing.assert_allclose(h_t, _torch_gru_step(x, h, p), rtol=1e-12, atol=1e-13)
    for a, b in zip((x, h, *p.values()), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change, message", [
    (lambda p: {**p, "W_h": np.ones((4, 8))},
     r"params\['W_h'\] has shape \(4, 8\), expected \(H, 3H\) = \(4, 12\)"),
    (lambda p: {**p, "b_h": np.ones(8)},
     r"params\['b_h'\] has shape \(8,\), expected \(3H,\) = \(12,\)"),
    (lambda p: {k: v for k, v in p.items() if k != "b_x"}, r"missing key\(s\) \['b_x'\]"),
])
def test_gru_shape_errors(change, message):
    rng = np.random.default_rng(0)
    p = _gru_params(rng, 2, 4)
    with pytest.raises(ValueError, match=message):
        utils.gru_step(np.ones((3, 2)), np.ones((3, 4)), change(p))
