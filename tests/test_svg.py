"""The moving artists as the browser gets them: matplotlib's SVG, laid over the figure's pixels.

Each move sends the moving artists drawn by matplotlib's own SVG renderer (in points, as
``savefig(format="svg")`` draws) in an ``<svg>`` stretched over the figure's pixels. These
tests read that markup and check that it lands where Agg draws the same artists, whatever the
figure's dpi; tests/browser compares the screen itself with Agg's full redraw.
"""
import re
import string
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import RendererAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402

from utils.explorers import glyphs  # noqa: E402
from utils.explorers.widgets import Explorer, figure, slider  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def layers(explorer):
    """The moving layers' markup, parsed: [(outer div, its <svg>)]."""
    found = []
    for child in explorer.view.children:
        if isinstance(child, widgets.HTML) and child.value.startswith("<div"):
            div = ET.fromstring(child.value)
            found.append((div, div.find(f"{SVG}svg")))
    return found


def page_defs(explorer):
    """What the explorer defines once in the page (static pictures, glyph outlines), parsed."""
    return [ET.fromstring(child.value) for child in explorer.view.children
            if isinstance(child, widgets.HTML) and child.value.startswith("<svg")]


def style(element):
    return dict(part.split(":", 1) for part in element.get("style", "").replace(" ", "")
                .split(";") if part)


def line_explorer(dpi=100, lw=2.0, **plot):
    fig = Figure(figsize=(6.4, 3.6), dpi=dpi, layout="constrained")
    ax = fig.subplots()
    (line,) = ax.plot([0, 1], [0, 1], lw=lw, **plot)
    ax.set(xlim=(-0.5, 1.5), ylim=(-1, 2))

    def update(a):
        line.set_data([0, 0.5, 1], [0, a, 1 - a])
        return line

    return Explorer(fig, update, a=slider(0.5, 0, 1)), line


def test_the_svg_covers_the_figure_and_is_drawn_in_points():
    explorer, _ = line_explorer(dpi=100)
    (div, svg), = layers(explorer)
    width, height = explorer.fig.canvas.get_width_height()
    assert style(div)["width"] == style(svg)["width"] == f"{width}px"
    assert style(svg)["height"] == f"{height}px" and style(svg)["position"] == "absolute"
    view = [float(v) for v in svg.get("viewBox").split()]
    assert view == pytest.approx([0, 0, width * 72 / 100, height * 72 / 100])  # points
    assert all("<?xml" not in child.value for child in explorer.view.children[1:])


@pytest.mark.parametrize("dpi", [72, 100, 150])
def test_a_line_lands_where_agg_draws_it(dpi):
    explorer, line = line_explorer(dpi=dpi)
    explorer.set(a=0.8)
    (_, svg), = layers(explorer)
    (path,) = [p for p in svg.iter(f"{SVG}path") if "stroke-width" in p.get("style", "")]
    points = np.array([float(v) for v in re.findall(r"[-\d.]+", path.get("d"))]).reshape(-1, 2)
    height = explorer.fig.canvas.get_width_height()[1]
    agg = line.get_transform().transform(np.column_stack(line.get_data()))  # pixels, y up
    agg[:, 1] = height - agg[:, 1]
    assert points * dpi / 72 == pytest.approx(agg, abs=1e-3)
    assert explorer.fig.dpi == dpi  # drawn in points, then given its dpi back


def test_widths_are_in_points_as_agg_reads_them():
    """A 3-point line is 3 units wide in the SVG's point space: stretched to the figure's
    pixels, 3 * dpi / 72 pixels, as Agg draws it."""
    explorer, _ = line_explorer(dpi=150, lw=3.0, marker="o", ms=10)
    (_, svg), = layers(explorer)
    strokes = [style(p).get("stroke-width") for p in svg.iter(f"{SVG}path")]
    assert "3" in strokes
    marker = svg.find(f".//{SVG}defs/{SVG}path")  # the marker's shape, used at each point
    xs = [float(v) for v in re.findall(r"[-\d.]+", marker.get("d"))[::2]]
    assert max(xs) - min(xs) == pytest.approx(10, abs=0.1)  # ms=10 points across
    uses = [u for u in svg.iter(f"{SVG}use") if u.get(f"{XLINK}href") == f"#{marker.get('id')}"]
    assert len(uses) == 3


def image_explorer(interpolation, shape=(20, 30), alpha=0.5):
    fig, ax = figure()
    image = ax.imshow(np.zeros(shape), vmin=-1, vmax=1, alpha=alpha, aspect="auto",
                      interpolation=interpolation)

    def update(a):
        image.set_data(np.full(shape, a))
        return image

    return Explorer(fig, update, a=slider(0.5, -1, 1)), image


