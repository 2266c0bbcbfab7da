"""The widget helpers and notebook 01's explorers, driven as a student would (Agg backend)."""
import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402

from utils.data import iris_two_species, xor  # noqa: E402
from utils.explorers import perceptron as explore  # noqa: E402
from utils.explorers.widgets import Explorer, figure, slider  # noqa: E402


def _shown(explorer):
    """What each layer of the figure's widget holds now."""
    return [child.value for child in explorer.view.children]


def test_explorer_updates_artists_in_place_and_renders():
    fig, ax = figure()
    (line,) = ax.plot([], [])
    calls = []

    def update(a):
        calls.append(a)
        line.set_data([0, 1], [0, a])

    explorer = Explorer(fig, update, a=slider(1.0, 0, 2))
    first = _shown(explorer)
    explorer.set(a=2.0)
    # drawn whole, a probe one step away (to plan the layers), the value again, the move
    assert calls == [1.0, 1.02, 1.0, 2.0]
    assert line.get_ydata()[1] == 2.0
    assert _shown(explorer) != first
    assert explorer.png()[:4] == b"\x89PNG"
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


# -- layers: what the browser stacks equals a full redraw -----------------------------------------
import json  # noqa: E402

import pytest  # noqa: E402

from conftest import ROOT, assignments, errors, execute, read_notebook  # noqa: E402
from utils.explorers import widgets as widget_module  # noqa: E402


@pytest.fixture
def verify(monkeypatch):
    """Compare every layered frame with a full redraw (an AssertionError shows as last_error)."""
    monkeypatch.setattr(widget_module, "VERIFY", True)


def _sandwich():
    """A moving image under static points, a moving line above them, a title that changes."""
    fig, (ax, ax2) = figure(1, 2)
    image = ax.imshow(np.zeros((20, 20)), extent=(0, 1, 0, 1), vmin=-1, vmax=1, alpha=0.5)
    ax.scatter(np.linspace(0, 1, 30), np.linspace(1, 0, 30), zorder=1)
    (line,) = ax.plot([], [], color="black", zorder=3)
    title = ax.set_title("")
    (curve,) = ax2.plot([], [])
    xs = np.linspace(0, 1, 50)

    def update(a, rescale=False):
        image.set_data(np.outer(np.sin(a * xs[:20]), np.cos(a * xs[:20])))
        line.set_data([0, 1], [a / 3, 1 - a / 3])
        title.set_text(f"a = {a:.2f}")
        curve.set_data(xs, a * xs ** 2)
        if rescale:
            ax2.set_ylim(0, max(a, 0.1))

    return fig, update


def test_layered_frames_equal_full_redraws(verify):
    fig, update = _sandwich()
    explorer = Explorer(fig, update, a=slider(1.0, 0, 3))
    for a in np.linspace(0, 3, 7):
        explorer.set(a=float(a))
        assert explorer.last_error is None, explorer.last_error
    hows = [t[2] for t in explorer.timings]
    # a = 1 was drawn when the explorer was made: its frame is kept and sent again
    assert hows[:2] == ["full", "plan"] and hows[2:] == ["layers"] * 2 + ["cached"] + \
        ["layers"] * 4, hows
    assert explorer._frames.why == "first plan"
    kinds = [kind for kind, _, _ in explorer._frames.plan["layers"]]
    # the image moves under static points (a static layer above it), then line and title (svg)
    assert kinds[:3] == ["image", "static", "svg"], kinds


def test_a_move_resends_only_the_layers_that_changed():
    fig, update = _sandwich()
    explorer = Explorer(fig, update, a=slider(1.0, 0, 3))
    sent = []
    for child in explorer.view.children:
        child.observe(lambda change: sent.append(change["owner"]), names="value")
    explorer.set(a=2.0)
    frames = explorer._frames
    moving = {w for (kind, _, _), w in zip(frames.plan["layers"], frames._widgets)
              if kind != "static"}
    # each moving layer once (and the glyph definitions, when new glyphs came); no static PNG
    assert set(sent) - {frames._defs} == moving and len(set(sent)) == len(sent)
    assert frames.background not in sent


