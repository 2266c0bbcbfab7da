"""The references of notebook 06 against PyTorch autograd (float64) and finite differences."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import utils
from utils.exercises.gradcheck import numerical_gradient

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the backward passes")

ACTIVATIONS = ["sigmoid", "tanh", "relu"]
TORCH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}
KEYS = ("W1", "b1", "W2", "b2")

sizes = st.integers(1, 6)


def _params(rng, D, H, K, scale=1.0):
    return {"W1": scale * rng.standard_normal((D, H)), "b1": rng.standard_normal(H),
            "W2": rng.standard_normal((H, K)), "b2": rng.standard_normal(K)}


def _torch_mlp(X, y, params, activation):
    """Loss and gradients of the same network by autograd (nn.MSELoss's reduction="mean")."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    Y = TORCH_ACTIVATIONS[activation](torch.tensor(X) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    loss = torch.nn.functional.mse_loss(Y, torch.tensor(y), reduction="mean")
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in p.items()}


# --- dense_backward -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(N=sizes, D=sizes, H=sizes, seed=st.integers(0, 2**32 - 1))
def test_dense_backward_matches_autograd(N, D, H, seed):
    rng = np.random.default_rng(seed)
    X, W, b = rng.standard_normal((N, D)), rng.standard_normal((D, H)), rng.standard_normal(H)
    dZ = rng.standard_normal((N, H))
    dX, dW, db = utils.dense_backward(dZ, X, W)
    tX, tW, tb = (torch.tensor(a, requires_grad=True) for a in (X, W, b))
    (tX @ tW + tb).backward(torch.tensor(dZ))
    assert dX.shape == (N, D) and dW.shape == (D, H) and db.shape == (H,)
    np.testing.assert_allclose(dX, tX.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dW, tW.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_dense_backward_against_finite_differences():
    rng = np.random.default_rng(1)
    X, W, b, G = (rng.standard_normal(s) for s in ((4, 3), (3, 2), (2,), (4, 2)))
    dX, dW, db = utils.dense_backward(G, X, W)
    np.testing.assert_allclose(dX, numerical_gradient(lambda v: np.sum(G * (v @ W + b)), X),
                               atol=1e-8)
    np.testing.assert_allclose(dW, numerical_gradient(lambda v: np.sum(G * (X @ v + b)), W),
                               atol=1e-8)
    np.testing.assert_allclose(db, numerical_gradient(lambda v: np.sum(G * (X @ W + v)), b),
                               atol=1e-8)


def test_dense_backward_accepts_lists_and_leaves_inputs_alone():
    dZ = np.array([[1.0, -1.0]])
    X = np.array([[2.0, 3.0, 4.0]])
    W = np.arange(6.0).reshape(3, 2)
    copies = [a.copy() for a in (dZ, X, W)]
    dX, dW, db = utils.dense_backward(dZ.tolist(), X.tolist(), W.tolist())
    np.testing.assert_array_equal(dX, [[-1.0, -1.0, -1.0]])
    np.testing.assert_array_equal(dW, [[2.0, -2.0], [3.0, -3.0], [4.0, -4.0]])
    np.testing.assert_array_equal(db, [1.0, -1.0])
    utils.dense_backward(dZ, X, W)
    for a, c in zip((dZ, X, W), copies):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("dZ, X, W, message", [
    (np.ones((2, 3)), np.ones((2, 4)), np.ones((5, 3)),
     r"W has shape \(5, 3\), expected \(D, H\) = \(4, H\)"),
    (np.ones((2, 2)), np.ones((2, 4)), np.ones((4, 3)),
     r"dZ has shape \(2, 2\), expected \(N, H\) = \(2, 3\)"),
    (np.ones((3, 3)), np.ones((2, 4)), np.ones((4, 3)), r"dZ has shape \(3, 3\)"),
    (np.ones(3), np.ones((2, 4)), np.ones((4, 3)), r"dZ has shape \(3,\)"),
    (np.ones((2, 3)), np.ones(4), np.ones((4, 3)), r"X has shape \(4,\), expected \(N, D\)"),
])
def test_dense_backward_shape_errors(dZ, X, W, message):
    with pytest.raises(ValueError, match=message):
        utils.dense_backward(dZ, X, W)


# --- mlp_loss_and_grads ---------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
@settings(max_examples=25, deadline=None)
@given(N=sizes, D=sizes, H=sizes, K=sizes, seed=st.integers(0, 2**32 - 1))
def test_mlp_loss_and_grads_matches_autograd(activation, N, D, H, K, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((N, D)), rng.standard_normal((N, K))
    params = _params(rng, D, H, K)
    loss, grads = utils.mlp_loss_and_grads(X, y, params, activation)
    t_loss, t_grads = _torch_mlp(X, y, params, activation)
    assert isinstance(loss, float)
    assert loss == pytest.approx(t_loss, rel=1e-12, abs=1e-14)
    assert set(grads) == set(KEYS)
    for k in KEYS:
        assert grads[k].shape == params[k].shape
        np.testing.assert_allclose(grads[k], t_grads[k], rtol=1e-10, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_loss_and_grads_against_finite_differences(activation):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    params = _params(rng, 3, 5, 2)
    assert np.abs(X @ params["W1"] + params["b1"]).min() > 1e-3  # away from ReLU's kink
    _, grads = utils.mlp_loss_and_grads(X, y, params, activation)
    for k in KEYS:
        numeric = numerical_gradient(
            lambda v: utils.mlp_loss_and_grads(X, y, {**params, k: v}, activation)[0], params[k])
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-8, err_msg=k)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1.0, 1000.0), seed=st.integers(0, 2**32 - 1))
def test_mlp_loss_and_grads_is_stable_for_huge_pre_activations(activation, scale, seed):
    """Pre-activations up to |z| ~ 1000 and beyond: no warnings, finite, still autograd's."""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    params = _params(rng, 3, 4, 2, scale=scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            loss, grads = utils.mlp_loss_and_grads(X, y, params, activation)
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values())
    _, t_grads = _torch_mlp(X, y, params, activation)
    for k in KEYS:
        np.testing.assert_allclose(grads[k], t_grads[k], rtol=1e-9, atol=1e-9, err_msg=k)


