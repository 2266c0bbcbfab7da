"""Interactive figures: ipywidgets controls that update a matplotlib figure built once.

The pattern every notebook uses::

    fig, ax = figure()
    ax.imshow(background)                      # drawn once
    line, = ax.plot([], [])                    # an artist that moves

    def update(w, b):                          # cheap: set data on existing artists
        line.set_data(xs, w * xs + b)
        return line,                           # the artists it moved

    Explorer(fig, update, w=FloatSlider(...), b=FloatSlider(...))

How a move reaches the screen is matplotlib's blitting: ``update`` returns the artists it
moved; the rest of the figure is drawn once, by Agg, as one PNG (the background), and each
move sends only the moving artists, drawn by matplotlib's own SVG renderer over it (a few kB
the browser paints in the same frame as a text label; images at their data size, scaled by
the browser; texts from glyph outlines and layouts kept across moves). Each moving artist's
SVG is kept until ``update`` returns it changed (``stale``, as matplotlib marks an artist a
setter changed), so a move draws what moved, not all that ever moved, in the order a full
redraw draws them: what is drawn above a moving artist in its axes (data points over a moving
image, a legend over a moving line) is a transparent PNG drawn once, defined once in the
page, and placed above it in the SVG (a ``<use>``). So the stack looks as a full redraw would
(the browser tests compare them pixel by pixel), and a move is one message. The figure keeps
the layout of its first draw, and ``update`` keeps axis limits fixed (the background's ticks
would be wrong otherwise). An ``update`` that returns None gets a full redraw (one PNG)
on every move: correct, slower.

Works the same with or without ``%matplotlib widget``: the figure never goes through pyplot.
Errors in ``update`` are shown under the figure instead of vanishing into the browser's log.
"""
import base64
import io
import itertools
import os
import time
import traceback
import weakref
from collections import deque
from functools import lru_cache
from operator import attrgetter

import ipywidgets as widgets
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.colors import rgb2hex
from matplotlib.font_manager import findfont
from matplotlib.image import AxesImage
from matplotlib.text import Text
from matplotlib.transforms import Affine2D
from matplotlib.textpath import text_to_path
from PIL import Image

from .glyphs import (agg_advance, agg_measure, ascii_glyphs, laid_out, num, outline_defs,
                     warm)

_IDS = itertools.count()
_LIVE = []  # weak references to every Explorer, in creation order (for benchmarks)
_PIXELATED = ' style="image-rendering:crisp-edges;image-rendering:pixelated"'  # as SVG writes
_SCOPED_STYLE = '<style type="text/css">.course-figure *{'
_NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
_PIECE = 8  # characters of text drawn from one start: they drift < 1 px from Agg's