def test_the_image_layer_is_sent_at_data_size_and_placed_on_the_axes():
    fig, ax = figure()
    image = ax.imshow(np.zeros((20, 30)), extent=(0, 3, 0, 2), vmin=0, vmax=1, alpha=0.5)
    ax.set(xlim=(0, 3), ylim=(0, 2))
    explorer = Explorer(fig, lambda a: image.set_data(np.full((20, 30), a)),
                        a=slider(0.5, 0, 1))
    explorer.set(a=1.0)
    frames = explorer._frames
    assert frames._widgets[0] is frames._movers  # in the one message a move sends
    tag, = re.findall(r"<img [^>]*>", frames._movers.value)
    url = re.search(r'src="([^"]+)"', tag).group(1)
    assert url.startswith("data:image/png;base64,")
    from PIL import Image
    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",")[1]))))
    assert sent.shape == (20, 30, 4)  # not resampled to the screen
    assert np.allclose(sent[..., 3], 128, atol=1)  # the artist's alpha is baked in
    box = ax.get_window_extent()
    style = dict(item.split(":") for item in re.search(r'style="([^"]+)"', tag).group(1).split(";"))
    assert style["position"] == "absolute" and style["z-index"] == "1"
    width, height, left, top = (float(style[k][:-2]) for k in ("width", "height", "left", "top"))
    assert abs(width - box.width) < 1 and abs(height - box.height) < 1
    canvas_height = fig.canvas.get_width_height()[1]
    assert abs(left - box.x0) < 1 and abs(top - (canvas_height - box.y1)) < 1


def test_what_svg_cannot_draw_falls_back_to_full_redraws():
    fig, ax = figure()
    ax.set(xlim=(0, 1), ylim=(0, 1))
    bar = ax.bar([0.5], [0.5], hatch="//")[0]
    explorer = Explorer(fig, lambda a: bar.set_height(a), a=slider(0.5, 0, 1))
    explorer.set(a=0.8)
    assert explorer.last_error is None
    assert [t[2] for t in explorer.timings][-1] == "full"
    assert "hatching" in explorer._frames.why
    assert explorer.view.children[0].value[:4] == b"\x89PNG"


def test_an_artist_added_by_update_is_drawn(verify):
    fig, ax = figure()
    ax.set(xlim=(0, 1), ylim=(0, 1))

    def update(a):
        ax.plot([0, a], [0, a])  # against the advice, but it must still show

    explorer = Explorer(fig, update, a=slider(0.5, 0, 1))
    for a in (0.2, 0.4, 0.6, 0.8):
        explorer.set(a=a)
        assert explorer.last_error is None, explorer.last_error
    assert len(ax.lines) == 7  # one per call: the first draw, the probe, the real values, 4 moves


def test_a_change_made_behind_matplotlibs_back_is_caught_in_tests(verify):
    """Layers trust the `stale` flags that setters raise: a change made without a setter
    would leave the old picture on screen. The verification (on in tests) catches it."""
    fig, ax = figure()
    (line,) = ax.plot([0, 1], [0, 1])
    text = ax.text(0.2, 0.5, "", fontsize=20)

    def update(a):
        line.set_ydata([0, a])  # through the setter: seen
        text._text = f"a = {a:.2f}"  # behind matplotlib's back: not seen

    explorer = Explorer(fig, update, a=slider(0.5, 0, 1))
    for a in (0.2, 0.4, 0.6):
        explorer.set(a=a)
    assert "differ from a full redraw" in explorer.last_error


def test_timings_and_live_explorers_are_recorded():
    fig, ax = figure()
    (line,) = ax.plot([0, 1], [0, 1])
    explorer = Explorer(fig, lambda a: line.set_ydata([0, a]), a=slider(0.5, 0, 1))
    explorer.set(a=0.7)
    update_ms, total_ms, how = explorer.timings[-1]
    assert 0 <= update_ms <= total_ms and how == "layers"
    assert explorer in widget_module.live_explorers()


