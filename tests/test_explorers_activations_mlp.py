"""The explorers of notebooks 02 and 03: right numbers, cheap updates, artists that move."""
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import utils  # noqa: E402
from explorer_checks import assert_axes_fixed, inside  # noqa: E402
from utils.data import moons, xor  # noqa: E402
from utils.explorers import activations as ea  # noqa: E402
from utils.explorers import mlp as em  # noqa: E402




def mean_update_ms(explorer, values_list):
    """The callback alone (what a slider move costs before drawing), averaged."""
    start = time.perf_counter()
    for values in values_list:
        explorer._update(**values)
    return (time.perf_counter() - start) / len(values_list) * 1e3


# --- 02: activation and derivative ------------------------------------------------------------

@pytest.fixture
def act_explorer():
    return ea.activation_explorer()


def artists(explorer):
    ax, dax = explorer.fig.axes[:2]
    curve, tangent, point = ax.lines[:3]
    dcurve, dpoint = dax.lines[:2]
    return curve, tangent, point, dcurve, dpoint


def test_tangent_touches_the_curve_with_the_derivative_as_slope(act_explorer):
    for name in ["sigmoid", "tanh", "relu"]:
        for z0, w, b in [(1.0, 1.0, 0.0), (-2.5, 2.0, 0.5), (0.3, -1.5, -1.0)]:
            act_explorer.set(activation=name, z0=z0, w=w, b=b)
            assert act_explorer.last_error is None
            _, tangent, point, _, dpoint = artists(act_explorer)
            g, g_prime = ea.REFERENCES[name]
            a0, s0 = float(g(w * z0 + b)), w * float(g_prime(w * z0 + b))
            assert point.get_xdata()[0] == pytest.approx(z0)
            assert point.get_ydata()[0] == pytest.approx(a0)
            assert dpoint.get_ydata()[0] == pytest.approx(s0)
            tz, ty = (np.asarray(v, dtype=float) for v in tangent.get_data())
            assert (ty[1] - ty[0]) / (tz[1] - tz[0]) == pytest.approx(s0, abs=1e-12)
            assert np.interp(z0, tz, ty) == pytest.approx(a0)


def test_dropdown_and_gain_change_the_curves(act_explorer):
    curve, _, _, dcurve, _ = artists(act_explorer)
    before = np.array(curve.get_ydata()), np.array(dcurve.get_ydata())
    act_explorer.set(activation="tanh")
    assert not np.allclose(curve.get_ydata(), before[0])
    zs = np.asarray(curve.get_xdata())
    np.testing.assert_allclose(curve.get_ydata(), utils.tanh(zs))
    np.testing.assert_allclose(dcurve.get_ydata(), utils.tanh_grad(zs))
    act_explorer.set(w=3.0)
    np.testing.assert_allclose(dcurve.get_ydata(), 3.0 * utils.tanh_grad(3.0 * zs))
    assert act_explorer.last_error is None


def test_the_remark_names_saturation_and_dead_relus(act_explorer):
    act_explorer.set(activation="sigmoid", z0=5.5)
    assert "saturated" in act_explorer.fig._suptitle.get_text()
    act_explorer.set(z0=0.0)
    assert "saturated" not in act_explorer.fig._suptitle.get_text()
    act_explorer.set(activation="relu", z0=-1.0)
    assert "ReLU below 0" in act_explorer.fig._suptitle.get_text()


def test_takes_a_students_functions():
    calls = []

    def my_sigmoid(z):
        calls.append(1)
        return utils.sigmoid(z)

    explorer = ea.activation_explorer({"mine": (my_sigmoid, utils.sigmoid_grad)})
    assert calls and explorer.last_error is None
    assert list(explorer.controls["activation"].options) == ["mine"]


def test_a_broken_function_shows_its_error_instead_of_raising():
    def broken(z):
        raise ValueError("student bug")

    explorer = ea.activation_explorer({"sigmoid": (utils.sigmoid, utils.sigmoid_grad),
                                       "broken": (broken, broken)})
    explorer.set(activation="broken")
    assert "student bug" in explorer.last_error
    explorer.set(activation="sigmoid")
    assert explorer.last_error is None