def figure(nrows=1, ncols=1, *, figsize=(6.4, 3.6), **kwargs):
    """A figure and its axes, as ``plt.subplots`` returns them, for an :class:`Explorer` to show.

    The figure is not pyplot's (nothing is displayed by creating it, nothing to close); it draws
    with Agg whatever the notebook's backend.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def slider(value, low, high, step=None, description="", readout_format=".2f", **kwargs):
    """A FloatSlider that updates while dragged, with a short label."""
    step = (high - low) / 100 if step is None else step
    return widgets.FloatSlider(value=value, min=low, max=high, step=step,
                               description=description, readout_format=readout_format,
                               continuous_update=True, **kwargs)


def live_explorers():
    """The explorers still alive, oldest first."""
    _LIVE[:] = [ref for ref in _LIVE if ref() is not None]
    return [ref() for ref in _LIVE]


class Explorer:
    """Controls (ipywidgets) that call ``update(**values)`` and redraw ``fig`` in place.

    Args:
        fig: a figure from :func:`figure`, with everything static already drawn.
        update: called with one keyword per control, e.g. ``update(w=1.0, b=0.5)``; changes
            existing artists through their setters (``set_data``, ``set_text``, ...) and
            returns them (an artist, or a list or tuple of artists and lists of them), as
            matplotlib's blitting does; None redraws the whole figure on every move. An artist
            changed in place, not through a setter (``line.get_xdata()[:] = ...``), is not
            seen as changed: use its setter (or call ``artist.stale = True``).
        **controls: the widgets, by the keyword they feed to ``update``.

    Attributes:
        widget: the ``VBox`` shown in the notebook (controls, figure, error area).
        view: the figure's widget: the background PNG and one ``<svg>`` over it.
        last_error: the traceback text of the latest failed update, or None.
        last_update_ms: kernel time of the latest move (``update``, drawing and sending), ms.
        timings: the latest moves' ``(update_ms, total_ms, how, cpu_ms)``; ``how`` is
            "moved" (the moving artists alone), "background" (the layers drawn again: new
            moving artists) or "full" (``update`` returned None: one PNG of the whole
            figure); ``cpu_ms`` is the kernel thread's CPU time of ``total_ms`` (the rest is
            waiting for a core).
    """

    def __init__(self, fig, update, **controls):
        if not isinstance(fig.canvas, FigureCanvasAgg):  # e.g. plt.subplots under ipympl
            FigureCanvasAgg(fig)
        self.fig, self._update, self.controls = fig, update, controls
        self.errors = widgets.Output()
        self.last_error = self.last_update_ms = None
        self.timings = deque(maxlen=500)
        self._moving = None  # every artist update() returned so far (None: not known yet)
        self._runs = []  # [(moving?, artists, pixels of a static run)] over the background
        self._drawn = {}  # moving artist -> its SVG and the glyphs it uses, until it moves
        self._page_glyphs = set()  # glyph outlines defined in the page (self._defs)
        self._background = widgets.Image(format="png", layout=_stacked())
        self._layer = widgets.HTML(layout=_stacked())  # one <svg>: the runs, in order
        self._defs = widgets.HTML(layout=_stacked(width="0", height="0"))  # static runs, glyphs
        self._defs.add_class("course-defs")  # draws nothing itself: only used by the <svg>
        self.view = widgets.GridBox([self._background, self._layer, self._defs],
                                    layout=widgets.Layout(grid_template_areas='"f"',
                                                          overflow="hidden"))
        self.view.add_class("course-figure")
        self._id = f"course-{next(_IDS)}-{os.urandom(3).hex()}"  # page-wide ids of its defs
        for control in controls.values():
            control.observe(lambda change: self.refresh(), names="value")
        box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([box, self.view, self.errors])
        _LIVE.append(weakref.ref(self))
        self.refresh()

    @property
    def values(self):
        """The controls' current values, by keyword."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values):
        """Move controls as a student would (each move triggers an update)."""
        for name, value in values.items():
            self.controls[name].value = value

    def png(self):
        """The figure as it is now, drawn whole by Agg, as PNG bytes (what the screen shows)."""
        FigureCanvasAgg.draw(self.fig.canvas)
        return _png(self.fig.canvas.buffer_rgba())

    def composed(self):
        """The frame as the browser stacks it, with Agg drawing the moving artists instead of
        the browser drawing their SVG: RGBA pixels (H, W, 4). Equals a full redraw, :meth:`png`,
        when the layers are right."""
        width, height = self.fig.canvas.get_width_height()
        renderer = RendererAgg(width, height, self.fig.dpi)
        pixels = np.asarray(renderer.buffer_rgba())
        pixels[:] = np.asarray(Image.open(io.BytesIO(self._background.value)).convert("RGBA"))
        for moving, artists, layer in self._runs:
            if moving:
                for a in artists:
                    a.draw(renderer)
            else:
                under = Image.fromarray(pixels.copy())
                pixels[:] = np.asarray(Image.alpha_composite(under, Image.fromarray(layer)))
        return pixels.copy()

    def refresh(self):
        """Call ``update`` with the controls' values and show the result (or the error)."""
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            moved = self._update(**self.values)
            updated = time.perf_counter()
            how = self._show(moved)
        except Exception:
            self.last_error = traceback.format_exc()
            self.errors.outputs = ()  # works with or without a front end, unlike clear_output
            self.errors.append_stderr(self.last_error)
            return
        if self.last_error is not None:
            self.last_error = None
            self.errors.outputs = ()
        self.last_update_ms = (time.perf_counter() - start) * 1e3
        self.timings.append(((updated - start) * 1e3, self.last_update_ms, how,
                             (time.thread_time() - cpu) * 1e3))

    def _show(self, moved):
        """Send what ``update`` moved (and the layers under and over it when they change)."""
        if moved is None:
            self._moving = None
            FigureCanvasAgg.draw(self.fig.canvas)
            self._stack(self.fig.canvas.buffer_rgba(), [])
            self._layer.value = ""
            return "full"
        moved = set(_artists(moved))
        how = "moved"
        if self._moving is None or not moved <= self._moving:
            if self._moving is None:  # the first draw lays the figure out; later ones keep it
                FigureCanvasAgg.draw(self.fig.canvas)
                self.fig.set_layout_engine("none")
            self._moving = (self._moving or set()) | moved
            self._restack()
            how = "background"
        for a in moved:  # drawn again if changed since its last draw (matplotlib's stale)
            if a.stale:
                self._drawn.pop(a, None)
        self._layer.value = _svg(self.fig, self._runs, self._id, self._drawn,
                                 self._page_glyphs)
        return how

    def redraw(self):
        """Draw again what ``update`` does not move, after the figure was changed outside it
        (e.g. a label added to a shown explorer), as blitting takes a new background after a
        full draw. The layout stays as first drawn."""
        if self._moving is None:
            self.refresh()  # the first draw has not happened, or every move draws it all
            return
        self._restack()
        self._layer.value = _svg(self.fig, self._runs, self._id, self._drawn,
                                 self._page_glyphs)

    def _restack(self):
        """Draw the background without the moving artists, and the static runs above them;
        the moving artists are drawn again on the next move."""
        self._drawn.clear()
        runs = layers(self.fig, self._moving)
        self._stack(_without(self.fig, [a for _, run in runs for a in run]), runs)

    def _stack(self, background, runs):
        """Show ``background`` (RGBA pixels) under ``runs`` (see :func:`layers`): the static
        runs are drawn now, once, and defined in the page for the moving layer to use."""
        height, width = np.asarray(background).shape[:2]
        self._background.value = _png(background)
        self._runs = [(moving, artists, None if moving else _drawn_alone(self.fig, artists))
                      for moving, artists in runs]
        fonts = [a.get_fontproperties() for moving, run in runs if moving for a in run
                 if isinstance(a, Text)]
        self._page_glyphs = ascii_glyphs(fonts)
        warm(fonts, self.fig.dpi)  # numbers' pairs: laid out now, in one go, not move by move
        self._defs.value = _defs(self.fig, self._runs, self._id, self._page_glyphs)
        for layer in (self._background, self._layer, self.view):
            layer.layout.width, layer.layout.height = f"{width}px", f"{height}px"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _stacked(**size):
    """The layout of a layer: all layers share the figure's one grid cell."""
    return widgets.Layout(grid_area="f", margin="0", padding="0", max_width="none", **size)


