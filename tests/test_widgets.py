"""The widget engine and notebook 01's explorers, driven as a student would (Agg backend).

What is tested is what a student sees: a move shows the new state of what ``update`` moved
and nothing else is re-sent; the stack the browser shows (background, static layers, moving
artists) equals a full redraw; errors show under the figure. How the moving artists look as
SVG is tested in test_svg.py; the screen itself in tests/browser.
"""
import io
import json

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from PIL import Image  # noqa: E402

from conftest import ROOT, assignments, errors, execute, read_notebook  # noqa: E402
from utils.data import iris_two_species, xor  # noqa: E402
from utils.explorers import perceptron as explore  # noqa: E402
from utils.explorers.plotting import rectangles, set_line_data, set_rectangles  # noqa: E402
from utils.explorers.widgets import Explorer, figure, live_explorers, slider  # noqa: E402


def shown(explorer):
    """What each layer of the figure's widget holds now, bottom to top."""
    return [child.value for child in explorer.view.children]


def moving(explorer):
    """The moving layer: one ``<svg>`` (matplotlib's, of the moving artists) in a ``<div>``."""
    return [child.value for child in explorer.view.children
            if isinstance(child, widgets.HTML) and child.value.startswith("<div")]


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(int)


def assert_same_picture(explorer):
    """The stack the browser composes (Agg drawing the moving artists) against a full Agg
    redraw: equal but for the rounding of blending a transparent layer (a unit or two at
    antialiased edges); a missing, doubled or mis-stacked artist differs by far more."""
    composed = explorer.composed().astype(int)
    full = pixels(explorer.png())
    assert composed.shape == full.shape
    off = np.abs(composed - full).max(axis=-1)
    assert off.max() <= 8, f"{(off > 8).sum()} pixels differ, by up to {off.max()}"


def sandwich():
    """A moving image under static points, a moving line, static spines and a legend above
    it, a title that changes, and a curve in a second axes with a grid."""
    fig, (ax, ax2) = figure(1, 2)
    image = ax.imshow(np.zeros((20, 20)), extent=(0, 1, 0, 1), vmin=-1, vmax=1, alpha=0.5,
                      interpolation="bilinear")
    ax.scatter(np.linspace(0, 1, 30), np.linspace(1, 0, 30), zorder=1, label="points")
    (line,) = ax.plot([], [], color="black", zorder=2)
    ax.legend(loc="upper right")
    title = ax.set_title("")
    (curve,) = ax2.plot([], [], lw=3)
    ax2.set(xlim=(0, 1), ylim=(0, 2))
    ax2.grid(True)
    xs = np.linspace(0, 1, 50)

    def update(a):
        image.set_data(np.outer(np.sin(a * xs[:20]), np.cos(a * xs[:20])))
        line.set_data([0, 1], [a / 3, 1 - a / 3])
        title.set_text(f"a = {a:.2f}")
        curve.set_data(xs, a * xs ** 2)
        return image, line, title, curve

    return fig, update


def test_update_is_called_with_the_controls_values_and_its_artists_are_shown():
    fig, ax = figure()
    (line,) = ax.plot([], [])
    calls = []

    def update(a):
        calls.append(a)
        line.set_data([0, 1], [0, a])
        return line,

    explorer = Explorer(fig, update, a=slider(1.0, 0, 2))
    assert calls == [1.0]  # drawn once, nothing drawn ahead or probed
    before = moving(explorer)
    explorer.set(a=2.0)
    assert calls == [1.0, 2.0] and explorer.values == {"a": 2.0}
    assert line.get_ydata()[1] == 2.0
    assert moving(explorer) != before and "<svg" in moving(explorer)[0]
    assert explorer.last_error is None and explorer.last_update_ms > 0
    assert len(fig.axes) == 1  # nothing was rebuilt
    assert_same_picture(explorer)


def test_a_move_resends_only_the_moving_artists():
    fig, update = sandwich()
    explorer = Explorer(fig, update, a=slider(1.0, 0, 3))
    before, layer = shown(explorer), moving(explorer)
    explorer.set(a=2.0)
    changed = [b != a for b, a in zip(before, shown(explorer))]
    assert sum(changed) == 1  # one message: the background and static pictures are sent once
    assert moving(explorer) != layer and moving(explorer)[0] in shown(explorer)
    assert [t[2] for t in explorer.timings] == ["background", "moved"]


