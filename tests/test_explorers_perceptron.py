"""Notebook 01's explorers keep their axes: a move changes artists, never limits or ticks.

(Their numbers and artists are tested in test_widgets.py.)"""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from explorer_checks import assert_axes_fixed, inside  # noqa: E402
from utils.data import iris_two_species  # noqa: E402
from utils.explorers import perceptron as explore  # noqa: E402


def data():
    X, y, names = iris_two_species()
    return X, y, names


def test_decision_boundary_axes_never_change():
    X, y, names = data()
    explorer = explore.decision_boundary(X, y, names)
    ax = explorer.fig.axes[0]
    assert_axes_fixed(explorer, n=5, n_random=20)
    assert all(inside(ax, *x) for x in X)


def test_training_replay_axes_never_change():
    X, y, names = data()
    rng = np.random.default_rng(0)
    history = [(rng.standard_normal(2), float(rng.standard_normal()), int(k))
               for k in [10, 7, 7, 3, 4, 1, 0]]
    explorer = explore.training_replay(X, y, history, names)
    ax_err = explorer.fig.axes[1]

    def check(explorer, values):
        marker = ax_err.lines[1]
        assert inside(ax_err, *np.ravel(marker.get_data()))

    assert_axes_fixed(explorer, check)


def _screen_angle(ax, a, b, c, d):
    """The angle in degrees, on screen, between the segments a->b and c->d (data points)."""
    to_screen = ax.transData.transform
    u = to_screen(b) - to_screen(a)
    v = to_screen(d) - to_screen(c)
    return np.degrees(np.arccos(abs(u @ v) / np.linalg.norm(u) / np.linalg.norm(v)))


def test_decision_boundary_arrow_is_perpendicular_on_screen():
    """The notebook asks the student to see that w is normal to the boundary: the axes are
    equally scaled, so the arrow meets the line at 90 degrees in the drawn figure."""
    X, y, names = data()
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    explorer = explore.decision_boundary(X, y, names)
    ax = explorer.fig.axes[0]
    for w1, w2, w0 in [(1.5, -0.8, 0.5), (0.3, 2.0, -1.0), (-2.5, 0.4, 0.0)]:
        explorer.set(w1=w1, w2=w2, w0=w0)
        explorer.fig.canvas.draw()
        line = ax.lines[0]
        (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
        (arrow,) = ax.texts   # the annotation whose arrow is w
        tail, head = np.asarray(arrow.xyann, float), np.asarray(arrow.xy, float)
        angle = _screen_angle(ax, (x0, y0), (x1, y1), tail, head)
        assert abs(angle - 90) < 0.5, (w1, w2, w0, angle)


def test_training_replay_per_epoch_steps_through_epochs():
    X, y, names = data()
    rng = np.random.default_rng(1)
    # (w, w0, errors, epoch): the start, 3 updates in epoch 1, none in 2, 2 in epoch 3
    history = [(rng.standard_normal(2), 0.0, k, e)
               for k, e in [(50, 0), (40, 1), (45, 1), (30, 1), (20, 3), (25, 3)]]
    explorer = explore.training_replay(X, y, history, names, per_epoch=True)
    ax_err = explorer.fig.axes[1]
    assert explorer.controls["t"].max == 3   # epochs 0..3, the start included
    curve, marker, fewest = ax_err.lines[:3]
    np.testing.assert_array_equal(curve.get_ydata(), [50, 30, 30, 25])   # end of each epoch
    np.testing.assert_array_equal(fewest.get_ydata()[:4], [50, 30, 30, 20])  # any update so far
    explorer.set(t=3)
    assert explorer.last_error is None
    assert list(marker.get_ydata()) == [25]
    assert "epoch 3" in explorer.fig.axes[0].get_title()