def _artists(moved):
    """The artists in what ``update`` returned (nested lists, tuples, containers)."""
    if isinstance(moved, Artist):
        yield moved
    else:
        for item in moved:
            yield from _artists(item)


def layers(fig, moving):
    """What is drawn over the background: ``[(moving?, artists)]``, bottom to top.

    In each axes (and at the figure's level), in the order a full draw draws them (by
    zorder), everything from the first moving artist on: runs of moving artists and runs of
    static ones (drawn once, a transparent layer). Axes do not overlap, so the runs of
    different axes are stacked together: the first runs of each, then the second ones, ...
    """
    per_parent = []

    def visit(children):
        runs, above = [], False
        for a in sorted(children, key=attrgetter("zorder")):  # as Figure.draw and Axes.draw
            if isinstance(a, Axes) and a not in moving:
                visit(_drawn_by(a))
                continue
            above = above or a in moving
            if above and runs and runs[-1][0] == (a in moving):
                runs[-1][1].append(a)
            elif above:
                runs.append((a in moving, [a]))
        per_parent.append(runs)

    visit([a for a in fig.get_children() if a is not fig.patch])
    stacked = []  # each parent's runs alternate, moving first: the i-th runs are of one kind
    for i in range(max(map(len, per_parent), default=0)):
        merged = [a for runs in per_parent if i < len(runs) for a in runs[i][1]]
        stacked.append((i % 2 == 0, merged))
    return stacked