def test_a_move_draws_again_only_what_changed():
    """What ``update`` returns unchanged (the same text again) or does not return keeps the
    drawing it has; what changed (a setter called: matplotlib's ``stale``) is drawn again,
    and the layer is what a fresh draw gives."""
    fig, ax = figure()
    (line,) = ax.plot([0, 1], [0, 1])
    title, label = ax.set_title(""), ax.text(0.5, 0.5, "")
    seen = []

    def update(a, word):
        line.set_ydata([0, a])  # set on every move, so drawn on every move
        title.set_text(f"a = {a:.1f}")
        label.set_text(word)
        return line, title, label

    explorer = Explorer(fig, update, a=slider(0.5, 0, 1), word=widgets.Text("one"))
    for artist, name in ((line, "line"), (title, "title"), (label, "label")):
        artist.draw = (lambda draw, name: lambda renderer: seen.append(name) or draw(renderer))(
            artist.draw, name)
    explorer.set(a=0.9)
    assert sorted(seen) == ["line", "title"]
    seen.clear()
    explorer.set(word="two")
    assert sorted(seen) == ["label", "line"]
    with matplotlib.rc_context({"svg.hashsalt": "ids from the content"}):
        explorer.set(a=0.2)
        sent = moving(explorer)
        explorer.redraw()
        assert moving(explorer) == sent
    assert_same_picture(explorer)


def test_the_stack_equals_a_full_redraw_after_every_move():
    fig, update = sandwich()
    explorer = Explorer(fig, update, a=slider(0.0, 0, 3))
    for a in (0.0, 0.7, 2.9, 1.3):
        explorer.set(a=a)
        assert explorer.last_error is None
        assert_same_picture(explorer)


def test_a_label_added_to_a_shown_explorer_is_drawn_after_redraw():
    """As ``mark_reference`` does: a figure text added after the explorer was shown."""
    fig, update = sandwich()
    explorer = Explorer(fig, update, a=slider(1.0, 0, 3))
    fig.text(0.99, 0.01, "reference: relu", ha="right", va="bottom", color="#a11")
    explorer.redraw()
    assert_same_picture(explorer)
    explorer.set(a=2.5)
    assert_same_picture(explorer)


def test_static_artists_drawn_above_a_moving_one_stay_above_it():
    """The points over the moving image are drawn once, and placed between the image and the
    moving line: without it the image (alpha 0.5) would veil them."""
    fig, update = sandwich()
    explorer = Explorer(fig, update, a=slider(1.0, 0, 3))
    (svg,) = moving(explorer)
    image, points, line = (svg.index(s) for s in ("<image", "<use xlink:href=", "#000000"))
    assert image < points < line
    used = svg[points:].split('"')[1]  # the static picture, defined once in the page
    assert any(f'id="{used[1:]}"' in layer for layer in shown(explorer)[1:])
    assert_same_picture(explorer)


def test_an_artist_moved_later_joins_the_moving_layers():
    fig, ax = figure()
    (line,) = ax.plot([0, 1], [0, 1])
    text = ax.text(0.5, 0.5, "static")

    def update(a):
        line.set_ydata([0, a])
        if a > 1:
            text.set_text(f"a = {a:.1f}")
            return line, text
        return line

    explorer = Explorer(fig, update, a=slider(0.5, 0, 2))
    explorer.set(a=1.5)
    assert explorer.timings[-1][2] == "background"
    assert_same_picture(explorer)
    explorer.set(a=0.2)  # still drawn with the moving artists (not back in the background)
    explorer.set(a=1.8)
    assert [t[2] for t in explorer.timings][-2:] == ["moved", "moved"]
    assert_same_picture(explorer)


def test_an_update_returning_none_gets_a_full_redraw_per_move():
    fig, ax = figure()
    (line,) = ax.plot([0, 1], [0, 1])
    explorer = Explorer(fig, lambda a: line.set_ydata([0, a]), a=slider(0.5, 0, 1))
    first = shown(explorer)
    explorer.set(a=0.9)
    assert moving(explorer) == []  # one picture, the whole figure
    assert shown(explorer) != first and explorer.timings[-1][2] == "full"
    assert np.array_equal(pixels(shown(explorer)[0]), pixels(explorer.png()))


