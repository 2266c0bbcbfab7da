"""The widget helpers and notebook 01's explorers, driven as a student would (Agg backend)."""
import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402

from utils.data import iris_two_species, xor  # noqa: E402
from utils.explorers import perceptron as explore  # noqa: E402
from utils.widgets import Explorer, figure, slider  # noqa: E402


def test_explorer_updates_artists_in_place_and_renders():
    fig, ax = figure()
    (line,) = ax.plot([], [])
    calls = []

    def update(a):
        calls.append(a)
        line.set_data([0, 1], [0, a])

    explorer = Explorer(fig, update, a=slider(1.0, 0, 2))
    first = explorer._view.value
    explorer.set(a=2.0)
    assert calls == [1.0, 2.0]
    assert line.get_ydata()[1] == 2.0
    assert explorer._view.value != first and explorer._view.value[:4] == b"\x89PNG"
    assert explorer.last_error is None and explorer.last_update_ms > 0
    assert len(fig.axes) == 1  # nothing was rebuilt


def test_errors_in_update_show_in_the_cell_and_clear_after_a_good_move():
    fig, ax = figure()

    def update(a):
        if a > 1:
            raise ValueError("a is too large")

    explorer = Explorer(fig, update, a=slider(0.5, 0, 2))
    explorer.set(a=1.5)
    assert "ValueError: a is too large" in explorer.last_error
    assert any("a is too large" in o.get("text", "") for o in explorer.errors.outputs)
    explorer.set(a=0.2)
    assert explorer.last_error is None and not explorer.errors.outputs


def test_explorer_displays_as_a_widget():
    fig, _ = figure()
    explorer = Explorer(fig, lambda a: None, a=slider(0.5, 0, 1))
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert isinstance(explorer.widget, widgets.VBox)


def test_decision_boundary_follows_the_sliders():
    X, y, names = iris_two_species()
    X = (X - X.mean(0)) / X.std(0)
    explorer = explore.decision_boundary(X, y, names)
    image = explorer.fig.axes[0].images[0]
    before = np.array(image.get_array())
    line = explorer.fig.axes[0].lines[0]
    x0 = np.array(line.get_ydata())
    explorer.set(w0=2.0)
    assert not np.array_equal(before, image.get_array())
    assert not np.array_equal(x0, line.get_ydata())
    explorer.set(activation="sigmoid")
    values = np.array(image.get_array())
    assert 0 < values.min() < values.max() < 1  # sigmoid outputs are strictly inside (0, 1)
    assert explorer.last_error is None
    assert "classified right" in explorer.fig.axes[0].get_title()


def test_training_replay_moves_through_history():
    X, y = xor(n=40)
    history = [(np.array([1.0, 0.0]), 0.0, 20), (np.array([0.0, 1.0]), 0.5, 18)]
    explorer = explore.training_replay(X, y, history)
    explorer.set(t=1)
    marker = explorer.fig.axes[1].lines[1]
    assert list(marker.get_xdata()) == [1] and list(marker.get_ydata()) == [18]
    assert explorer.last_error is None