def _drawn_by(ax):
    """The artists ``Axes.draw`` draws over its patch."""
    children = [a for a in ax.get_children() if a is not ax.patch]
    if not (ax.axison and ax.get_frame_on()):
        children = [a for a in children if a not in ax.spines.values()]
    return [a for a in children if ax.axison or not isinstance(a, Axis)]


def _without(fig, artists):
    """The figure drawn by Agg without ``artists``: RGBA pixels. They are set ``animated``
    for the draw, as blitting does (hidden, they would not be laid out: a title moves)."""
    animated = [(a, a.get_animated()) for a in artists]
    try:
        for a, _ in animated:
            a.set_animated(True)
        FigureCanvasAgg.draw(fig.canvas)
    finally:
        for a, before in animated:
            a.set_animated(before)
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def _drawn_alone(fig, artists):
    """``artists`` drawn by Agg on transparent pixels the figure's size: RGBA (H, W, 4)."""
    renderer = RendererAgg(*fig.canvas.get_width_height(), fig.dpi)
    for a in artists:
        a.draw(renderer)
    return np.asarray(renderer.buffer_rgba()).copy()


def _svg(fig, runs, prefix, drawn, page_glyphs):
    """The runs over the background as one ``<svg>`` the size of the figure's pixels: the
    moving artists drawn by matplotlib's SVG renderer, each static run where it goes in the
    stack (a ``<use>`` of its picture, see :func:`_defs`).

    ``drawn`` keeps each moving artist's markup (and the glyphs it uses) until it moves
    again: a move draws only what ``update`` returned, the others are written as they were.
    Glyph outlines are defined in the ``<svg>`` unless ``page_glyphs`` holds them.
    """
    if not runs:
        return ""
    width, height = fig.canvas.get_width_height()
    size_pt = (width * 72 / fig.dpi, height * 72 / fig.dpi)  # Agg's whole pixels, in points
    artists = [a for moving, run, _ in runs if moving for a in run]
    new = [a for a in artists if a not in drawn]
    if new:
        drawn.update(zip(new, _drawn_as_svg(fig, new, size_pt)))
    body, glyphs = [], set()
    for k, (moving, run, _) in enumerate(runs):
        if not moving:
            body.append(f'<use xlink:href="#{prefix}-{k}"/>\n')
        for a in run if moving else ():
            body.append(drawn[a][0])
            glyphs |= drawn[a][1]
    outlines = outline_defs(glyphs - page_glyphs)
    size = f"width:{width}px;height:{height}px"
    return (f'<div style="position:relative;{size};line-height:0;contain:strict">'
            + _svg_start(*size_pt).replace("<svg ", f'<svg style="position:absolute;left:0;'
                                                    f'top:0;{size}" ', 1)
            + (f"<defs>{outlines}</defs>\n" if outlines else "") + "".join(body)
            + "</svg></div>")


@lru_cache(maxsize=16)
def _svg_start(width, height):
    """What matplotlib's SVG renderer writes before the first artist (``width`` by
    ``height`` points), from ``<svg``: no XML prolog inside a page, and its style rule kept
    to the figure (``*`` would reach the page's own icons)."""
    out = io.StringIO()
    RendererSVG(width, height, out, metadata=_NO_METADATA)
    start = out.getvalue()
    return start[start.index("<svg"):].replace('<style type="text/css">*{', _SCOPED_STYLE, 1)


