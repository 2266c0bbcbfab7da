"""The references of notebook 12 (sampling with a temperature, the character RNN's loss and
gradients) against rng.choice, nn.Embedding + nn.RNN + F.cross_entropy under autograd
(float64), finite differences, and hypothesis."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import utils
from utils.exercises.gradcheck import numerical_gradient
from numerics import quiet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the backward passes")
F = torch.nn.functional

KEYS = ("E", "W_xh", "W_hh", "b_h", "W_hy", "b_y")
seeds = st.integers(0, 2**32 - 1)


# --- sample_next ----------------------------------------------------------------------------

def test_temperature_zero_is_the_argmax_and_draws_nothing():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert utils.sample_next(np.array([0.1, 2.0, -1.0, 1.9]), 0, rng) == 1
    assert utils.sample_next([5.0, 5.0, 1.0], 0.0, rng) == 0  # ties: the first, as np.argmax
    assert rng.bit_generator.state == state
    assert isinstance(utils.sample_next(np.array([0.0, 1.0]), 0, rng), int)


@settings(max_examples=60, deadline=None)
@given(V=st.integers(1, 8), temperature=st.floats(0.05, 20.0), scale=st.floats(0.1, 1000.0),
       seed=seeds)
def test_sample_next_is_one_rng_choice_from_the_tempered_softmax(V, temperature, scale, seed):
    logits = np.random.default_rng(seed).uniform(-scale, scale, V)
    got = quiet(utils.sample_next, logits, temperature, np.random.default_rng(seed))
    expected_rng = np.random.default_rng(seed)
    expected = expected_rng.choice(V, p=utils.softmax(logits / temperature))
    assert isinstance(got, int) and got == expected
    rng = np.random.default_rng(seed)  # exactly one draw's worth of the generator's state
    utils.sample_next(logits, temperature, rng)
    assert rng.bit_generator.state == expected_rng.bit_generator.state


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_sample_next_draws_from_the_tempered_distribution(temperature):
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    p = utils.softmax(logits / temperature)
    rng, n = np.random.default_rng(1), 4000
    counts = np.bincount([utils.sample_next(logits, temperature, rng) for _ in range(n)],
                         minlength=4)
    assert np.all(np.abs(counts / n - p) < 5 * np.sqrt(p * (1 - p) / n))  # five standard errors
    if temperature == 1.0:
        np.testing.assert_allclose(p, [0.1, 0.2, 0.3, 0.4])


def test_sample_next_with_a_tiny_temperature_is_the_argmax_without_warnings():
    rng = np.random.default_rng(2)
    logits = np.array([1000.0, -1000.0, 999.0])
    assert all(quiet(utils.sample_next, logits, t, rng) == 0 for t in (1e-300, 1e-3, 0.01))


@pytest.mark.parametrize("args, message", [
    ((np.ones((2, 2)), 1.0, np.random.default_rng(0)),
     r"logits has shape \(2, 2\), expected \(V,\)"),
    ((np.ones(3), -0.5, np.random.default_rng(0)), r"temperature is -0.5, expected a number >= 0"),
    ((np.ones(3), np.ones(2), np.random.default_rng(0)), r"temperature has shape \(2,\)"),
    ((np.ones(3), 1.0, 0), r"rng is a int, expected a numpy.random.Generator"),
])
def test_sample_next_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        utils.sample_next(*args)


# --- char_rnn_loss_and_grads ----------------------------------------------------------------

def _problem(rng, N, T, V, D, H, scale=1.0):
    params = {"E": rng.standard_normal((V, D)),
              "W_xh": scale * rng.standard_normal((D, H)) / np.sqrt(D),
              "W_hh": scale * rng.standard_normal((H, H)) / np.sqrt(H),
              "b_h": rng.standard_normal(H), "W_hy": scale * rng.standard_normal((H, V)),
              "b_y": rng.standard_normal(V)}
    inputs = rng.integers(0, V, (N, T))
    targets = rng.integers(0, V, (N, T))
    return inputs, targets, rng.standard_normal((N, H)), params


def _torch_char_rnn(inputs, targets, h0, params):
    """nn.Embedding, nn.RNN and nn.Linear holding the same weights; autograd's gradients."""
    (V, D), H = params["E"].shape, params["W_hh"].shape[0]
    emb = torch.nn.Embedding(V, D, dtype=torch.float64)
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    out = torch.nn.Linear(H, V, dtype=torch.float64)
    with torch.no_grad():
        emb.weight.copy_(torch.tensor(params["E"]))
        rnn.weight_ih_l0.copy_(torch.tensor(params["W_xh"].T))
        rnn.weight_hh_l0.copy_(torch.tensor(params["W_hh"].T))
        rnn.bias_ih_l0.copy_(torch.tensor(params["b_h"]))
        rnn.bias_hh_l0.zero_()
        out.weight.copy_(torch.tensor(params["W_hy"].T))
        out.bias.copy_(torch.tensor(params["b_y"]))
    H_all, h_last = rnn(emb(torch.tensor(inputs)), torch.tensor(h0)[None])
    loss = F.cross_entropy(out(H_all).reshape(-1, V), torch.tensor(targets).reshape(-1))
    loss.backward()
    grads = {"E": emb.weight.grad, "W_xh": rnn.weight_ih_l0.grad.T,
             "W_hh": rnn.weight_hh_l0.grad.T, "b_h": rnn.bias_ih_l0.grad,
             "W_hy": out.weight.grad.T, "b_y": out.bias.grad}
    return loss.item(), {k: v.numpy() for k, v in grads.items()}, h_last[0].detach().numpy()