@pytest.mark.parametrize("interpolation, pixelated", [
    ("bilinear", False),  # Agg smooths: so does the browser
    ("nearest", True),  # Agg shows blocks: so does the browser
    ("auto", True),  # 30 columns over ~500 pixels: zoomed in more than 3x, blocks
])
def test_an_image_travels_at_its_data_size(interpolation, pixelated):
    explorer, image = image_explorer(interpolation)
    explorer.set(a=-0.5)
    (_, svg), = layers(explorer)
    (picture,) = svg.iter(f"{SVG}image")
    assert (picture.get("width"), picture.get("height")) == ("30", "20")
    assert picture.get(f"{XLINK}href").startswith("data:image/png;base64,")
    assert float(picture.get("opacity")) == 0.5  # the image's alpha, applied by the browser
    assert ("pixelated" in picture.get("style", "")) == pixelated
    assert image.get_interpolation() == interpolation  # given back after the draw


def test_a_small_image_shown_large_but_smoothed_by_auto():
    explorer, _ = image_explorer("auto", shape=(300, 400))  # fewer than 3 pixels per value
    (_, svg), = layers(explorer)
    (picture,) = svg.iter(f"{SVG}image")
    assert "pixelated" not in picture.get("style", "")


def test_text_is_drawn_as_glyph_outlines_that_follow_the_text():
    fig, ax = figure()
    title = ax.set_title("")
    explorer = Explorer(fig, lambda n: title.set_text("x" * n) or title,
                        n=widgets.IntSlider(value=1, min=1, max=5))
    (_, svg), = layers(explorer)
    assert not list(svg.iter(f"{SVG}text"))  # outlines, the same glyphs as Agg's
    def glyphs(svg):
        return [u.get(f"{XLINK}href") for u in svg.iter(f"{SVG}use")
                if u.get(f"{XLINK}href").startswith("#DejaVuSans-")]  # the font Agg draws with

    (glyph,) = glyphs(svg)
    explorer.set(n=4)
    (_, svg), = layers(explorer)
    assert glyphs(svg) == [glyph] * 4


def _glyph_markup(svg, defined=()):
    """A text's glyphs as written: (outline id -> path data, [(id, x, y) of each <use>]), the
    outlines defined in ``svg`` or in the page's ``defined`` elements."""
    paths = {p.get("id"): " ".join(p.get("d").split())
             for element in (svg, *defined) for p in element.iter(f"{SVG}path")
             if p.get("id") and p.get("d")}
    uses = []
    for use in svg.iter(f"{SVG}use"):
        href = use.get(f"{XLINK}href")[1:]
        if href in paths:  # matplotlib leaves out the first glyph's translate(0 0)
            x, y = re.match(r"translate\(([-\d.e]+)[ ,]+([-\d.e]+)\)",
                            use.get("transform", "translate(0 0)")).groups()
            uses.append((href, float(x), float(y)))
    return paths, uses


def test_text_is_the_markup_and_outlines_matplotlib_writes(tmp_path):
    """Text is written from outlines and layouts kept across moves: the same glyphs at the
    same places, with the same outlines, as ``savefig(format="svg")`` with text as paths, in
    the text's colour and opacity, also when the text moves back to an earlier string."""
    fig, ax = figure()
    text = ax.text(0.1, 0.5, "", color="#d62728", alpha=0.5, fontsize=13,
                   transform=ax.transAxes)
    words = ["Shakespeare", "AVAIL fig. 1", "Shakespeare"]
    explorer = Explorer(fig, lambda k: text.set_text(words[k]) or text,
                        k=widgets.IntSlider(value=0, min=0, max=2))
    for k, word in enumerate(words):
        explorer.set(k=k)
        (_, svg), = layers(explorer)
        ours = _glyph_markup(svg, page_defs(explorer))
        # characters' outlines are defined once in the page; the "fi" ligature's travels
        assert len(_glyph_markup(svg)[0]) == ("fi" in word)
        group = next(g for g in svg.iter(f"{SVG}g") if g.find(f"{SVG}use") is not None)
        assert style(group) == {"fill": "#d62728", "opacity": "0.5"}
        with matplotlib.rc_context({"svg.fonttype": "path"}):
            saved = Figure(figsize=fig.get_size_inches())
            saved.text(0.1, 0.5, word, fontsize=13)
            saved.savefig(tmp_path / "text.svg", format="svg")
        theirs = _glyph_markup(ET.parse(tmp_path / "text.svg").getroot())
        assert [g for g, _, _ in ours[1]] == [g for g, _, _ in theirs[1]], word
        assert [x for _, x, _ in ours[1]] == pytest.approx([x for _, x, _ in theirs[1]])
        assert {g: ours[0][g] for g, _, _ in ours[1]} == {g: theirs[0][g] for g, _, _ in
                                                        theirs[1]}