def _drawn_as_svg(fig, artists, size_pt):
    """Each artist drawn alone by matplotlib's SVG renderer (in points, as
    ``savefig(format="svg")`` draws): ``[(markup, glyph ids it uses)]``. Images go at their
    data size, for the browser to scale (what the renderer does with interpolation "none":
    pixelated; the ones Agg smooths are smoothed)."""
    images = {a: a.get_interpolation() for a in artists if isinstance(a, AxesImage)}
    smooth = {a for a in images if _smooth(a)}
    dpi, drawings = fig.dpi, []
    fig.dpi = 72  # the SVG renderer works in points
    try:
        for a in images:
            a.set_interpolation("none")
        for a in artists:
            out = io.StringIO()
            renderer = _SVGWithAggMetrics(*size_pt, out, dpi)
            start = out.tell()
            a.draw(renderer)
            renderer.finalize()  # writes the clip paths it used
            markup = out.getvalue()[start:out.getvalue().rindex("</svg>")]
            if a in smooth:  # Agg smooths it when it scales it: so does the browser
                markup = markup.replace(_PIXELATED, "", 1)
            drawings.append((markup, renderer.course_glyphs))
    finally:
        fig.dpi = dpi
        for a, interpolation in images.items():
            a.set_interpolation(interpolation)
            a.stale = False  # as drawn: only its setting for the SVG was given back
    return drawings


class _SVGWithAggMetrics(RendererSVG):
    """matplotlib's SVG renderer (in points), laying text out with Agg's metrics at ``dpi``:
    Agg hints its fonts, so its lines are taller than the outlines' (10% at 8.5 pt), and a
    multi-line or aligned text would land elsewhere than in a full Agg redraw.

    Plain text is written as matplotlib writes it with ``svg.fonttype = "path"`` (each glyph's
    outline defined once, then placed by ``<use>``), from outlines and layouts kept across
    moves: laying a string out and reading its outlines is most of a text's cost, and a move
    draws mostly the strings and always the glyphs it drew before.
    """

    def __init__(self, width, height, out, dpi):
        super().__init__(width, height, out, image_dpi=dpi, metadata=_NO_METADATA)
        self.course_dpi, self.course_out = dpi, out
        self.course_glyphs = set()  # the glyph outlines used, for the <svg> to define

    def draw_markers(self, gc, marker_path, marker_trans, path, trans, rgbFace=None):
        """Markers as matplotlib's SVG renderer writes them (the marker defined once, a
        ``<use>`` at each point), but its ``<use>`` made once and copied to every point:
        matplotlib works the same style out again at each point (most of a marker line's
        cost; a scatter of one size and colour is drawn as markers too: 400 dots in 1.6 ms,
        not 5.1). Points off the page, missing or with path codes go the renderer's own way."""
        xy = (trans + Affine2D().scale(1, -1).translate(0, self.height)).transform(
            path.vertices)
        inside = np.isfinite(xy).all() and (xy >= 0).all() and (
            xy <= (self.width * 72, self.height * 72)).all()  # matplotlib's clip box
        if path.codes is not None or len(xy) < 2 or not inside:
            super().draw_markers(gc, marker_path, marker_trans, path, trans, rgbFace)
            return
        out, start = self.course_out, self.course_out.tell()
        super().draw_markers(gc, marker_path, marker_trans, type(path)(path.vertices[:1]),
                             trans, rgbFace)
        written = out.getvalue()[start:]
        first = written.rindex("<use ")
        end = written.index("/>\n", first) + 3
        line = written[written.rindex("\n", 0, first) + 1:end]  # indented, as matplotlib's
        head, tail = line.split(' x="', 1)
        tail = tail[tail.index(' style="'):]
        out.seek(start + end)
        out.truncate()
        out.write("".join(f'{head} x="{num(x)}" y="{num(y)}"{tail}' for x, y in xy[1:])
                  + written[end:])

    def get_text_width_height_descent(self, s, prop, ismath):
        """Agg's measure of ``s`` at the figure's dpi, in points."""
        return tuple(v * 72 / self.course_dpi
                     for v in agg_measure(s, prop.copy(), ismath, self.course_dpi))

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        """Plain text from kept glyphs (math, clipped or linked text as matplotlib draws it).

        A long line of fixed-pitch text goes in pieces of a few characters, each started where
        Agg's hinted advances put it: outlines advance a little further (0.1 px a character
        at 8.5 pt), so 80 characters would drift by pixels from a full Agg redraw."""
        special = (mtext is not None and (mtext.get_fontfeatures() or mtext.get_language()))
        if (ismath or special or gc.get_url() is not None or gc.get_clip_rectangle() is not None
                or gc.get_clip_path()[0] is not None):
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            return
        key = prop.copy()
        if angle or len(s) <= _PIECE or "Mono" not in findfont(prop):
            self._glyphs(gc, x, y, s, key, angle)
            return
        pen = 0.0
        for start in range(0, len(s), _PIECE):
            piece = s[start:start + _PIECE]
            if piece.strip():
                self._glyphs(gc, x + pen * 72 / self.course_dpi, y, piece, key, angle)
            pen += sum(agg_advance(c, key, self.course_dpi) for c in piece)

    def _glyphs(self, gc, x, y, s, prop, angle):
        """``s`` at (x, y) (points, y down) as ``<use>``s of its glyphs' outlines (defined
        once in the ``<svg>``): what ``svg.fonttype = "path"`` writes."""
        glyphs, uses = laid_out(s, prop)
        self.writer.comment(s)  # as matplotlib's; it also closes any tag left open
        self.course_glyphs.update(glyphs)
        style = [] if gc.get_rgb()[:3] == (0, 0, 0) else [f"fill:{rgb2hex(gc.get_rgb())}"]
        alpha = gc.get_alpha() if gc.get_forced_alpha() else gc.get_rgb()[3]
        if alpha != 1:
            style.append(f"opacity:{alpha:g}")
        scale = prop.get_size_in_points() / text_to_path.FONT_SCALE
        self.course_out.write(
            f'<g style="{";".join(style)}" transform="translate({num(x)} {num(y)}) '
            f'rotate({num(-angle)}) scale({num(scale)} {num(-scale)})">{uses}</g>\n')


