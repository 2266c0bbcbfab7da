"""The explorers of notebook 05: right paths and curves, cheap updates, artists that move."""
import matplotlib

matplotlib.use("Agg")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import utils  # noqa: E402
from explorer_checks import assert_axes_fixed, inside  # noqa: E402
from utils.explorers import optim as eo  # noqa: E402


def xy(line):
    x, y = line.get_data()
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def median_update_ms(explorer, repeats=15):
    """The update callback alone (no drawing), as the slider calls it."""
    values = explorer.values
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        explorer._update(**values)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


@pytest.fixture(scope="module")
def petals():
    return eo.petal_data()


# --- the closed-form problem -------------------------------------------------------------------

def test_line_fit_matches_least_squares_and_finite_differences(petals):
    x, y = petals
    fit = eo.LineFit(x, y)
    X1 = np.column_stack([np.ones_like(x), x])
    np.testing.assert_allclose(fit.w_star, np.linalg.lstsq(X1, y, rcond=None)[0], rtol=1e-10)
    w = np.array([0.3, -0.7])
    np.testing.assert_allclose(fit.loss(w), np.mean((X1 @ w - y) ** 2), rtol=1e-12)
    utils.gradcheck.check_gradient(fit.loss, fit.grad, w)
    loss, grad = fit.batch_loss_and_grad(w, X1, y)
    np.testing.assert_allclose([loss, *grad], [fit.loss(w), *fit.grad(w)], rtol=1e-12)
    np.testing.assert_allclose([fit.mu, fit.L], np.linalg.eigvalsh(2 * X1.T @ X1 / len(x)))
    grid = fit.loss(np.zeros((3, 4, 2)))
    assert grid.shape == (3, 4)


def test_centring_makes_the_bowl_round(petals):
    x, y = petals
    raw, centred = eo.LineFit(x, y), eo.LineFit(x - x.mean(), y)
    assert raw.L / raw.mu > 50 and centred.L / centred.mu < 5


# --- descent_explorer --------------------------------------------------------------------------

def test_descent_path_is_gradient_descent_and_moves_with_the_sliders(petals):
    ex = eo.descent_explorer(*petals)
    assert ex.last_error is None
    path = ex.artists["path"]
    ex.set(lr=0.02, steps=25, w0=-1.0, w1=1.0)
    assert ex.last_error is None
    expected = utils.gradient_descent(ex.fit.grad, np.array([-1.0, 1.0]), 0.02, 25)
    np.testing.assert_allclose(np.column_stack(xy(path)), expected, rtol=1e-12)
    before = np.column_stack(xy(path)).copy()
    ex.set(lr=0.04)
    assert not np.allclose(np.column_stack(xy(path))[-1], before[-1])
    steps, gaps = xy(ex.artists["loss"])
    assert len(steps) == 26 and np.all(np.diff(gaps) < 0)
    assert "2/L" in ex.artists["title"].get_text()


def test_a_divergent_rate_is_shown_without_errors(petals):
    ex = eo.descent_explorer(*petals)
    ex.set(lr=1.2 * 2 / ex.fit.L, steps=300)
    assert ex.last_error is None
    assert "diverges" in ex.artists["title"].get_text()
    _, gaps = xy(ex.artists["loss"])
    assert gaps[-1] > gaps[0] and np.all(np.isfinite(gaps))
    path_x, _ = xy(ex.artists["path"])
    assert 1 <= len(path_x) < 301  # cut where it leaves the map
    marker, text = ex.artists["off_chart"]
    assert marker.get_visible() and "leaves the chart" in text.get_text()
    ex.set(lr=0.5 / ex.fit.L)
    assert "smooth" in ex.artists["title"].get_text()
    assert not marker.get_visible()


def test_descent_explorer_uses_the_function_it_is_given(petals):
    calls = []

    def my_gd(grad_fn, w_init, lr, n_steps):
        calls.append(n_steps)
        return utils.gradient_descent(grad_fn, w_init, lr, n_steps)

    ex = eo.descent_explorer(*petals, gradient_descent=my_gd, max_steps=120)
    ex.set(steps=7, lr=0.01, w0=-1.0, w1=1.0)
    assert set(calls) == {120}   # always the whole range; the sliders pick what is shown
    expected = utils.gradient_descent(ex.fit.grad, np.array([-1.0, 1.0]), 0.01, 7)
    np.testing.assert_allclose(np.column_stack(xy(ex.artists["path"])), expected, rtol=1e-12)
    steps, _ = xy(ex.artists["loss"])
    later, _ = xy(ex.artists["later"])
    assert len(steps) == 8 and later[0] == 7 and later[-1] == 120


