"""utils.explorers.svg: the SVG a move sends, checked against matplotlib's own transforms (Agg backend).

That the browser draws it as Agg does is checked pixel by pixel in tests/browser.
"""
import io
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from PIL import Image  # noqa: E402

from utils.explorers import svg  # noqa: E402
from utils.explorers.widgets import figure  # noqa: E402

NS = "{http://www.w3.org/2000/svg}"


def _render(fig, artists):
    fig.canvas.draw()
    renderer = svg.SVGRenderer(fig.canvas.get_renderer(), prefix="t")
    renderer.begin()
    for a in artists:
        a.draw(renderer)
    return renderer, renderer.document(renderer.end())


def _numbers(d):
    return [int(v) for v in d.replace("M", " ").replace("L", " ").split()]


def test_png_round_trips():
    rgba = np.random.default_rng(0).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(svg.png(rgba)))), rgba)


@pytest.mark.parametrize("codes, expected", [
    (None, "M0 0L10 0 10 10"),
    ([Path.MOVETO, Path.LINETO, Path.LINETO], "M0 0L10 0 10 10"),
    ([Path.MOVETO, Path.CURVE3, Path.CURVE3], "M0 0Q10 0 10 10"),
    ([Path.MOVETO, Path.LINETO, Path.CLOSEPOLY], "M0 0L10 0Z"),
])
def test_path_data(codes, expected):
    vertices = np.array([[0, 0], [10, 0], [10, 10]])
    assert svg.path_data(vertices, None if codes is None else np.array(codes)) == expected


def test_a_line_lands_where_matplotlib_puts_it():
    fig, ax = figure()
    ax.set(xlim=(0, 10), ylim=(0, 5))
    (line,) = ax.plot([1, 4, 9], [1, 3, 2], lw=2, color="C1", alpha=0.5)
    renderer, document = _render(fig, [line])
    root = ET.fromstring(document)
    (path,) = root.iter(f"{NS}path")
    got = np.array(_numbers(path.get("d"))).reshape(-1, 2) / svg.SCALE
    expected = ax.transData.transform([[1, 1], [4, 3], [9, 2]])
    expected[:, 1] = renderer.height - expected[:, 1]
    assert np.allclose(got, expected, atol=0.06)
    assert path.get("stroke") == "#ff7f0e" and path.get("fill") == "none"
    assert float(path.get("stroke-width")) == pytest.approx(2 * fig.dpi / 72 * svg.SCALE, 0.01)
    assert path.get("stroke-opacity") == "0.5"
    clip = next(e for e in root.iter(f"{NS}svg") if e is not root)  # clipped to the axes
    box = ax.bbox
    assert int(clip.get("width")) == round(box.width * svg.SCALE)


def test_a_diverging_line_is_clipped_not_written_as_huge_numbers():
    fig, ax = figure()
    ax.set(xlim=(0, 1), ylim=(0, 1))
    (line,) = ax.plot([0, 0.5, 1], [0, 1e200, -1e200])
    _, document = _render(fig, [line])
    (path,) = ET.fromstring(document).iter(f"{NS}path")
    assert max(abs(v) for v in _numbers(path.get("d"))) < 1e5


def test_markers_are_one_shape_used_at_each_point():
    fig, ax = figure()
    ax.set(xlim=(0, 4), ylim=(0, 4))
    (dots,) = ax.plot([1, 2, 3, 9], [1, 2, 3, 9], "D", markersize=6)  # the last is off the axes
    scatter = ax.scatter([1, 3], [3, 1], s=20, color="C2", marker="s")
    renderer, document = _render(fig, [dots, scatter])
    root = ET.fromstring(document)
    uses = list(root.iter(f"{NS}use"))
    assert len(uses) == 3 + 2
    at = np.array([[int(u.get("x")), int(u.get("y"))] for u in uses[:3]]) / svg.SCALE
    expected = ax.transData.transform([[1, 1], [2, 2], [3, 3]])
    expected[:, 1] = renderer.height - expected[:, 1]
    assert np.allclose(at, expected, atol=0.06)
    ids = {p.get("id") for p in root.iter(f"{NS}path") if p.get("id")}
    assert {u.get("href")[1:] for u in uses} <= ids and all(i.startswith("t") for i in ids)


