"""The explorers of notebook 11: the heads of a block, and layer norm on a batch of vectors."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import utils  # noqa: E402
from explorer_checks import assert_axes_fixed  # noqa: E402
from utils.explorers import transformer as et  # noqa: E402


def test_head_weights_are_the_blocks_attention():
    """Each head's weights, recomputed the long way from the block's definition."""
    X, p, _ = et.toy_block(D=8, n_heads=2, T=5, n_examples=3, seed=1)
    W = et.head_weights(X, p, 2)
    assert W.shape == (3, 2, 5, 5)
    x = utils.layer_norm(X, p["ln1_gamma"], p["ln1_beta"])
    Q, K = x @ p["W_q"] + p["b_q"], x @ p["W_k"] + p["b_k"]
    for h in range(2):
        cols = slice(4 * h, 4 * h + 4)
        _, A = utils.scaled_dot_product_attention(Q[..., cols], K[..., cols], Q[..., cols])
        np.testing.assert_allclose(W[:, h], A)


def test_head_maps_move_every_control():
    explorer = et.head_maps()

    def check(explorer, values):
        image = explorer.fig.axes[0].images[0]
        A = np.asarray(image.get_array())
        np.testing.assert_allclose(A.sum(axis=1), 1.0)
        labels = [t.get_text() for t in explorer.fig.axes[0].texts]
        assert all(labels)

    assert assert_axes_fixed(explorer, check) > 10


def test_layer_norm_rows_undo_shift_and_scale():
    explorer = et.layer_norm_rows()

    def outputs():
        return np.array([line.get_ydata() for line in explorer.fig.axes[1].lines[:8]])

    explorer.set(shift=0.0, scale=1.0, gamma=1.0, beta=0.0)
    base = outputs()
    np.testing.assert_allclose(base.mean(axis=1), 0.0, atol=1e-12)
    explorer.set(shift=3.0, scale=10 ** 0.5)
    # only eps tells them apart: a little for the almost constant row 0 (variance 0.0025)
    np.testing.assert_allclose(outputs()[1:], base[1:], atol=1e-4)
    np.testing.assert_allclose(outputs()[0], base[0], rtol=1e-2)
    explorer.set(scale=1e-4)  # variance near eps: the outputs shrink
    assert np.abs(outputs()).max() < 0.5 * np.abs(base).max()

    def check(explorer, values):
        for ax in explorer.fig.axes[1:2]:
            low, high = ax.get_ylim()
            y = outputs()
            assert low <= y.min() and y.max() <= high  # gamma <= 2, beta <= 2: on the chart

    assert assert_axes_fixed(explorer, check) > 20


@pytest.mark.parametrize("make", [et.head_maps, et.layer_norm_rows])
def test_updates_are_cheap(make):
    import time

    explorer = make()
    start = time.perf_counter()
    for _ in range(10):
        explorer._update(**explorer.values)
    print(f"{make.__name__}: {100 * (time.perf_counter() - start):.2f} ms per update")
