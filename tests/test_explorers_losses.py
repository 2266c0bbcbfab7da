"""The explorers of notebook 04: right curves, cheap updates, artists that move."""
import matplotlib

matplotlib.use("Agg")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import utils  # noqa: E402
from utils.explorers import losses as el  # noqa: E402


@pytest.fixture(scope="module")
def curves():
    return el.loss_curves()


def ydata(line):
    return np.asarray(line.get_ydata(), dtype=float)


def test_loss_curves_are_the_losses_and_their_derivatives(curves):
    curves.set(y=0.3, z=1.5, scale=20)
    assert curves.last_error is None
    mse, bce, logit = curves.artists["losses"]
    dmse, dbce, dlogit = curves.artists["grads"]
    yhat = np.asarray(mse.get_xdata())
    np.testing.assert_allclose(ydata(mse), (yhat - 0.3) ** 2)
    np.testing.assert_allclose(ydata(dmse), 2 * (yhat - 0.3))
    p = np.asarray(bce.get_xdata())
    # one example each: the course's mean losses on arrays of size 1 give the same numbers
    np.testing.assert_allclose(ydata(bce), [utils.bce_loss(np.array([q]), np.array([0.3]))
                                            for q in p], rtol=1e-12)
    np.testing.assert_allclose(ydata(dbce), [utils.bce_grad(np.array([q]), np.array([0.3]))[0]
                                             for q in p], rtol=1e-12)
    z = np.asarray(logit.get_xdata())
    assert z.min() == -20 and z.max() == 20
    np.testing.assert_allclose(ydata(logit), [utils.bce_with_logits_loss(np.array([v]),
                                                                        np.array([0.3]))
                                              for v in z], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ydata(dlogit), utils.sigmoid(z) - 0.3, atol=1e-15)


def test_moving_the_sliders_moves_the_artists(curves):
    curves.set(y=1.0, z=-2.0, scale=20)
    mse = curves.artists["losses"][0]
    before = ydata(mse).copy()
    marker = curves.artists["markers"][2][1]   # the logit column's gradient marker
    marker_before = np.asarray(marker.get_ydata(), dtype=float).copy()
    curves.set(y=0.0)
    assert curves.last_error is None
    assert not np.allclose(ydata(mse), before)
    curves.set(z=3.0)
    assert not np.allclose(np.asarray(marker.get_ydata(), dtype=float), marker_before)
    np.testing.assert_allclose(marker.get_ydata(), [utils.sigmoid(3.0) - 0.0])
    assert "σ(z)" in curves.artists["title"].get_text()


def test_naive_formula_breaks_where_it_should(curves):
    curves.set(y=0.5, scale=20)
    naive = curves.artists["naive"]
    assert np.all(np.isfinite(ydata(naive)))          # |z| <= 20: the naive formula is fine
    curves.set(scale=1000)
    assert curves.last_error is None
    z, values = np.asarray(naive.get_xdata()), ydata(naive)
    broken = ~np.isfinite(values)
    assert broken.any() and np.abs(z[broken]).min() > 30   # sigmoid(37) rounds to 1.0
    crosses = curves.artists["broken"]
    np.testing.assert_array_equal(crosses.get_xdata(), z[broken])
    text = curves.artists["naive_text"].get_text()
    assert f"{broken.sum()} of {len(z)}" in text
    assert curves.fig.axes[5].get_xlim() == (-1000, 1000)
    stable = curves.artists["losses"][2]
    assert np.all(np.isfinite(ydata(stable)))


def test_loss_curves_update_is_cheap(curves):
    start = time.perf_counter()
    for scale in el.SCALES:
        curves._update(y=0.4, z=1.0, scale=scale)
    assert (time.perf_counter() - start) / len(el.SCALES) < 0.01


def test_softmax_bars():
    explorer = el.softmax_bars(logits=(2.0, 1.0, -1.0), label=0)
    assert explorer.last_error is None
    probs, grads = explorer.artists["probs"], explorer.artists["grads"]
    heights = lambda bars: np.array([bar.get_height() for bar in bars])  # noqa: E731
    np.testing.assert_allclose(heights(probs), utils.softmax(np.array([2.0, 1.0, -1.0])))
    explorer.set(z1=4.0, label=2, temperature=0.5)
    assert explorer.last_error is None
    z = np.array([2.0, 4.0, -1.0]) / 0.5
    np.testing.assert_allclose(heights(probs), utils.softmax(z))
    np.testing.assert_allclose(heights(grads), utils.softmax(z) - np.eye(3)[2])
    loss = utils.cross_entropy_loss(z[None], np.array([2]))
    assert f"{loss:.3f}" in explorer.artists["title"].get_text()
    explorer.set(temperature=10 ** -1.5)   # a very sharp softmax stays finite
    assert explorer.last_error is None
    assert np.all(np.isfinite(heights(probs)))