def _markers(svg, gid):
    """The markers of the artist ``gid`` in an ``<svg>``: [(marker's outline, its stroke,
    x, y, style)]."""
    defined = {p.get("id"): (p.get("d"), p.get("style")) for p in svg.iter(f"{SVG}path")}
    group = next(g for g in svg.iter(f"{SVG}g") if g.get("id") == gid)
    return [(*defined[use.get(f"{XLINK}href")[1:]], use.get("x"), use.get("y"),
             use.get("style")) for use in group.iter(f"{SVG}use")]


@pytest.mark.parametrize("ys", [[0.2, 0.5, 0.9, 0.1], [0.2, np.nan, 0.9, 0.1],
                                [0.2, 60.0, 0.9, 0.1]], ids=["inside", "missing", "off the page"])
def test_markers_are_the_markup_matplotlib_writes(tmp_path, ys):
    """A marker line's ``<use>`` is written once and copied to each point (points missing or
    off the page go matplotlib's own way): the same markers, styles and places as
    ``savefig(format="svg")`` writes."""
    fig, ax = figure()
    ax.set(xlim=(0, 4), ylim=(0, 1))
    (line,) = ax.plot([], [], "o-", ms=6, color="C1", markeredgecolor="black", alpha=0.7,
                      gid="moving")
    explorer = Explorer(fig, lambda k: line.set_data([0.5, 1.5, 2.5, 3.5], np.array(ys) * k)
                        or line, k=slider(1.0, 0.5, 1.0))
    (_, svg), = layers(explorer)
    fig.savefig(tmp_path / "markers.svg", format="svg")
    theirs = _markers(ET.parse(tmp_path / "markers.svg").getroot(), "moving")
    assert len(theirs) >= np.isfinite(ys).sum() and _markers(svg, "moving") == theirs


def test_outlines_beyond_ascii_travel_with_the_move_that_first_needs_them():
    fig, ax = figure()
    title = ax.set_title("")
    explorer = Explorer(fig, lambda rho: title.set_text(f"ρ = {rho:.1f}") or title,
                        rho=slider(0.5, 0, 1))
    (_, svg), = layers(explorer)
    paths, uses = _glyph_markup(svg, page_defs(explorer))
    assert len(uses) == len("ρ = 0.5") - 2  # spaces draw nothing
    inline, _ = _glyph_markup(svg)
    assert len(inline) == 1 and all(g in paths for g, _, _ in uses)  # only ρ's is in the move


def test_lines_of_a_text_are_as_far_apart_as_agg_puts_them():
    """Agg hints its glyphs: its lines are taller than the outlines' (10% at 8.5 pt), so the
    SVG lays text out with Agg's measures, or 16 lines of generated text drift apart."""
    fig, ax = figure()
    text = ax.text(0.1, 0.9, "", va="top", family="monospace", fontsize=8.5,
                   transform=ax.transAxes)
    explorer = Explorer(fig, lambda n: text.set_text("\n".join(["lp"] * n)) or text,
                        n=widgets.IntSlider(value=3, min=1, max=3))
    (_, svg), = layers(explorer)
    baselines = [float(g.get("transform").split()[1].rstrip(")")) for g in svg.iter(f"{SVG}g")
                 if g.get("transform", "").startswith("translate")]
    renderer = fig.canvas.get_renderer()
    heights = []
    for n in (2, 3):
        text.set_text("\n".join(["lp"] * n))
        heights.append(text.get_window_extent(renderer).height * 72 / fig.dpi)
    assert len(baselines) == 3
    assert np.diff(baselines) == pytest.approx([heights[1] - heights[0]] * 2, abs=0.05)


def test_a_long_line_of_text_ends_where_agg_ends_it():
    """Outlines advance a little further than Agg's hinted glyphs; over 80 characters that
    would be pixels, so long text is drawn in pieces started at Agg's positions."""
    fig, ax = figure(figsize=(9, 2))
    text = ax.text(0.0, 0.5, "", family="monospace", fontsize=8.5, transform=ax.transAxes)
    explorer = Explorer(fig, lambda n: text.set_text("x" * n) or text,
                        n=widgets.IntSlider(value=80, min=1, max=80))
    (_, svg), = layers(explorer)
    starts = [float(g.get("transform").split()[0][len("translate("):])
              for g in svg.iter(f"{SVG}g") if g.get("transform", "").startswith("translate")]
    renderer = fig.canvas.get_renderer()
    agg_right = text.get_window_extent(renderer).x1 * 72 / fig.dpi
    last_piece = renderer.get_text_width_height_descent("x" * 8, text.get_fontproperties(),
                                                        False)[0] * 72 / fig.dpi
    assert len(starts) == 10
    assert starts[-1] + last_piece == pytest.approx(agg_right, abs=0.72)  # a pixel at 100 dpi


