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
