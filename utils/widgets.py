"""Interactive figures: ipywidgets controls that update a matplotlib figure built once.

The pattern every notebook uses::

    fig, ax = figure()
    ax.imshow(background)                      # drawn once
    line, = ax.plot([], [])                    # the artists that move

    def update(w, b):                          # cheap: set data on existing artists
        line.set_data(xs, w * xs + b)

    Explorer(fig, update, w=FloatSlider(...), b=FloatSlider(...))

Under ``%matplotlib widget`` (ipympl) the figure's own canvas is shown and redrawn in place;
under any other backend (inline, Agg in tests) the figure is rendered to a PNG in an
``ipywidgets.Image``. Errors in ``update`` are shown under the figure instead of vanishing
into the browser's log.

Speed: a move redraws only what ``update`` changed ("blitting"). The artists it touched are
found from matplotlib's ``stale`` flags; everything drawn before the first of them is kept as a
background image, everything static drawn after it as transparent layers composited back in
order, so the frame is the one a full redraw would give. Limits, layout or the set of artists
changing, or a figure where this does not pay, fall back to a full redraw. The frame is drawn
and sent in the same kernel call (no round trip to the browser to ask for it).
"""
import io
import os
import time
import traceback
import weakref
from collections import deque
from operator import attrgetter

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

# Set to 1 (tests do) to compare every blitted frame with a full redraw and raise on a mismatch.
VERIFY = os.environ.get("COURSE_WIDGETS_VERIFY", "") not in ("", "0")
_LIVE = []  # weak references to every Explorer, in creation order (for benchmarks)


def figure(nrows=1, ncols=1, *, figsize=(6.4, 3.6), **kwargs):
    """``plt.subplots`` without showing the figure: an :class:`Explorer` shows it.

    Returns ``(fig, axes)`` as ``plt.subplots`` does.
    """
    with plt.ioff():  # under ipympl, creating a figure would otherwise display it at once
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **kwargs)
    canvas = fig.canvas
    if isinstance(canvas, widgets.DOMWidget):  # ipympl: a quiet canvas without the header
        canvas.header_visible = False
        canvas.footer_visible = False
        canvas.toolbar_visible = False
        canvas.resizable = False
    return fig, axes


def live_explorers():
    """The explorers still alive, oldest first."""
    _LIVE[:] = [ref for ref in _LIVE if ref() is not None]
    return [ref() for ref in _LIVE]


class Explorer:
    """Controls (ipywidgets) that call ``update(**values)`` and redraw ``fig`` in place.

    Args:
        fig: a figure from :func:`figure`, with everything static already drawn.
        update: called with one keyword per control, e.g. ``update(w=1.0, b=0.5)``;
            it should only change existing artists (``set_data``, ``set_array``, ...).
        **controls: the widgets, by the keyword they feed to ``update``.

    Attributes:
        widget: the ``VBox`` shown in the notebook (controls, figure, error area).
        last_error: the traceback text of the latest failed update, or None.
        last_update_ms: kernel time of the latest move: ``update``, drawing and encoding the
            frame, in milliseconds.
        timings: the latest moves' ``(update_ms, total_ms, how)``; ``how`` is "full" or "blit".
    """

    def __init__(self, fig, update, **controls):
        self.fig = fig
        self._update = update
        self.controls = controls
        self.errors = widgets.Output()
        self.last_error = None
        self.last_update_ms = None
        self.timings = deque(maxlen=500)
        self._frames = _Frames(fig)
        if isinstance(fig.canvas, widgets.DOMWidget):
            self._view = fig.canvas
        else:
            self._view = widgets.Image(format="png")
        for control in controls.values():
            control.observe(self._on_change, names="value")
        box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([box, self._view, self.errors])
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

    def _on_change(self, change):
        self.refresh()

    def refresh(self):
        """Call ``update`` with the current values and redraw; show any error in the cell."""
        start = time.perf_counter()
        # pyplot redraws a stale figure by itself in interactive mode (a second, full frame
        # asked for through the browser): this explorer draws its frames, so not meanwhile
        auto_draw, self.fig.stale_callback = self.fig.stale_callback, None
        try:
            self._update(**self.values)
            updated = time.perf_counter()
            how = self._draw()
        except Exception:
            self.last_error = traceback.format_exc()
            self.errors.outputs = ()  # works with or without a front end, unlike clear_output
            self.errors.append_stderr(self.last_error)
            return
        finally:
            self.fig.stale_callback = auto_draw
        if self.last_error is not None:
            self.last_error = None
            self.errors.outputs = ()
        end = time.perf_counter()
        self.last_update_ms = (end - start) * 1e3
        self.timings.append(((updated - start) * 1e3, self.last_update_ms, how))

    def _draw(self):
        canvas = self.fig.canvas
        if self._view is canvas:
            if getattr(canvas, "syncing_data_url", True):  # no browser (yet): it asks for frames
                canvas.draw_idle()
                return "idle"
            how = self._frames.draw()
            canvas.blit()  # WebAgg: send the buffer (as a diff against the last frame)
            return how
        how = self._frames.draw()
        self._view.value = self._frames.png()
        return how

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def slider(value, low, high, step=None, description="", readout_format=".2f", **kwargs):
    """A FloatSlider that updates while dragged, with a short label."""
    step = (high - low) / 100 if step is None else step
    return widgets.FloatSlider(value=value, min=low, max=high, step=step,
                               description=description, readout_format=readout_format,
                               continuous_update=True, **kwargs)