def test_activation_axes_never_change_and_z0_stays_in_view(act_explorer):
    """Every activation, point, gain and shift on the same axes; a point beyond them is marked
    on the edge with its value."""
    ax, dax = act_explorer.fig.axes[:2]
    a_marker, a_text, s_marker, s_text = act_explorer.artists["off_chart"]
    seen = {"inside": 0, "marked": 0}

    def check(explorer, values):
        for axes, point, marker, text in ((ax, "point", a_marker, a_text),
                                          (dax, "slope_point", s_marker, s_text)):
            line = explorer.artists[point]
            x, y = float(line.get_xdata()[0]), float(line.get_ydata()[0])
            assert inside(axes, x, axes.get_ylim()[0])  # z0 is always within the x-limits
            if inside(axes, x, y):
                assert not marker.get_visible() and not text.get_visible()
                seen["inside"] += 1
            else:
                assert marker.get_visible() and text.get_visible()
                assert float(marker.get_xdata()[0]) == x and f"{y:.3g}" in text.get_text()
                seen["marked"] += 1
        low, high = ax.get_ylim()
        curve = np.asarray(explorer.artists["curve"].get_ydata(), dtype=float)
        slopes = np.asarray(explorer.artists["slope_curve"].get_ydata(), dtype=float)
        dlow, dhigh = dax.get_ylim()
        if values["activation"] in ("sigmoid", "tanh"):  # bounded: always whole in view
            assert low < curve.min() and curve.max() < high
        if values["activation"] == "sigmoid" or abs(values["w"]) <= 1:
            assert dlow < slopes.min() and slopes.max() < dhigh  # every slope in view

    assert_axes_fixed(act_explorer, check)
    assert seen["inside"] > 0 and seen["marked"] > 0


def test_default_settings_show_every_curve_whole(act_explorer):
    """At gain 1 and shift 0 the sigmoid and tanh, their slopes and ReLU's kink are in view."""
    ax, dax = act_explorer.fig.axes[:2]
    for name in ("sigmoid", "tanh", "relu"):
        act_explorer.set(activation=name, z0=0.5, w=1.0, b=0.0)
        curve = np.asarray(act_explorer.artists["curve"].get_ydata(), dtype=float)
        zs = np.asarray(act_explorer.artists["curve"].get_xdata(), dtype=float)
        shown = zs <= 2.0 if name == "relu" else np.ones_like(zs, dtype=bool)
        assert all(inside(ax, z, a) for z, a in zip(zs[shown], curve[shown]))
        slopes = act_explorer.artists["slope_curve"].get_ydata()
        assert all(inside(dax, z, s) for z, s in zip(zs, slopes))
        assert not any(a.get_visible() for a in act_explorer.artists["off_chart"])


def test_activation_update_is_cheap(act_explorer):
    values = [dict(activation=n, z0=z, w=1.5, b=0.2) for n in ("sigmoid", "tanh", "relu")
              for z in np.linspace(-5, 5, 10)]
    assert mean_update_ms(act_explorer, values) < 10


# --- 03: hidden units and decision map --------------------------------------------------------

XOR_START = {"W1": np.array([[5.0, -5.0, 0.0], [-5.0, 5.0, 0.0]]),
             "b1": np.array([-5.0, -5.0, 0.0]),
             "W2": np.array([[1.0], [0.0], [0.0]]), "b2": np.array([0.0])}


@pytest.fixture
def xor_explorer():
    X, y = xor(n=200, seed=0)
    return em.mlp_explorer(X, y, XOR_START, utils.sigmoid), X, y


def images(explorer):
    hax, oax = explorer.fig.axes[:2]
    return hax.images[0], oax.images[0]


def test_output_map_is_the_network_on_the_grid(xor_explorer):
    explorer, X, y = xor_explorer
    _, o_img = images(explorer)
    n = o_img.get_array().shape[0]
    hax = explorer.fig.axes[0]
    _, _, points = utils.explorers.plotting.grid(hax.get_xlim(), hax.get_ylim(), n)
    expected = utils.mlp_forward(points, explorer.params, utils.sigmoid)[:, 0].reshape(n, n)
    np.testing.assert_allclose(o_img.get_array(), expected, atol=1e-12)


def test_the_first_exercise_of_the_notebook_works(xor_explorer):
    """Selecting unit 1 and raising its output weight solves XOR, as the notebook promises."""
    explorer, X, y = xor_explorer
    oax = explorer.fig.axes[1]
    assert "accuracy 76%" in oax.get_title()
    _, o_img = images(explorer)
    before = np.array(o_img.get_array())
    explorer.set(unit=1)
    assert explorer.values == {"unit": 1, "w1": -5.0, "w2": 5.0, "b": -5.0, "v": 0.0}
    explorer.set(v=1.0)
    assert explorer.last_error is None
    assert "accuracy 100%" in oax.get_title()
    assert not np.allclose(o_img.get_array(), before)
    assert explorer.params["W2"][:, 0].tolist() == [1.0, 1.0, 0.0]


