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
found from matplotlib's ``stale`` flags, which every setter raises (so ``update`` must change
artists through their setters); an axes whose limits change is redrawn whole. Everything drawn
before the first changed artist is kept as a background image, everything static drawn after
it as transparent layers composited back in order, so a frame is the one a full redraw would
give (with ``COURSE_WIDGETS_VERIFY=1``, as in the tests, every frame is checked against one).
A figure where this does not pay falls back to full redraws. The frame is drawn and sent in the
same kernel call: no round trip to the browser to ask for it.
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
            it should only change existing artists, through their setters (``set_data``,
            ``set_array``, ``set_text``, ``set_ylim``, ...): a frame redraws what matplotlib
            was told changed.
        **controls: the widgets, by the keyword they feed to ``update``.

    Attributes:
        widget: the ``VBox`` shown in the notebook (controls, figure, error area).
        last_error: the traceback text of the latest failed update, or None.
        last_update_ms: kernel time of the latest move: ``update``, drawing and encoding the
            frame, in milliseconds.
        timings: the latest moves' ``(update_ms, total_ms, how)``; ``how`` says how the frame
            was drawn: "full", "plan" (what to redraw was worked out, then drawn), "blit" (only
            what changed), "none" (nothing changed) or "idle" (under ipympl before the browser
            showed the figure: it asks for the frame).
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
            if how != "none":
                canvas.blit()  # WebAgg: send the buffer (as a diff against the last frame)
            # The frame sent is the figure's state. Left stale, the figure would be drawn again
            # in full: ipykernel fires post_execute after each widget message and pyplot then
            # redraws every stale figure (one more round trip and a full draw per move).
            self.fig.stale = False
            return how
        how = self._frames.draw()
        if how != "none":
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

    After ``update``, the artists whose ``stale`` flag is set are the "movers"; an axes whose
    limits or set of artists changed moves as a whole. The first time, or when new movers
    appear or the layout changes, a plan is built: the figure without the movers and without
    whatever static is drawn after the first mover of its overlapping group (the background,
    drawn once), and each run of static artists after a mover drawn alone on transparent
    pixels. A frame is then: copy the background, draw each mover and composite each static
    layer, in draw order (so it equals a full redraw). Frames that keep needing a new plan
    switch to full redraws for good. Layout engines run on full draws only: between them the
    axes keep their places.
    """

    MAX_REBUILDS = 3  # consecutive frames that needed a new plan before giving up on blitting
    MAX_STEPS = 80  # more artists than this to redraw per frame: hardly cheaper than a full draw

    def __init__(self, fig):
        self.fig = fig
        self.canvas = fig.canvas
        self.enabled = isinstance(self.canvas, FigureCanvasAgg) and not fig.subfigs
        self.drawn = False  # a full draw has cleared the stale flags
        self.movers = set()  # artists update() changes, redrawn every frame
        self.whole = set()  # axes update() rescales (or adds artists to), redrawn whole
        self.plan = None
        self.rebuilds = 0
        self.why = None  # why the latest plan was (re)built, for benchmarks and debugging
        self._drawn_axes = {}

    # -- public -----------------------------------------------------------------------------
    def draw(self):
        """Draw the current state into the canvas buffer; say how: "full", "plan" (a new plan,
        then its first frame), "blit" or "none" (nothing changed)."""
        if not self.enabled:
            self._full()
            return "full"
        if not self.drawn:
            self._full()
            self.drawn = True
            self._drawn_axes = self._axes_state()
            return "full"
        try:
            changed, rescaled = self._changed(), self._rescaled()
            if not changed and not rescaled and (self.plan is None or self._same_layout()):
                return "none"  # nothing moved: the frame in the buffer is still right
            uncovered = {a for a in changed if a not in self.movers and a.axes not in self.whole}
            if self.plan is not None and not uncovered and rescaled <= self.whole \
                    and self._same_layout():
                self._blit()
                self.rebuilds = 0
                if VERIFY:
                    self._verify()
                return "blit"
            self.why = ("first plan" if self.plan is None else
                        f"new movers {sorted(type(a).__name__ for a in uncovered)}" if uncovered
                        else "limits changed" if not rescaled <= self.whole
                        else "layout changed")
            self.movers |= changed
            self.whole |= rescaled
            self.rebuilds += 1
            if self.rebuilds > self.MAX_REBUILDS or not (self.movers or self.whole):
                raise _NoGain
            self._build()
            self._blit()
            return "plan"
        except _NoGain:
            self.enabled = False
        except Exception:
            if VERIFY:  # tests: a wrong frame or a bug in the planning must be seen
                raise
            self.enabled = False  # a student: never an error from blitting, a full redraw
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

    # -- what changed -----------------------------------------------------------------------
    def _full(self):
        if isinstance(self.canvas, FigureCanvasAgg):
            FigureCanvasAgg.draw(self.canvas)  # into the buffer; sending is the caller's job
        else:  # not an Agg canvas: no buffer to blit into
            self.canvas.draw()

    def _groups(self):
        """Top-level things the figure draws, in its order: axes and figure-level artists."""
        children = [a for a in self.fig.get_children()
                    if a is not self.fig.patch and not a.get_animated()]
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

    def _axes_state(self):
        return {ax: (tuple(ax.viewLim.bounds), tuple(map(id, ax.get_children())))
                for ax in self.fig.axes}

    def _rescaled(self):
        """Axes whose limits or artists differ from the plan's (from the last full draw's)."""
        before = self.plan["axes"] if self.plan else self._drawn_axes
        now = self._axes_state()
        return {ax for ax, state in now.items()
                if ax not in before or not _close(state[0], before[ax][0])
                or state[1] != before[ax][1]}

    def _layout(self):
        """What every frame of a plan shares: canvas, artists drawn, axes' places, size."""
        renderer = self.canvas.get_renderer()
        places = np.array([list(ax.get_position().bounds) for ax in self.fig.axes]
                          + [list(self.fig.bbox.bounds)])
        return (id(renderer), tuple(map(id, self._groups()))), places

    def _same_layout(self):
        same, places = self._layout()
        planned_same, planned_places = self.plan["layout"]
        # the layout engine recomputes positions on every full draw, with rounding noise
        return same == planned_same and _close(places, planned_places)

    # -- planning ----------------------------------------------------------------------------
    def _ops(self, group):
        if group in self.whole:
            return [group]
        return _axes_order(group) if group in self.fig.axes else [group]

    def _moves(self, op):
        return op in self.movers or op in self.whole

    def _build(self):
        """Plan the frames: the background, then movers and static layers in draw order."""
        renderer = self.canvas.get_renderer()
        groups = self._groups()
        moving = [g for g in groups if any(self._moves(op) for op in self._ops(g))]
        extents = {g: (g.get_tightbbox(renderer) if g in self.fig.axes
                       else g.get_window_extent(renderer)) for g in groups}

        def overlap(a, b):
            return (extents[a] is not None and extents[b] is not None
                    and extents[a].overlaps(extents[b]))

        # groups that overlap are drawn in order together: clusters, each with a first mover
        clusters = []
        for g in moving:
            cluster = {g}
            grown = True
            while grown:
                grown = False
                for other in groups:
                    if other not in cluster and any(overlap(other, c) for c in cluster):
                        cluster.add(other)
                        grown = True
            merged = [c for c in clusters if c & cluster]
            for c in merged:
                clusters.remove(c)
                cluster |= c
            clusters.append(cluster)
        redrawn = []
        for cluster in clusters:
            sequence = [op for g in groups if g in cluster for op in self._ops(g)]
            first = next(i for i, op in enumerate(sequence) if self._moves(op))
            redrawn.append(sequence[first:])
        if sum(map(len, redrawn)) > self.MAX_STEPS:
            raise _NoGain
        everything = {op for ops in redrawn for op in ops}
        background = self._render_without(everything, groups)
        steps = []
        for ops in redrawn:
            run = []
            for op in ops + [None]:
                if op is not None and not self._moves(op):
                    run.append(op)
                    continue
                if run:
                    steps.append(self._layer(run))
                    run = []
                if op is not None:
                    steps.append(op)
        self.plan = {"background": background, "steps": steps, "layout": self._layout(),
                     "axes": self._axes_state(),
                     "drawn": {a for a in self._leaves() if _draws_something(a)}}

    def _render_without(self, left_out, groups):
        """The figure drawn without ``left_out`` (no layout engine: places stay as they are)."""
        renderer = self.canvas.get_renderer()
        patches = {ax.patch for ax in self.fig.axes}
        saved = [(a, a.get_animated(), a.get_visible()) for a in left_out]
        try:
            for a in left_out:
                if a in patches:
                    a.set_visible(False)  # Axes.draw draws its patch even when `animated`
                else:
                    a.set_animated(True)
            renderer.clear()
            self.fig.patch.draw(renderer)
            for g in groups:
                if g not in left_out:
                    g.draw(renderer)
        finally:
            for a, animated, visible in saved:
                a.set_animated(animated)
                if a.get_visible() != visible:
                    a.set_visible(visible)
        return np.asarray(renderer.buffer_rgba()).copy()

    def _layer(self, artists):
        """Static artists drawn alone on transparent pixels.

        Returns (flat indices of the pixels they cover, colour * alpha, 1 - alpha): what
        compositing them over a frame needs.
        """
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

    # -- frames ------------------------------------------------------------------------------
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
        """Compare the blitted frame with the figure drawn whole in the same layout (tests)."""
        blitted = np.asarray(self.canvas.get_renderer().buffer_rgba()).copy()
        full = self._render_without(set(), self._groups()).astype(np.int16)
        np.copyto(np.asarray(self.canvas.get_renderer().buffer_rgba()), blitted)
        off = np.abs(full - blitted).max(axis=-1)
        if (off > 8).any():  # compositing rounds by a unit or two; a wrong artist differs by more
            raise AssertionError(f"a blitted frame differs from a full redraw in "
                                 f"{(off > 8).sum()} pixels (largest difference {off.max()})")


def _close(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12)


class _NoGain(Exception):
    """Blitting would not be cheaper (or cannot be done) for this figure."""