def test_the_layout_is_kept_when_moving_text_changes_size():
    fig, ax = figure()
    title = ax.set_title("")
    places = []

    def update(n):
        title.set_text("a long title\n" * n)
        return title

    explorer = Explorer(fig, update, n=widgets.IntSlider(value=1, min=0, max=4))
    for n in (4, 0, 2):
        explorer.set(n=n)
        places.append(tuple(ax.get_position().bounds))
    assert len(set(places)) == 1
    assert_same_picture(explorer)


def test_errors_in_update_show_under_the_figure_and_clear_after_a_good_move():
    fig, ax = figure()
    (line,) = ax.plot([0, 1], [0, 1])

    def update(a):
        if a > 1:
            raise ValueError("a is too large")
        line.set_ydata([0, a])
        return line

    explorer = Explorer(fig, update, a=slider(0.5, 0, 2))
    explorer.set(a=1.5)
    assert "ValueError: a is too large" in explorer.last_error
    assert any("a is too large" in o.get("text", "") for o in explorer.errors.outputs)
    assert explorer.widget.children[-1] is explorer.errors  # under the figure
    explorer.set(a=0.2)
    assert explorer.last_error is None and not explorer.errors.outputs
    assert_same_picture(explorer)


def test_an_error_on_the_first_draw_is_shown_too():
    fig, _ = figure()

    def update(a):
        raise KeyError("missing")

    explorer = Explorer(fig, update, a=slider(0.5, 0, 1))
    assert "KeyError" in explorer.last_error


def test_explorer_displays_as_a_widget_and_is_recorded():
    fig, ax = figure()
    (line,) = ax.plot([0, 1], [0, 1])
    explorer = Explorer(fig, lambda a: line.set_ydata([0, a]) or line, a=slider(0.5, 0, 1))
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert isinstance(explorer.widget, widgets.VBox)
    assert explorer.view in explorer.widget.children
    explorer.set(a=0.7)
    update_ms, total_ms, how, cpu_ms = explorer.timings[-1]
    assert 0 <= update_ms <= total_ms and how == "moved" and 0 <= cpu_ms <= total_ms + 1
    assert explorer in live_explorers()


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
    assert_same_picture(explorer)


def test_training_replay_moves_through_history():
    X, y = xor(n=40)
    history = [(np.array([1.0, 0.0]), 0.0, 20), (np.array([0.0, 1.0]), 0.5, 18)]
    explorer = explore.training_replay(X, y, history)
    explorer.set(t=1)
    marker = explorer.fig.axes[1].lines[1]
    assert list(marker.get_xdata()) == [1] and list(marker.get_ydata()) == [18]
    assert explorer.last_error is None
    assert_same_picture(explorer)


def test_a_line_is_set_only_when_it_moves():
    """An explorer sets a line through ``set_line_data``: a line that did not move (to
    rounding) is left unchanged, so it is not drawn again; one that moved is set."""
    _, ax = figure()
    (line,) = ax.plot([0.0, 1.0], [0.0, 1.0])
    line.stale = False
    assert not set_line_data(line, [0.0, 1.0], [0.0, 1.0 + 1e-15]) and not line.stale
    assert set_line_data(line, [0.0, 1.0], [0.0, 1.001]) and line.stale
    assert list(line.get_ydata()) == [0.0, 1.001]
    assert set_line_data(line, [np.nan, np.nan], [-1e6, 1e6])  # no line: NaN
    line.stale = False
    assert not set_line_data(line, [np.nan, np.nan], [-1e6, 1e6]) and not line.stale
    assert set_line_data(line, [0.0, 1.0, 2.0], [0.0, 1.0, 2.0])  # a point more
    assert set_line_data(line, [0.0, 1.0], [np.inf, 1.0])
    assert not set_line_data(line, [0.0, 1.0], [np.inf, 1.0])
    assert set_line_data(line, [0.0, 1.0], [-np.inf, 1.0])