def test_the_svg_style_applies_to_the_figure_only():
    """matplotlib's SVG sets stroke joins for every element (``*``); inside a page that would
    reach JupyterLab's own icons, so the rule is kept to the figure."""
    explorer, _ = line_explorer()
    (_, svg), = layers(explorer)
    rules = "".join(s.text for s in svg.iter(f"{SVG}style"))
    assert rules and all(rule.strip().startswith(".course-figure")
                         for rule in rules.split("}") if rule.strip())


def test_each_image_keeps_its_own_look_when_another_is_hidden():
    fig, ax = figure()
    hidden = ax.imshow(np.zeros((4, 4)), extent=(0, 1, 0, 1), interpolation="bilinear")
    hidden.set_visible(False)
    blocks = ax.imshow(np.zeros((5, 5)), extent=(0, 0.5, 0, 1), interpolation="nearest")
    smooth = ax.imshow(np.zeros((6, 6)), extent=(0.5, 1, 0, 1), interpolation="bilinear")
    ax.set(xlim=(0, 1), ylim=(0, 1))

    def update(a):
        for image in (hidden, blocks, smooth):
            image.set_data(np.full(image.get_array().shape, a))
        return hidden, blocks, smooth

    explorer = Explorer(fig, update, a=slider(0.5, 0, 1))
    (_, svg), = layers(explorer)
    looks = {p.get("width"): "pixelated" in p.get("style", "") for p in svg.iter(f"{SVG}image")}
    assert looks == {"5": True, "6": False}
    assert smooth.get_gid() is None  # given back after the draw


# ligatures: "fi" and "fl" are placed as a character is; "ffi" is laid out whole
LIGATURES = ["fine flow", "office", "final cell +0.123", "fluffiest fjord", "fifi", "ff fi"]
# beyond ASCII, as the explorers write it
SIGNS = ["p = σ(z) = 0.731 · 0.197", "ρ = 0.95, |λ| ≤ 1", "‖∂h_T/∂h_t‖ → 0", "ROMEO:↵What",
         "Ωμέγα Привет ±½°", "—“quoted”…", "x₁ ≈ 2×10⁻³"]


def _random_strings(count, seed):
    """Printable ASCII of every kind a title holds: letters, digits, signs, brackets."""
    rng = np.random.default_rng(seed)
    alphabet = string.ascii_letters + string.digits + " .,:;()=+-_%'[]{}<>/|*^~!?#&\"$@"
    return ["".join(rng.choice(list(alphabet), size=rng.integers(1, 60)))
            for _ in range(count)]


@pytest.mark.parametrize("family, size, dpi", [("sans-serif", 9, 100), ("sans-serif", 11, 72),
                                               ("monospace", 8.5, 100), ("serif", 13, 150)])
def test_agg_measure_from_pairs_is_agg_measure_of_the_whole_string(family, size, dpi):
    """A string's measure is put together from its characters and pairs (glyphs.py): it
    equals Agg's measure of the whole string, kerned pairs, ligatures and signs that sit
    above the baseline (a negative descent) included."""
    prop = FontProperties(family=family, size=size)
    words = _random_strings(400, seed=1) + ["AVATAR Wo", "fine flow", "-", "'^'", "x_1 = 2",
                                            *LIGATURES, *SIGNS]
    agg = RendererAgg(1, 1, dpi)
    for word in words:
        assert glyphs.agg_measure(word, prop, False, dpi) == pytest.approx(
            agg.get_text_width_height_descent(word, prop, False), abs=1e-9), word


@pytest.mark.parametrize("family", ["sans-serif", "monospace", "serif"])
def test_outlines_from_pairs_are_matplotlib_layout_of_the_whole_string(family):
    """The glyphs and their places, put together from characters and pairs, are those of
    matplotlib's layout of the whole string for ``svg.fonttype = "path"``."""
    prop = FontProperties(family=family, size=10)
    for word in _random_strings(300, seed=2) + ["AVATAR Wo", *LIGATURES, *SIGNS]:
        ids, uses = glyphs.laid_out(word, prop)
        expected = glyphs._outlines_whole(word, prop)
        places = re.findall(r'href="#([^"]+)" transform="translate\(([-\d.]+) ([-\d.]+)\)', uses)
        assert [g for g, _, _ in places] == [glyphs.glyph_id(g) for g, _, _ in expected], word
        assert [float(v) for _, x, y in places for v in (x, y)] == pytest.approx(
            [v for _, x, y in expected for v in (x, y)], abs=1e-6), word
        assert set(ids) == {g for g, _, _ in expected}
