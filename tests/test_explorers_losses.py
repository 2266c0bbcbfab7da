"""The explorers of notebook 04: right curves, cheap updates, artists that move."""
import matplotlib

matplotlib.use("Agg")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import utils  # noqa: E402
from explorer_checks import assert_axes_fixed, inside  # noqa: E402
from utils.explorers import losses as el  # noqa: E402


@pytest.fixture(scope="module")
def curves():
    return el.loss_curves()


def ydata(line):
    return np.asarray(line.get_ydata(), dtype=float)


def test_loss_curves_are_the_losses_and_their_derivatives(curves):
    curves.set(y=0.3, z=1.5)
    assert curves.last_error is None
    bce, mse, stable = curves.artists["losses"]
    dbce, dmse = curves.artists["grads"]
    z = np.asarray(bce.get_xdata())
    assert z.min() == -10 and z.max() == 10
    # one example each: the course's mean losses on arrays of size 1 give the same numbers
    one = lambda f, v: f(np.array([v]), np.array([0.3]))  # noqa: E731
    np.testing.assert_allclose(ydata(bce), [one(utils.bce_with_logits_loss, v) for v in z],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ydata(dbce), [one(utils.bce_with_logits_grad, v)[0] for v in z],
                               rtol=1e-12, atol=1e-15)
    p = utils.sigmoid(z)
    np.testing.assert_allclose(ydata(mse), [one(utils.mse_loss, q) for q in p], rtol=1e-12)
    # the chain rule through the sigmoid: dL/dz = dL/dp * sigma'(z)
    np.testing.assert_allclose(ydata(dmse), [one(utils.mse_grad, q)[0] for q in p]
                               * utils.sigmoid_grad(z), rtol=1e-12, atol=1e-15)
    zw = np.asarray(stable.get_xdata())
    assert zw.min() == -1000 and zw.max() == 1000 and np.all(np.diff(zw) > 0)
    np.testing.assert_allclose(ydata(stable), [one(utils.bce_with_logits_loss, v) for v in zw],
                               rtol=1e-12, atol=1e-12)


def test_moving_the_sliders_moves_the_artists(curves):
    curves.set(y=1.0, z=-2.0)
    bce = curves.artists["losses"][0]
    before = ydata(bce).copy()
    marker = curves.artists["markers"][0][1]   # BCE's slope marker
    marker_before = np.asarray(marker.get_ydata(), dtype=float).copy()
    curves.set(y=0.0)
    assert curves.last_error is None
    assert not np.allclose(ydata(bce), before)
    curves.set(z=3.0)
    assert not np.allclose(np.asarray(marker.get_ydata(), dtype=float), marker_before)
    np.testing.assert_allclose(marker.get_ydata(), [utils.sigmoid(3.0) - 0.0])
    assert "σ(z)" in curves.artists["title"].get_text()


def test_naive_formula_breaks_where_it_should(curves):
    curves.set(y=0.5)
    assert curves.last_error is None
    naive = curves.artists["naive"]
    z, values = np.asarray(naive.get_xdata()), ydata(naive)
    broken = ~np.isfinite(values)
    assert np.all(np.isfinite(values[np.abs(z) <= 30]))    # the naive formula is fine here
    assert broken[z > 40].all()                # sigmoid(37) rounds to 1.0: log(1 - p) = -inf
    assert not broken[(z < -40) & (z > -705)].any() and broken[z < -712].all()  # exp overflows
    crosses = curves.artists["broken"]
    np.testing.assert_array_equal(crosses.get_xdata(), z[broken])
    text = curves.artists["naive_text"].get_text()
    assert f"{broken.sum()} of {len(z)}" in text
    stable = curves.artists["losses"][2]
    assert np.all(np.isfinite(ydata(stable)))
    for y in (0.0, 1.0):   # 0 * log 0 = NaN on the side where the prediction is right
        curves.set(y=y)
        assert (~np.isfinite(ydata(naive)))[np.abs(z) > 40].any()


def test_loss_axes_never_change_and_everything_stays_in_view(curves):
    """Linear axes, fixed for every target and logit (no bend in a curve comes from a change of
    scale); every dot stays in its panel, the curves are whole, the crosses inside."""
    ax_loss, ax_grad, ax_wide = curves.fig.axes[:3]

    def check(curves, values):
        for m_loss, m_grad in curves.artists["markers"]:
            assert inside(ax_loss, m_loss.get_xdata()[0], m_loss.get_ydata()[0])
            assert inside(ax_grad, m_grad.get_xdata()[0], m_grad.get_ydata()[0])
        for ax, line in [(ax_loss, curves.artists["losses"][0]),
                         (ax_loss, curves.artists["losses"][1]),
                         (ax_wide, curves.artists["losses"][2])] + [
                (ax_grad, g) for g in curves.artists["grads"]]:
            assert all(inside(ax, x, v) for x, v in zip(line.get_xdata(), line.get_ydata()))
        assert all(inside(ax_wide, x, ax_wide.get_ylim()[0])
                   for x in curves.artists["broken"].get_xdata())

    assert_axes_fixed(curves, check)
    for ax in (ax_loss, ax_grad, ax_wide):
        assert ax.get_xscale() == ax.get_yscale() == "linear"
    assert ax_wide.get_xlim() == (-1000, 1000)


def test_loss_curves_update_is_cheap(curves):
    ys = np.linspace(0, 1, 21)
    start = time.perf_counter()
    for y in ys:
        curves._update(y=y, z=1.0)
    assert (time.perf_counter() - start) / len(ys) < 0.01


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


def test_softmax_bars_axes_never_change():
    explorer = el.softmax_bars()
    ax_p, ax_g = explorer.fig.axes[:2]

    def check(explorer, values):
        for ax, bars in ((ax_p, explorer.artists["probs"]), (ax_g, explorer.artists["grads"])):
            assert all(inside(ax, bar.get_x(), bar.get_height()) for bar in bars)

    assert_axes_fixed(explorer, check, n=5, n_random=15)
