"""The references of notebook 05 against closed forms, hand-written loops and PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import utils
from utils.reference.optim import gradient_descent, init_weights, minibatch_sgd


def _spd(rng, D):
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    return (Q * rng.uniform(0.5, 3.0, size=D)) @ Q.T


def mse_batch(w, X, y):
    r = X @ w - y
    return float(np.mean(r ** 2)), 2.0 * X.T @ r / r.size


# --- init_weights ------------------------------------------------------------------------------

def test_init_weights_is_sigma_times_standard_normal_from_the_given_rng():
    got = init_weights((3, 4), 0.25, np.random.default_rng(7))
    expected = 0.25 * np.random.default_rng(7).standard_normal((3, 4))
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float64


def test_init_weights_accepts_an_int_shape_and_sigma_zero():
    assert init_weights(5, 1.0, np.random.default_rng(0)).shape == (5,)
    np.testing.assert_array_equal(init_weights((2, 2), 0.0, np.random.default_rng(0)),
                                  np.zeros((2, 2)))


def test_init_weights_has_mean_zero_and_standard_deviation_sigma():
    w = init_weights((400, 500), 0.3, np.random.default_rng(1))
    assert abs(w.mean()) < 4 * 0.3 / np.sqrt(w.size)  # four standard errors
    assert abs(w.std() - 0.3) < 0.003


def test_init_weights_draws_from_the_rng_and_nothing_else():
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    np.random.seed(0)
    a = init_weights((4,), 1.0, rng)
    np.random.seed(1)  # the global generator must not matter
    b = init_weights((4,), 1.0, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert rng.bit_generator.state != state


@pytest.mark.parametrize("args, word", [
    (((2,), -1.0, np.random.default_rng(0)), "sigma"),
    (((2,), np.ones(2), np.random.default_rng(0)), "sigma"),
    (((2,), 1.0, 0), "rng"),
])
def test_init_weights_rejects_bad_arguments(args, word):
    with pytest.raises(ValueError, match=word):
        init_weights(*args)


def test_torch_normal_init_has_the_same_distribution():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the references")
    t = torch.empty(300, 300, dtype=torch.float64)
    torch.nn.init.normal_(t, mean=0.0, std=0.2, generator=torch.Generator().manual_seed(0))
    w = init_weights((300, 300), 0.2, np.random.default_rng(0))
    assert abs(w.std() - t.std().item()) < 0.004
    assert abs(w.mean() - t.mean().item()) < 0.004


# --- gradient_descent --------------------------------------------------------------------------

def test_gradient_descent_on_a_quadratic_follows_the_closed_form():
    rng = np.random.default_rng(0)
    A, b = _spd(rng, 3), rng.standard_normal(3)
    w_star = np.linalg.solve(A, b)
    w0, lr = rng.standard_normal(3), 0.2
    traj = gradient_descent(lambda w: A @ w - b, w0, lr, 30)
    assert traj.shape == (31, 3)
    for t in range(31):
        expected = w_star + np.linalg.matrix_power(np.eye(3) - lr * A, t) @ (w0 - w_star)
        np.testing.assert_allclose(traj[t], expected, rtol=1e-12, atol=1e-12)


def test_gradient_descent_diverges_exactly_above_two_over_L():
    A = np.diag([1.0, 4.0])  # L = 4, threshold 0.5
    below = gradient_descent(lambda w: A @ w, np.ones(2), 0.49, 200)
    above = gradient_descent(lambda w: A @ w, np.ones(2), 0.51, 200)
    assert np.linalg.norm(below[-1]) < 1e-3
    assert np.linalg.norm(above[-1]) > 1e3


def test_gradient_descent_matches_torch_sgd():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the references")
    rng = np.random.default_rng(1)
    A, b = _spd(rng, 4), rng.standard_normal(4)
    w0 = rng.standard_normal(4)
    traj = gradient_descent(lambda w: A @ w - b, w0, 0.15, 20)

    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    At, bt = torch.tensor(A), torch.tensor(b)
    opt = torch.optim.SGD([w], lr=0.15)
    rows = [w.detach().clone()]
    for _ in range(20):
        opt.zero_grad()
        (0.5 * w @ At @ w - bt @ w).backward()
        opt.step()
        rows.append(w.detach().clone())
    np.testing.assert_allclose(traj, torch.stack(rows).numpy(), rtol=1e-12, atol=1e-12)


def test_gradient_descent_keeps_w_init_and_returns_separate_rows():
    w0 = np.array([[1.0, 2.0], [3.0, 4.0]])
    keep = w0.copy()
    traj = gradient_descent(lambda w: w, w0, 0.5, 3)
    np.testing.assert_array_equal(w0, keep)
    np.testing.assert_allclose(traj[:, 0, 0], [1.0, 0.5, 0.25, 0.125])
    assert not np.shares_memory(traj, w0)


def test_gradient_descent_with_zero_steps_is_w_init():
    np.testing.assert_array_equal(gradient_descent(lambda w: w, np.array([1.0, 2.0]), 0.1, 0),
                                  [[1.0, 2.0]])


@pytest.mark.parametrize("args, word", [
    ((lambda w: np.zeros(3), np.zeros(2), 0.1, 2), "gradient of shape"),
    ((lambda w: w, np.zeros(2), 0.1, -1), "n_steps"),
    ((lambda w: w, np.zeros(2), 0.1, 2.5), "n_steps"),
    ((lambda w: w, np.zeros(2), np.ones(2), 2), "lr"),
])
def test_gradient_descent_rejects_bad_arguments(args, word):
    with pytest.raises(ValueError, match=word):
        gradient_descent(*args)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3), n_steps=st.integers(0, 12),
       lr=st.floats(0.0, 1.0))
def test_gradient_descent_shapes(shape, n_steps, lr):
    w0 = np.ones(shape)
    traj = gradient_descent(lambda w: 0.5 * w, w0, lr, n_steps)
    assert traj.shape == (n_steps + 1, *shape)
    np.testing.assert_allclose(traj[-1], (1 - 0.5 * lr) ** n_steps * w0)
    assert np.all(np.isfinite(traj))


# --- minibatch_sgd -----------------------------------------------------------------------------

def _hand_written(grad_fn, w, X, y, lr, B, n_epochs, seed):
    """The contract, spelled out with explicit index bookkeeping."""
    rng = np.random.default_rng(seed)
    N, losses = len(X), []
    for _ in range(n_epochs):
        perm = rng.permutation(N)
        k, batch_losses = 0, []
        while k < N:
            idx = perm[k:min(k + B, N)]
            loss, g = grad_fn(w, X[idx], y[idx])
            batch_losses.append(loss)
            w = w - lr * g
            k += B
        losses.append(sum(batch_losses) / len(batch_losses))
    return w, np.array(losses)


@pytest.mark.parametrize("N, B, n_epochs", [(10, 3, 4), (8, 8, 2), (5, 1, 3), (6, 20, 2),
                                            (13, 4, 1)])
def test_minibatch_sgd_matches_a_hand_written_loop(N, B, n_epochs):
    rng = np.random.default_rng(N * 100 + B)
    X, y = rng.standard_normal((N, 3)), rng.standard_normal(N)
    w0 = rng.standard_normal(3)
    w, losses = minibatch_sgd(mse_batch, w0, X, y, 0.1, B, n_epochs, np.random.default_rng(9))
    w_ref, losses_ref = _hand_written(mse_batch, w0, X, y, 0.1, B, n_epochs, 9)
    np.testing.assert_allclose(w, w_ref, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(losses, losses_ref, rtol=1e-13)
    assert losses.shape == (n_epochs,)


def test_minibatch_sgd_visits_a_fresh_permutation_in_order_every_epoch():
    seen = []

    def record(w, Xb, yb):
        seen.append(yb.copy())
        return 0.0, np.zeros_like(w)

    N, B = 11, 4
    y = np.arange(N)
    minibatch_sgd(record, np.zeros(1), np.zeros((N, 1)), y, 0.1, B, 3,
                  np.random.default_rng(5))
    twin = np.random.default_rng(5)
    expected = []
    for _ in range(3):
        perm = twin.permutation(N)
        expected += [perm[0:4], perm[4:8], perm[8:11]]
    assert len(seen) == len(expected)
    for got, want in zip(seen, expected):
        np.testing.assert_array_equal(got, want)
    assert seen[0].dtype == y.dtype  # integer labels stay integers


def test_minibatch_sgd_losses_are_the_unweighted_mean_of_batch_losses():
    sizes = []

    def loss_is_batch_size(w, Xb, yb):
        sizes.append(len(Xb))
        return float(len(Xb)), np.zeros_like(w)

    _, losses = minibatch_sgd(loss_is_batch_size, np.zeros(2), np.zeros((7, 2)), np.zeros(7),
                              0.1, 3, 2, np.random.default_rng(0))
    assert sizes == [3, 3, 1, 3, 3, 1]
    np.testing.assert_allclose(losses, [7 / 3, 7 / 3])  # (3 + 3 + 1) / 3, not 25 / 7


def test_minibatch_sgd_with_full_batches_is_gradient_descent():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    w0 = rng.standard_normal(3)
    w, losses = minibatch_sgd(mse_batch, w0, X, y, 0.05, 20, 6, np.random.default_rng(0))
    traj = gradient_descent(lambda w: mse_batch(w, X, y)[1], w0, 0.05, 6)
    np.testing.assert_allclose(w, traj[-1], rtol=1e-12)
    np.testing.assert_allclose(losses, [mse_batch(t, X, y)[0] for t in traj[:-1]], rtol=1e-12)


def test_minibatch_sgd_matches_torch_sgd_on_the_same_batches():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the references")
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((17, 4)), rng.standard_normal(17)
    w0 = rng.standard_normal(4)
    w, losses = minibatch_sgd(mse_batch, w0, X, y, 0.1, 5, 3, np.random.default_rng(8))

    wt = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.SGD([wt], lr=0.1)
    twin, torch_losses = np.random.default_rng(8), []
    for _ in range(3):
        perm, batch_losses = twin.permutation(17), []
        for k in range(0, 17, 5):
            idx = perm[k:k + 5]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(torch.tensor(X[idx]) @ wt, torch.tensor(y[idx]))
            loss.backward()
            opt.step()
            batch_losses.append(loss.item())
        torch_losses.append(np.mean(batch_losses))
    np.testing.assert_allclose(w, wt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-12)


def test_minibatch_sgd_leaves_its_inputs_alone():
    rng = np.random.default_rng(4)
    X, y, w0 = rng.standard_normal((9, 2)), rng.standard_normal(9), rng.standard_normal(2)
    copies = X.copy(), y.copy(), w0.copy()
    w, _ = minibatch_sgd(mse_batch, w0, X, y, 0.1, 4, 2, np.random.default_rng(0))
    for before, after in zip(copies, (X, y, w0)):
        np.testing.assert_array_equal(before, after)
    assert not np.shares_memory(w, w0)


def test_minibatch_sgd_with_zero_epochs_returns_w_init():
    w, losses = minibatch_sgd(mse_batch, np.ones(2), np.zeros((3, 2)), np.zeros(3), 0.1, 2, 0,
                              np.random.default_rng(0))
    np.testing.assert_array_equal(w, np.ones(2))
    assert losses.shape == (0,)


@pytest.mark.parametrize("kwargs, word", [
    ({"batch_size": 0}, "batch_size"),
    ({"n_epochs": -1}, "n_epochs"),
    ({"y": np.zeros(4)}, "one row per example"),
    ({"rng": 3}, "rng"),
])
def test_minibatch_sgd_rejects_bad_arguments(kwargs, word):
    args = dict(grad_fn=mse_batch, w_init=np.zeros(2), X=np.zeros((5, 2)), y=np.zeros(5),
                lr=0.1, batch_size=2, n_epochs=1, rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        minibatch_sgd(**args)


@settings(max_examples=40, deadline=None)
@given(N=st.integers(1, 30), B=st.integers(1, 35), n_epochs=st.integers(0, 4),
       K=st.sampled_from([None, 1, 3]))
def test_minibatch_sgd_shapes_and_call_counts(N, B, n_epochs, K):
    calls = []

    def grad_fn(w, Xb, yb):
        calls.append(len(Xb))
        return mse_batch(w, Xb, yb)

    rng = np.random.default_rng(N)
    X = rng.standard_normal((N, 2))
    y = rng.standard_normal(N if K is None else (N, K))
    w0 = np.zeros(2 if K is None else (2, K))
    w, losses = minibatch_sgd(grad_fn, w0, X, y, 0.05, B, n_epochs, np.random.default_rng(0))
    assert w.shape == w0.shape and losses.shape == (n_epochs,)
    assert len(calls) == n_epochs * -(-N // B)
    assert sum(calls) == n_epochs * N
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(losses))


def test_references_are_exported_from_utils():
    assert utils.init_weights is init_weights
    assert utils.gradient_descent is gradient_descent
    assert utils.minibatch_sgd is minibatch_sgd