@pytest.mark.parametrize("centre", [True, False])
def test_descent_axes_never_change_and_every_converging_run_is_in_view(petals, centre):
    x, y = petals
    ex = eo.descent_explorer(x - x.mean() if centre else x, y)
    ax, ax_loss = ex.fig.axes[:2]
    marker, text = ex.artists["off_chart"]
    limit = 2 / ex.fit.L
    seen = {"converging": 0, "off": 0}

    def check(ex, values):
        assert inside(ax, values["w0"], values["w1"])           # the start is on the map
        assert ax_loss.get_xlim() == (0, 300)
        t, gaps = (np.concatenate(pair) for pair in zip(xy(ex.artists["loss"]),
                                                        xy(ex.artists["later"])))
        assert len(np.unique(t)) == 301
        in_view = [inside(ax_loss, a, b) for a, b in zip(t, gaps)]
        if values["lr"] < limit:                # never above the start: all of it in view
            assert all(in_view), values
            assert not marker.get_visible()
            seen["converging"] += 1
        elif not all(in_view):
            assert marker.get_visible() and "leaves the chart" in text.get_text()
            seen["off"] += 1

    assert_axes_fixed(ex, check)
    assert seen["converging"] and seen["off"]


def test_descent_update_is_cheap(petals):
    ex = eo.descent_explorer(*petals)
    ex.set(steps=300)
    assert median_update_ms(ex) < 20


# --- learning_rate_gallery ---------------------------------------------------------------------

def test_gallery_shows_the_four_regimes(petals):
    x, y = petals
    gallery = eo.learning_rate_gallery(x - x.mean(), y)
    fit = gallery.fit
    gaps = [fit.loss(t) - fit.J_star for t in gallery.trajectories]
    small, right, large, divergent = gaps
    assert right[-1] < large[-1] < small[-1] < small[0]       # all three converge, at speeds
    assert divergent[-1] > divergent[0]                        # the last one blows up
    assert np.any(np.diff(gallery.trajectories[2][:, 1]) > 0)  # zigzag: the slope overshoots
    assert gallery._repr_png_()[:4] == b"\x89PNG"


# --- init_scale_explorer -----------------------------------------------------------------------

def test_init_scale_explorer_shrinks_or_saturates_with_sigma():
    ex = eo.init_scale_explorer(n_layers=6, width=50, n_inputs=100,
                                sigmas=[0.01, 1 / np.sqrt(50), 1.0])
    std = ex.artists["std"]
    image = ex.artists["histograms"]
    ex.set(sigma=0.01)
    small = np.asarray(std.get_ydata(), dtype=float).copy()
    hist_small = np.asarray(image.get_array()).copy()
    ex.set(sigma=1.0)
    assert ex.last_error is None
    large = np.asarray(std.get_ydata(), dtype=float)
    assert small[-1] < 1e-6 and large[-1] > 0.8
    assert not np.allclose(np.asarray(image.get_array()), hist_small)
    assert "saturated" in ex.artists["title"].get_text()
    assert median_update_ms(ex) < 10
    ax_std = ex.fig.axes[1]

    def check(ex, values):
        line = ex.artists["std"]
        assert all(inside(ax_std, a, b) for a, b in zip(line.get_xdata(), line.get_ydata()))

    assert_axes_fixed(ex, check)


def test_init_scale_explorer_uses_the_init_it_is_given():
    calls = []

    def my_init(shape, sigma, rng):
        calls.append(sigma)
        return sigma * rng.standard_normal(shape)

    eo.init_scale_explorer(init_weights=my_init, n_layers=2, width=10, n_inputs=5,
                           sigmas=[0.1, 0.2])
    assert sorted(set(calls)) == [0.1, 0.2]


# --- gradient_noise_explorer -------------------------------------------------------------------