def test_switching_units_does_not_leak_weights(xor_explorer):
    explorer, _, _ = xor_explorer
    explorer.set(unit=2)
    explorer.set(w1=3.0, b=-1.0)
    explorer.set(unit=0)
    assert explorer.values == {"unit": 0, "w1": 5.0, "w2": -5.0, "b": -5.0, "v": 1.0}
    np.testing.assert_array_equal(explorer.params["W1"][:, 0], [5.0, -5.0])
    np.testing.assert_array_equal(explorer.params["W1"][:, 2], [3.0, 0.0])
    assert explorer.params["b1"].tolist() == [-5.0, -5.0, -1.0]
    h_img, _ = images(explorer)
    assert "hidden unit 0" in explorer.fig.axes[0].get_title()
    np.testing.assert_allclose(h_img.get_array().max(), 1.0, atol=1e-3)


def test_hidden_map_and_line_follow_the_sliders(xor_explorer):
    explorer, _, _ = xor_explorer
    h_img, _ = images(explorer)
    line = explorer.fig.axes[0].lines[0]
    before = np.array(h_img.get_array()), np.array(line.get_ydata(), dtype=float)
    explorer.set(b=0.0)
    assert not np.allclose(h_img.get_array(), before[0])
    xs, ys = (np.asarray(v, dtype=float) for v in line.get_data())
    np.testing.assert_allclose(5.0 * xs - 5.0 * ys + 0.0, 0.0, atol=1e-9)  # z_0 = 0 on it


def test_callers_params_are_not_modified():
    X, y = xor(n=50, seed=1)
    start = {k: v.copy() for k, v in XOR_START.items()}
    explorer = em.mlp_explorer(X, y, start, utils.sigmoid)
    explorer.set(w1=1.0, v=-2.0)
    for k in XOR_START:
        np.testing.assert_array_equal(start[k], XOR_START[k])


@pytest.mark.parametrize("g", [utils.relu, utils.tanh])
def test_other_activations_and_data(g):
    X, y = moons(n=80, seed=2)
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(2, 4)), "b1": rng.normal(size=4),
              "W2": rng.normal(size=(4, 1)), "b2": np.zeros(1)}
    explorer = em.mlp_explorer(X, y, params, g, n=40, unit=3)
    assert explorer.values["unit"] == 3 and explorer.last_error is None
    explorer.set(unit=0, v=2.0)
    assert explorer.last_error is None
    np.testing.assert_allclose(explorer.fig.axes[1].images[0].get_array(),
                               utils.mlp_forward(utils.explorers.plotting.grid(
                                   explorer.fig.axes[0].get_xlim(),
                                   explorer.fig.axes[0].get_ylim(), 40)[2],
                                   explorer.params, g)[:, 0].reshape(40, 40), atol=1e-12)


@pytest.mark.parametrize("build", [ea.activation_explorer,
                                   lambda: em.mlp_explorer(*xor(n=40), XOR_START, utils.sigmoid)])
def test_the_shown_picture_changes(build):
    """A move changes what the figure's layers show, and the full redraw agrees."""
    explorer = build()
    before, picture = [c.value for c in explorer.view.children], explorer.png()
    explorer.set(**({"z0": -3.0} if "z0" in explorer.controls else {"v": 3.0}))
    assert explorer.last_error is None
    assert [c.value for c in explorer.view.children] != before and explorer.png() != picture


def test_mlp_axes_never_change(xor_explorer):
    explorer, X, _ = xor_explorer
    hax, oax = explorer.fig.axes[:2]

    def check(explorer, values):
        assert f"hidden unit {values['unit']}" in hax.get_title()
        assert "accuracy" in oax.get_title()

    assert_axes_fixed(explorer, check, n=5, n_random=15)
    for ax in (hax, oax):  # the data stay in view
        assert all(inside(ax, *x) for x in X)


def test_mlp_update_is_cheap(xor_explorer):
    explorer, _, _ = xor_explorer
    values = [dict(unit=0, w1=5.0, w2=-5.0, b=b, v=1.0) for b in np.linspace(-6, 2, 30)]
    assert mean_update_ms(explorer, values) < 10