@settings(max_examples=30, deadline=None)
@given(N=st.integers(1, 3), T=st.integers(1, 5), V=st.integers(1, 6), D=st.integers(1, 4),
       H=st.integers(1, 4), seed=seeds)
def test_char_rnn_matches_autograd(N, T, V, D, H, seed):
    inputs, targets, h0, params = _problem(np.random.default_rng(seed), N, T, V, D, H)
    loss, grads, h_last = utils.char_rnn_loss_and_grads(inputs, targets, h0, params)
    t_loss, t_grads, t_h_last = _torch_char_rnn(inputs, targets, h0, params)
    assert isinstance(loss, float)
    assert loss == pytest.approx(t_loss, rel=1e-12, abs=1e-13)
    assert list(grads) == list(KEYS)
    for k in KEYS:
        assert grads[k].shape == params[k].shape, k
        np.testing.assert_allclose(grads[k], t_grads[k], rtol=1e-10, atol=1e-12, err_msg=k)
    assert h_last.shape == (N, H)
    np.testing.assert_allclose(h_last, t_h_last, rtol=1e-12, atol=1e-13)


def test_char_rnn_against_finite_differences_with_repeated_characters():
    rng = np.random.default_rng(3)
    inputs, targets, h0, params = _problem(rng, 2, 4, 5, 3, 3)
    inputs[:, :2] = 1  # a row of E used at several positions collects all their gradients
    _, grads, _ = utils.char_rnn_loss_and_grads(inputs, targets, h0, params)
    for k in KEYS:
        numeric = numerical_gradient(
            lambda v: utils.char_rnn_loss_and_grads(inputs, targets, h0, {**params, k: v})[0],
            params[k])
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-9, err_msg=k)
    unused = np.setdiff1d(np.arange(5), inputs)
    np.testing.assert_array_equal(grads["E"][unused], 0.0)


def test_char_rnn_h_last_carries_the_state_to_the_next_batch():
    """Two halves with h_last handed on give the states (and loss) of the whole sequence."""
    inputs, targets, h0, params = _problem(np.random.default_rng(4), 2, 6, 5, 3, 4)
    loss, _, h_last = utils.char_rnn_loss_and_grads(inputs, targets, h0, params)
    loss_a, _, h_mid = utils.char_rnn_loss_and_grads(inputs[:, :3], targets[:, :3], h0, params)
    loss_b, _, h_end = utils.char_rnn_loss_and_grads(inputs[:, 3:], targets[:, 3:], h_mid, params)
    np.testing.assert_allclose(h_end, h_last, rtol=1e-13)
    assert loss == pytest.approx((loss_a + loss_b) / 2, rel=1e-13)
    H_all, _ = utils.rnn_forward(utils.embed(inputs, params["E"]), h0, params)
    np.testing.assert_array_equal(h_last, H_all[:, -1])


def test_char_rnn_is_stable_and_leaves_inputs_alone():
    inputs, targets, h0, params = _problem(np.random.default_rng(5), 2, 3, 4, 3, 3, scale=1000.0)
    before = [a.copy() for a in (inputs, targets, h0, *params.values())]
    loss, grads, h_last = quiet(utils.char_rnn_loss_and_grads, inputs, targets, h0, params)
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values())
    t_loss, t_grads, _ = _torch_char_rnn(inputs, targets, h0, params)
    assert loss == pytest.approx(t_loss, rel=1e-10)
    for k in KEYS:
        np.testing.assert_allclose(grads[k], t_grads[k], rtol=1e-8, atol=1e-8, err_msg=k)
    for a, b in zip((inputs, targets, h0, *params.values()), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change, message", [
    (lambda i, t, h, p: (i, t[:, :2], h, p),
     r"targets has shape \(2, 2\), expected \(N, T\) = \(2, 3\)"),
    (lambda i, t, h, p: (i + 5, t, h, p), r"inputs must lie in \[0, V\) = \[0, 5\)"),
    (lambda i, t, h, p: (i.astype(float), t, h, p), r"inputs must be integer token ids"),
    (lambda i, t, h, p: (i, t, h[:, :2], p),
     r"h0 has shape \(2, 2\), expected \(N, H\) = \(2, 4\)"),
    (lambda i, t, h, p: (i, t, h, {**p, "W_hy": np.ones((4, 6))}),
     r"params\['W_hy'\] has shape \(4, 6\), expected \(H, V\) = \(4, 5\)"),
    (lambda i, t, h, p: (i, t, h, {k: v for k, v in p.items() if k != "E"}),
     r"missing key\(s\) \['E'\]"),
])
def test_char_rnn_shape_errors(change, message):
    args = _problem(np.random.default_rng(0), 2, 3, 5, 3, 4)
    with pytest.raises(ValueError, match=message):
        utils.char_rnn_loss_and_grads(*change(*args))