def _draws_something(artist):
    """False for artists a draw skips (invisible, empty text): they stay stale after a draw."""
    empty_text = (isinstance(artist, Text) and not artist.get_text()
                  and getattr(artist, "arrow_patch", None) is None)  # an annotation's arrow
    return artist.get_visible() and not empty_text


def _axes_order(ax):
    """The artists ``Axes.draw`` draws, in its order (patch first, then by zorder)."""
    children = [a for a in ax.get_children() if a is not ax.patch]
    if not (ax.axison and ax.get_frame_on()):
        children = [a for a in children if a not in ax.spines.values()]
    if not ax.axison:
        children = [a for a in children if a not in (ax.xaxis, ax.yaxis)]
    children = sorted(children, key=attrgetter("zorder"))
    return ([ax.patch] if ax.axison and ax.get_frame_on() else []) + children


class _Frames:
    """Draw a figure's frames into its Agg canvas, redrawing only what changed.

    ``draw()`` after ``update`` finds the artists whose ``stale`` flag is set (the "movers").
    The first time, or when movers, limits, layout or the artists themselves change, it
    builds a plan: one full draw without the movers and everything static drawn after the
    first of them (the background), and each run of static artists after that drawn alone
    on a transparent layer. A frame is then: copy the background, and in draw order draw each
    mover and composite each static layer. Frames that keep needing a new plan switch to full
    redraws for good.
    """

    MAX_REBUILDS = 3  # consecutive frames that needed a new plan before giving up on blitting

    def __init__(self, fig):
        self.fig = fig
        self.canvas = fig.canvas
        self.enabled = isinstance(self.canvas, FigureCanvasAgg) and not fig.subfigs
        self.drawn = False  # a full draw has cleared the stale flags
        self.movers = set()
        self.plan = None
        self.rebuilds = 0

    # -- public -----------------------------------------------------------------------------
    def draw(self):
        """Draw the current state into the canvas buffer; return "full" or "blit"."""
        if not self.enabled:
            self._full()
            return "full"
        if not self.drawn:
            self._full()
            self.drawn = True
            return "full"
        try:
            changed = self._changed()
            if self.plan is not None and changed <= self.movers and self._same_layout():
                self._blit()
                self.rebuilds = 0
                if VERIFY:
                    self._verify()
                return "blit"
            self.movers |= changed
            self.rebuilds += 1
            if self.rebuilds > self.MAX_REBUILDS or not self.movers:
                raise _NoGain
            self._build()
            self._blit()
            return "full"
        except _NoGain:
            self.enabled = False
        self.plan = None
        self._full()
        return "full"

    def png(self):
        """The canvas buffer as PNG bytes (fast compression: the bytes go over loopback)."""
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(np.asarray(self.canvas.get_renderer().buffer_rgba())).save(
            buffer, format="png", compress_level=1)
        return buffer.getvalue()

    # -- drawing ----------------------------------------------------------------------------
    def _full(self):
        if isinstance(self.canvas, FigureCanvasAgg):
            FigureCanvasAgg.draw(self.canvas)  # into the buffer; sending is the caller's job
        else:  # not an Agg canvas: no buffer to blit into
            self.canvas.draw()

    def _groups(self):
        """Top-level things the figure draws, in order: axes and figure-level artists."""
        children = [a for a in self.fig.get_children() if a is not self.fig.patch]
        return sorted(children, key=attrgetter("zorder"))

    def _leaves(self):
        """Every artist a frame may redraw on its own: axes' children, figure-level artists."""
        for group in self._groups():
            if group in self.fig.axes:
                yield from _axes_order(group)
            else:
                yield group

    def _changed(self):
        drawn = self.plan["drawn"] if self.plan else set()
        return {a for a in self._leaves()
                if a.stale and (_draws_something(a) or a in drawn)}

    def _layout(self):
        renderer = self.canvas.get_renderer()
        return (id(renderer), tuple(self.fig.bbox.bounds),
                tuple((tuple(ax.viewLim.bounds), tuple(ax.get_position().bounds),
                       tuple(map(id, ax.get_children()))) for ax in self.fig.axes),
                tuple(map(id, self._groups())))

    def _same_layout(self):
        return self._layout() == self.plan["layout"]

    def _build(self):
        """Plan the frames: background, then movers and static layers in draw order."""
        renderer = self.canvas.get_renderer()
        groups = self._groups()
        moving = {g for g in groups
                  if g in self.movers or (g in self.fig.axes and self.movers & set(_axes_order(g)))}
        extents = {g: (g.get_tightbbox(renderer) if g in self.fig.axes
                       else g.get_window_extent(renderer)) for g in groups}
        grown = True
        while grown:  # a group overlapping a moving one must be redrawn in order with it
            grown = False
            for g in groups:
                if g not in moving and any(extents[g] is not None and extents[m] is not None
                                           and extents[g].overlaps(extents[m]) for m in moving):
                    moving.add(g)
                    grown = True
        sequence = []
        for g in groups:
            if g in moving:
                sequence.extend(_axes_order(g) if g in self.fig.axes else [g])
        first = next(i for i, a in enumerate(sequence) if a in self.movers)
        redrawn = sequence[first:]
        if len(redrawn) > 60:  # hardly cheaper than a full draw
            raise _NoGain
        # the background: a full draw with everything from the first mover on left out
        saved = [(a, a.get_animated(), a.get_visible()) for a in redrawn]
        try:
            for a in redrawn:
                if any(a is ax.patch for ax in self.fig.axes):
                    a.set_visible(False)  # Axes.draw draws its patch even when `animated`
                else:
                    a.set_animated(True)
            FigureCanvasAgg.draw(self.canvas)
        finally:
            for a, animated, visible in saved:
                a.set_animated(animated)
                a.set_visible(visible)
        pixels = np.asarray(self.canvas.get_renderer().buffer_rgba())
        background = pixels.copy()
        steps, run = [], []
        for a in redrawn + [None]:
            if a is not None and a not in self.movers:
                run.append(a)
                continue
            if run:
                steps.append(self._layer(run))
                run = []
            if a is not None:
                steps.append(a)
        self.plan = {"background": background, "steps": steps,
                     "drawn": {a for a in self._leaves() if _draws_something(a)}}
        self.plan["layout"] = self._layout()

    def _layer(self, artists):
        """Static artists drawn alone on transparent pixels: (flat indices, colour*alpha, 1-alpha)."""
        renderer = self.canvas.get_renderer()
        renderer.clear()
        pixels = np.asarray(renderer.buffer_rgba())
        pixels[..., 3] = 0
        for a in artists:
            a.draw(renderer)
        flat = pixels.reshape(-1, 4)
        where = np.flatnonzero(flat[:, 3])
        alpha = flat[where, 3:4].astype(np.float32) / 255
        colour = flat[where].astype(np.float32)
        colour[:, :3] *= alpha
        colour[:, 3:] = alpha * 255
        return where, colour, 1 - alpha

    def _blit(self):
        renderer = self.canvas.get_renderer()
        pixels = np.asarray(renderer.buffer_rgba())
        np.copyto(pixels, self.plan["background"])
        flat = pixels.reshape(-1, 4)
        for step in self.plan["steps"]:
            if isinstance(step, tuple):
                where, colour, keep = step
                flat[where] = (colour + flat[where] * keep + 0.5).astype(np.uint8)
            else:
                step.draw(renderer)

    def _verify(self):
        """Compare the blitted frame with a full redraw (tests): raise if they differ."""
        blitted = np.asarray(self.canvas.get_renderer().buffer_rgba()).copy()
        layout = self.plan["layout"]
        FigureCanvasAgg.draw(self.canvas)
        if self._layout() != layout:  # the layout engine moved things: nothing to compare
            self.plan = None
            return
        full = np.asarray(self.canvas.get_renderer().buffer_rgba()).astype(np.int16)
        off = np.abs(full - blitted).max(axis=-1)
        if (off > 8).mean() > 1e-3:
            raise AssertionError(f"a blitted frame differs from a full redraw in "
                                 f"{(off > 8).sum()} pixels (largest difference {off.max()})")


class _NoGain(Exception):
    """Blitting would not be cheaper (or cannot be done) for this figure."""