def test_round_markers_and_scatter_dots_are_circles_of_matplotlibs_size():
    fig, ax = figure()
    ax.set(xlim=(0, 4), ylim=(0, 4))
    (dots,) = ax.plot([1, 2, 9], [1, 2, 9], "o", markersize=6)  # the last is off the axes
    scatter = ax.scatter([1, 3], [3, 1], s=20, color="C2", alpha=0.4)
    renderer, document = _render(fig, [dots, scatter])
    root = ET.fromstring(document)
    assert not list(root.iter(f"{NS}use"))  # one element a dot, no tree cloned per dot
    circles = list(root.iter(f"{NS}circle"))
    assert len(circles) == 2 + 2
    at = np.array([[float(c.get("cx")), float(c.get("cy"))] for c in circles]) / svg.SCALE
    expected = ax.transData.transform([[1, 1], [2, 2], [1, 3], [3, 1]])
    expected[:, 1] = renderer.height - expected[:, 1]
    assert np.allclose(at, expected, atol=0.06)
    radii = np.array([float(c.get("r")) for c in circles]) / svg.SCALE
    # a marker's size is its diameter in points; a scatter's s its area in points^2
    points = renderer.points_to_pixels(1.0)
    assert np.allclose(radii, [3 * points] * 2 + [np.sqrt(20) / 2 * points] * 2, rtol=1e-3)
    group = next(g for g in root.iter(f"{NS}g") if g.find(f"{NS}circle") is not None
                 and g.get("fill-opacity"))
    assert float(group.get("fill-opacity")) == 0.4  # each dot, so overlaps darken as in Agg


def test_text_is_drawn_as_glyph_outlines_at_its_anchor():
    fig, ax = figure()
    text = ax.text(0.5, 0.5, "w = 1.5", transform=ax.transAxes, fontsize=12, color="red",
                   rotation=30)
    renderer, document = _render(fig, [text])
    root = ET.fromstring(document)
    group = next(g for g in root.iter(f"{NS}g") if "rotate(-30)" in g.get("transform", ""))
    assert group.get("fill") == "#ff0000"
    uses = [u.get("href")[1:] for u in group.iter(f"{NS}use")]
    outlines = {p.get("id"): p.get("d") for p in root.iter(f"{NS}path") if p.get("id")}
    assert len(uses) == 5  # w = 1 . 5 (spaces have no outline)
    assert len(set(uses)) == 5 and set(uses) <= set(outlines)  # each glyph defined once
    assert all(len(outlines[u]) > 20 for u in uses)  # outlines, not a <text> the browser sets
    plain = ax.text(0.25, 0.5, "b", transform=ax.transAxes, va="baseline")
    renderer, document = _render(fig, [plain])
    (group,) = (g for g in ET.fromstring(document).iter(f"{NS}g") if g.get("transform"))
    x, y = (float(v) for v in group.get("transform").split(")")[0][10:].split())
    anchor = ax.transAxes.transform((0.25, 0.5))
    assert abs(x / svg.SCALE - anchor[0]) < 1  # its baseline starts at the anchor
    assert abs(y / svg.SCALE - (renderer.height - anchor[1])) < 1


def test_bars_and_an_unsupported_hatch():
    fig, ax = figure()
    bars = ax.bar([0, 1], [1, 2])
    _, document = _render(fig, list(bars))
    assert len(list(ET.fromstring(document).iter(f"{NS}path"))) == 2
    bars[0].set_hatch("//")
    with pytest.raises(svg.Unsupported, match="hatching"):
        _render(fig, [bars[0]])