def test_rectangles_are_one_path_of_closed_outlines():
    bars = rectangles(np.arange(3) - 0.4, np.arange(3) + 0.4, 0.0, [0.5, 0.0, 2.0])
    polygons = bars.to_polygons()
    assert len(polygons) == 3
    for k, (corners, height) in enumerate(zip(polygons, [0.5, 0.0, 2.0])):
        assert corners[:, 0].min() == pytest.approx(k - 0.4)
        assert corners[:, 0].max() == pytest.approx(k + 0.4)
        assert (corners[:, 1].min(), corners[:, 1].max()) == (0.0, height)
    _, ax = figure()
    patch = ax.add_patch(PathPatch(bars))
    patch.stale = False
    set_rectangles(patch, 0.0, 1.0, 0.0, [3.0])  # moved, and marked changed to be drawn
    assert patch.stale and [p[:, 1].max() for p in patch.get_path().to_polygons()] == [3.0]


# -- every explorer of every notebook ------------------------------------------------------------
MOVE_EVERY_CONTROL = """
import io as _io, json as _json
import matplotlib as _matplotlib
import numpy as _np
from PIL import Image as _Image
import utils.explorers.widgets as _w

def _values(c):
    if hasattr(c, "options"):
        n = len(c.options)
        return [("index", i) for i in _np.linspace(0, n - 1, min(n, 4)).astype(int)]
    if hasattr(c, "base"):  # FloatLogSlider: min and max are exponents
        return [("value", c.base ** e) for e in _np.linspace(c.min, c.max, 4)]
    if hasattr(c, "min") and hasattr(c, "max"):
        return [("value", type(c.value)(v)) for v in _np.linspace(c.min, c.max, 4)]
    if isinstance(c.value, bool):
        return [("value", not c.value), ("value", c.value)]
    return []

def _off(e):
    full = _np.asarray(_Image.open(_io.BytesIO(e.png())).convert("RGBA")).astype(int)
    return int(_np.abs(e.composed().astype(int) - full).max())

def _layers(e):
    return [c.value for c in e.view.children]

def _kept_drawings_are_current(e):
    # the moving layer as the move sent it (what did not move kept from earlier moves)
    # equals the one drawn from scratch: no artist changed without update returning it
    sent = _layers(e)
    e.redraw()
    return _layers(e) == sent

_matplotlib.rcParams["svg.hashsalt"] = "ids from the content, not random"

_report = []
for _e in _w.live_explorers():
    _e.redraw()  # drawn again with the ids the salt gives
    for _name, _c in _e.controls.items():
        for _attr, _v in _values(_c):
            setattr(_c, _attr, _v)
            _where = [_e._update.__qualname__, _name, str(_v)]
            if _e.last_error:
                _report.append(_where + [_e.last_error[-1500:]])
            elif _off(_e) > 8:
                _report.append(_where + [f"the stack differs from a full redraw by {_off(_e)}"])
            elif not _kept_drawings_are_current(_e):
                _report.append(_where + ["an artist changed but was not returned by update"])
print(_json.dumps({"errors": _report,
                  "frames": [[t[2] for t in e.timings] for e in _w.live_explorers()]}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("assignment", assignments())
def test_every_explorer_of_every_notebook_shows_what_a_full_redraw_draws(assignment):
    """Each solution notebook (inline backend), then every control of every explorer moved
    across its range, the stack compared with a full redraw after each move, and the moving
    layer (drawings of what did not move kept) with one drawn from scratch."""
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    nb = read_notebook(path)
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        cell["source"] = source.replace("%matplotlib widget", "%matplotlib inline")
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "move-every-control",
                        "metadata": {}, "outputs": [], "source": MOVE_EVERY_CONTROL})
    done = execute(nb, path.parent)
    last = done["cells"][-1]
    assert not errors(last), "\n".join(errors(last)[0]["traceback"])[-2000:]
    text = "".join("".join(o.get("text", "")) for o in last["outputs"]
                   if o.get("name") == "stdout")
    report = json.loads(text.strip().splitlines()[-1])
    assert not report["errors"], "\n\n".join(" ".join(e) for e in report["errors"])
    assert report["frames"], f"{assignment}: no explorer was created"
    # every explorer returns its moving artists: no full redraws
    assert all("full" not in frames for frames in report["frames"]), report["frames"]