def test_batch_gradients_are_unbiased_with_variance_one_over_b(petals):
    x, y = petals
    ex = eo.gradient_noise_explorer(x - x.mean(), y, n_draws=2000)
    full = ex.full_gradient
    spread = {}
    for B, est in ex.estimates.items():
        assert est.shape == (2000, 2)
        se = est.std(axis=0) / np.sqrt(len(est)) + 1e-12
        assert np.all(np.abs(est.mean(axis=0) - full) < 5 * se)   # unbiased
        spread[B] = np.trace(np.cov(est.T))
    assert spread[1] / spread[10] == pytest.approx(10 * (149 / 140), rel=0.15)
    np.testing.assert_allclose(ex.estimates[100].mean(axis=0), full, rtol=0.05)


def test_noise_explorer_moves_the_cloud(petals):
    ex = eo.gradient_noise_explorer(*petals, n_draws=200)
    dots = ex.artists["cloud"]
    before = np.asarray(dots.get_offsets()).copy()
    ex.set(batch_size=20)
    assert ex.last_error is None
    after = np.asarray(dots.get_offsets())
    assert after.shape == (200, 2) and not np.allclose(after, before)
    assert after.std(axis=0).sum() < before.std(axis=0).sum()
    assert "B = 20" in ex.artists["title"].get_text()
    assert median_update_ms(ex) < 10
    ax, ax_var = ex.fig.axes[:2]

    def check(ex, values):
        assert inside(ax, *ex.full_gradient)
        assert inside(ax, *np.ravel(ex.artists["mean"].get_data()))
        here = ex.artists["here"]
        assert len(here.get_xdata()) == 0 or inside(ax_var, *np.ravel(here.get_data()))

    assert_axes_fixed(ex, check)


# --- sgd_explorer ------------------------------------------------------------------------------

def test_sgd_runs_come_from_minibatch_sgd(petals):
    x, y = petals
    ex = eo.sgd_explorer(x - x.mean(), y, batch_sizes=(1, 10), lr_fractions=(0.1, 0.3),
                         n_epochs=3)
    fit = ex.fit
    for (B, lr), (path, epochs, losses) in ex.runs.items():
        n_updates = 3 * -(-150 // B)
        assert path.shape == (n_updates + 1, 2) and epochs[-1] == pytest.approx(3)
        start = path[0]
        w, expected = utils.minibatch_sgd(fit.batch_loss_and_grad, start, fit.X1, fit.y, lr,
                                          B, 3, np.random.default_rng(0))
        np.testing.assert_allclose(path[-1], w, rtol=1e-12)
        np.testing.assert_allclose(losses, expected, rtol=1e-12)
    # the full batch is the N-sized option, and equals gradient descent
    lr = sorted({lr for _, lr in ex.runs})[0]
    full_path = ex.runs[(150, lr)][0]
    np.testing.assert_allclose(full_path, utils.gradient_descent(fit.grad, full_path[0], lr, 3),
                               rtol=1e-10)


def test_sgd_explorer_switches_runs(petals):
    x, y = petals
    ex = eo.sgd_explorer(x - x.mean(), y, n_epochs=4)
    curve = ex.artists["sgd_curve"]
    sizes = ex.controls["batch_size"].options
    ex.set(batch_size=sizes[-1])
    full_x, full_y = (a.copy() for a in xy(curve))
    ex.set(batch_size=sizes[0])
    assert ex.last_error is None
    small_x, small_y = xy(curve)
    assert len(small_x) > len(full_x)
    assert small_y[-1] < full_y[-1]   # more updates per epoch: further after 4 epochs
    np.testing.assert_allclose(xy(ex.artists["full_curve"])[1], full_y)
    lrs = ex.controls["lr"].options
    ex.set(lr=lrs[0])
    assert not np.allclose(xy(curve)[1][-1], small_y[-1])
    _, reported = xy(ex.artists["reported"])
    assert len(reported) == 4
    assert median_update_ms(ex) < 10
    ax_loss = ex.fig.axes[1]

    def check(ex, values):
        _, full = xy(ex.artists["full_curve"])
        assert ax_loss.get_ylim()[0] < full.min() and full[0] < ax_loss.get_ylim()[1]

    assert_axes_fixed(ex, check)