MOVE_EVERY_CONTROL = """
import json as _json
import numpy as _np
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

_report = []
for _e in _w.live_explorers():
    for _name, _c in _e.controls.items():
        for _attr, _v in _values(_c):
            setattr(_c, _attr, _v)
            if _e.last_error:
                _report.append([_e._update.__qualname__, _name, str(_v), _e.last_error[-1500:]])
print(_json.dumps({"errors": _report,
                  "frames": [[t[2] for t in e.timings] for e in _w.live_explorers()]}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [
    pytest.param(a, marks=pytest.mark.xfail(
        reason="known: 12's next-character explorers fall back to full redraws in the layered "
               "engine (their frames still match a full redraw); open in issue 11",
        strict=False)) if a == "12_language_model" else a
    for a in assignments()])
def test_every_explorer_of_every_notebook_layers_what_a_full_redraw_draws(assignment,
                                                                          monkeypatch):
    """Each solution notebook (inline backend), then every control of every explorer moved
    across its range with every layered frame compared with a full redraw."""
    monkeypatch.setenv("COURSE_WIDGETS_VERIFY", "1")  # read by the kernel's utils.explorers.widgets
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
    assert all("plan" in frames and "full" not in frames[1:]
               for frames in report["frames"]), report["frames"]  # no explorer gave up layers


def test_a_stateful_explorer_is_not_probed():
    fig, ax = figure()
    (line,) = ax.plot([0, 1], [0, 1])
    calls = []

    def update(a):
        calls.append(a)
        line.set_ydata([0, a])

    explorer = Explorer(fig, update, stateful=True, a=slider(0.5, 0, 1))
    assert calls == [0.5]  # no probe: its state could not be undone
    explorer.set(a=0.7)
    assert [t[2] for t in explorer.timings] == ["full", "plan"]


def _line_explorer(**kwargs):
    fig, ax = figure()
    ax.set(xlim=(0, 1), ylim=(0, 1))
    (line,) = ax.plot([0, 1], [0, 0.5])
    title = ax.set_title("")

    def update(a):
        line.set_ydata([0, a])
        title.set_text(f"a = {a:.2f}")

    return Explorer(fig, update, a=widgets.FloatSlider(0.5, min=0, max=1, step=0.1), **kwargs)


def _svg_layers(explorer):
    return [w.value for w in explorer._frames._widgets if isinstance(w, widgets.HTML)]


def _moved_fresh(a):
    explorer = _line_explorer()
    explorer.set(a=a)
    return explorer


def test_a_frame_rendered_ahead_is_the_frame_a_move_would_draw():
    explorer = _line_explorer()
    assert explorer.render_ahead({"a": 0.6})
    frame = explorer._cache[explorer._key({"a": 0.6})][1]
    assert explorer.png() == _line_explorer().png()  # the artists are put back for a picture
    explorer.set(a=0.6)
    assert explorer.timings[-1][2] == "cached"
    assert all(widget.value == shown for widget, shown in frame)
    fresh = _moved_fresh(0.6)
    assert fresh.timings[-1][2] == "layers"  # computed, not kept
    assert _svg_layers(fresh) == _svg_layers(explorer) and fresh.png() == explorer.png()


def test_after_frames_ahead_a_computed_move_still_shows_its_values():
    """Frames rendered ahead leave the artists at their values: a move to values whose frame
    was not kept must still send (even when update changes nothing matplotlib can see)."""
    explorer = _line_explorer()
    explorer.render_ahead({"a": 0.7})
    explorer._cache.clear()
    explorer.set(a=0.7)
    assert explorer.timings[-1][2] == "layers"
    fresh = _moved_fresh(0.7)
    assert _svg_layers(explorer) == _svg_layers(fresh) and explorer.png() == fresh.png()


def test_in_a_running_kernel_the_neighbours_of_a_move_are_rendered_while_idle():
    import asyncio

    async def student():
        explorer = _line_explorer()
        await asyncio.sleep(0.3)  # idle: the frames next to the first one are rendered
        explorer.set(a=0.6)
        await asyncio.sleep(0.3)
        explorer.set(a=0.7)
        explorer.set(a=0.5)
        return explorer

    explorer = asyncio.run(student())
    assert [t[2] for t in explorer.timings][-3:] == ["cached"] * 3
    assert len(explorer.ahead_timings) >= 4


def test_a_stateful_explorer_renders_nothing_ahead():
    import asyncio

    async def student():
        explorer = _line_explorer(stateful=True)
        explorer.set(a=0.6)
        await asyncio.sleep(0.2)
        return explorer

    explorer = asyncio.run(student())
    assert not explorer.ahead_timings and not explorer._cache


def test_the_pictures_of_frames_drawn_ahead_are_preloaded_in_the_page():
    fig, ax = figure()
    image = ax.imshow(np.zeros((8, 8)), extent=(0, 1, 0, 1), vmin=0, vmax=1)
    explorer = Explorer(fig, lambda a: image.set_data(np.full((8, 8), a)),
                        a=widgets.FloatSlider(0.5, min=0, max=1, step=0.1))
    assert explorer.render_ahead({"a": 0.6})
    (widget, markup), = explorer._cache[explorer._key({"a": 0.6})][1]
    url, = re.findall(r'src="(data:[^"]+)"', markup)
    assert url in explorer._frames._preload.value  # loaded before it is shown
    explorer.set(a=0.6)
    assert explorer.timings[-1][2] == "cached" and widget.value == markup