def _defs(fig, runs, prefix, glyphs):
    """The static runs' pictures, cropped to what they draw, as ``<image>``s (ids
    ``{prefix}-{k}``, in the moving layer's units: points), and the outlines of ``glyphs``
    (what moving texts write most), defined once in the page: a move sends their ``<use>``s."""
    dpi, parts = fig.dpi, [outline_defs(glyphs)] if glyphs else []
    for k, (moving, _, pixels) in enumerate(runs):
        drawn = np.argwhere(pixels[..., 3] > 0) if not moving else []
        if len(drawn):
            (top, left), (bottom, right) = drawn.min(axis=0), drawn.max(axis=0) + 1
            x, y, w, h = (v * 72 / dpi for v in (left, top, right - left, bottom - top))
            url = "data:image/png;base64," + base64.b64encode(
                _png(pixels[top:bottom, left:right])).decode("ascii")
            parts.append(f'<image id="{prefix}-{k}" x="{x:.4f}" y="{y:.4f}" width="{w:.4f}" '
                         f'height="{h:.4f}" xlink:href="{url}"/>')
        elif not moving:
            parts.append(f'<g id="{prefix}-{k}"/>')  # draws nothing
    return ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
            f' width="0" height="0" style="position:absolute"><defs>{"".join(parts)}</defs>'
            '</svg>') if parts else ""


def _smooth(image):
    """Whether Agg smooths ``image`` when it scales it (else it shows its pixels as blocks):
    by its interpolation; "auto" and "antialiased" smooth unless zoomed in 3x or more."""
    interpolation = image.get_interpolation()
    if interpolation in ("auto", "antialiased"):
        rows, columns = image.get_array().shape[:2]
        box = image.get_window_extent()
        return box.width < 3 * columns or box.height < 3 * rows
    return interpolation not in ("nearest", "none")


def _png(rgba, level=1):
    """RGBA pixels as PNG bytes (fast compression: the picture is sent, not stored)."""
    out = io.BytesIO()
    Image.fromarray(np.asarray(rgba)).save(out, format="png", compress_level=level)
    return out.getvalue()
