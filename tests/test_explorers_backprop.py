"""The gradient-flow explorer of notebook 06: right numbers, cheap updates, artists that move."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import utils  # noqa: E402
from explorer_checks import assert_axes_fixed, bars, inside  # noqa: E402
from utils.explorers import backprop as eb  # noqa: E402

torch = pytest.importorskip("torch", reason="PyTorch checks the per-layer gradients")


@pytest.fixture(scope="module")
def explorer():
    return eb.gradient_flow()


def heights(ax):
    """The heights of the bars in ``ax`` (drawn as one shape)."""
    boxes = bars(ax)
    return boxes[:, 3] - boxes[:, 2]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_layer_gradients_match_autograd(activation):
    X, T, V = eb.deep_stack(depth=4, width=6, n=5, n_out=3, seed=2)
    scale, bias = 1.5, 0.5
    result = eb.layer_gradients(activation, scale, bias, X, T, V)
    Ws = [torch.tensor(scale * v / np.sqrt(v.shape[0]), requires_grad=True) for v in V]
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    A = torch.tensor(X)
    for W in Ws[:-1]:
        A = act(A @ W + bias)
    loss = torch.mean((A @ Ws[-1] - torch.tensor(T)) ** 2)
    loss.backward()
    assert result["loss"] == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(result["grad_norm"], [W.grad.norm().item() for W in Ws],
                               rtol=1e-10)
    assert result["stuck"].shape == result["mean_slope"].shape == (3,)


def test_the_stories_the_notebook_tells():
    table = eb.precompute()
    sig = table[("sigmoid", 1.0, 0.0)]["grad_norm"]
    assert sig[0] < 1e-4 * sig[-1], "sigmoid: the gradient should vanish towards layer 1"
    assert np.all(np.diff(np.log(sig)) > 0)
    dead = table[("relu", 1.0, -1.0)]
    assert dead["stuck"].mean() > 0.9 and dead["grad_norm"][0] == 0.0
    alive = table[("relu", 1.0, 0.0)]
    assert 0.3 < alive["stuck"].mean() < 0.7  # about half of the ReLUs are off for any input
    assert table[("tanh", 4.0, 0.0)]["stuck"].mean() > table[("tanh", 1.0, 0.0)]["stuck"].mean()
    assert all(np.all(np.isfinite(r["grad_norm"])) for r in table.values())


def test_explorer_swaps_bar_heights(explorer):
    left, right = explorer.fig.axes[:2]
    grads, stuck = left, right
    assert len(bars(grads)) == 10 and len(bars(stuck)) == 9
    explorer.set(activation="sigmoid", scale=1.0, bias=0.0)
    before = heights(grads), heights(stuck)
    explorer.set(activation="relu", bias=-1.0)
    assert explorer.last_error is None
    after = heights(grads), heights(stuck)
    assert not np.allclose(before[0], after[0])
    assert after[1].mean() > 0.9 > before[1].mean()
    assert "relu" in explorer.fig.get_suptitle()
    explorer.set(scale=4.0)
    assert explorer.last_error is None
    assert not np.allclose(after[0], heights(grads))


def test_every_setting_draws_without_error(explorer):
    for activation in ("sigmoid", "tanh", "relu"):
        for scale in (eb.SCALES[0], eb.SCALES[-1]):
            for bias in (eb.BIASES[0], eb.BIASES[-1]):
                explorer.set(activation=activation, scale=scale, bias=bias)
                assert explorer.last_error is None
                assert np.all(np.isfinite(heights(explorer.fig.axes[0])))


def test_axes_never_change_and_every_bar_is_in_view():
    explorer = eb.gradient_flow()
    left, right = explorer.fig.axes[:2]

    def check(explorer, values):
        for ax in (left, right):
            for x, _, _, top in bars(ax):
                assert inside(ax, x, top)
        dots = explorer.fig.axes[1].lines[0]
        assert all(inside(right, a, b) for a, b in zip(dots.get_xdata(), dots.get_ydata()))

    assert_axes_fixed(explorer, check)


def test_update_is_cheap(explorer):
    import time

    update = explorer._update
    start = time.perf_counter()
    for scale in eb.SCALES:
        update(activation="tanh", scale=scale, bias=0.0)
    per_call_ms = (time.perf_counter() - start) / len(eb.SCALES) * 1e3
    assert per_call_ms < 10


def test_the_explorer_uses_the_reference_backward_pass():
    assert eb.dense_backward is utils.dense_backward