def test_dead_relus_pass_no_gradient():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    params = {**_params(rng, 3, 4, 2), "b1": np.full(4, -50.0)}
    _, grads = utils.mlp_loss_and_grads(X, y, params, "relu")
    np.testing.assert_array_equal(grads["W1"], 0.0)
    np.testing.assert_array_equal(grads["b1"], 0.0)
    np.testing.assert_array_equal(grads["W2"], 0.0)  # A = 0: the output weights see no input
    assert np.any(grads["b2"] != 0)


def test_mlp_loss_and_grads_leaves_inputs_alone():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    params = _params(rng, 2, 3, 2)
    before = (X.copy(), y.copy(), {k: v.copy() for k, v in params.items()})
    utils.mlp_loss_and_grads(X, y, params, "tanh")
    np.testing.assert_array_equal(X, before[0])
    np.testing.assert_array_equal(y, before[1])
    for k in KEYS:
        np.testing.assert_array_equal(params[k], before[2][k])


def test_unknown_activation_lists_the_valid_ones():
    rng = np.random.default_rng(0)
    params = _params(rng, 2, 3, 1)
    with pytest.raises(ValueError, match=r"'softplus'.*'sigmoid', 'tanh', 'relu'"):
        utils.mlp_loss_and_grads(np.ones((2, 2)), np.ones((2, 1)), params, "softplus")


@pytest.mark.parametrize("change, message", [
    (lambda X, y, p: (X, y[:, 0], p), r"y has shape \(4,\), expected \(N, K\) = \(4, 2\)"),
    (lambda X, y, p: (X, y[:3], p), r"y has shape \(3, 2\), expected \(N, K\) = \(4, 2\)"),
    (lambda X, y, p: (X, y, {**p, "W2": p["W2"].T}), r"params\['W2'\] has shape \(2, 5\)"),
    (lambda X, y, p: (X, y, {k: v for k, v in p.items() if k != "b1"}),
     r"missing key\(s\) \['b1'\]"),
])
def test_mlp_loss_and_grads_shape_errors(change, message):
    rng = np.random.default_rng(0)
    X, y, p = rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), _params(rng, 3, 5, 2)
    with pytest.raises(ValueError, match=message):
        utils.mlp_loss_and_grads(*change(X, y, p), "relu")
