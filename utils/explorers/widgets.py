"""Interactive figures: ipywidgets controls that update a matplotlib figure built once.

The pattern every notebook uses::

    fig, ax = figure()
    ax.imshow(background)                      # drawn once
    line, = ax.plot([], [])                    # the artists that move

    def update(w, b):                          # cheap: set data on existing artists
        line.set_data(xs, w * xs + b)

    Explorer(fig, update, w=FloatSlider(...), b=FloatSlider(...))

How a move reaches the screen (fast enough to feel like a text label changing, see
benchmarks/): the figure is shown as a stack of layers in one grid cell, drawn by the browser.
The artists ``update`` changed are found from matplotlib's ``stale`` flags (every setter raises
it, so ``update`` must change artists through their setters). Everything drawn before the first
of them is one PNG (the background), drawn once; each changed artist is sent on every move in
its cheapest form: lines, markers, bars, arrows and texts as SVG (:mod:`utils.explorers.svg`, a few
hundred bytes the browser paints at once), images at their data size, scaled by the browser;
static artists drawn above a changed one are transparent PNG layers in between, so the stack
looks as a full redraw would. Only the layers that changed are re-sent. An axes whose limits
change is sent whole (slow: explorers keep their limits fixed). A figure this cannot draw
falls back to one PNG per move. With ``COURSE_WIDGETS_VERIFY=1`` (the tests) the layer plan is
checked on every frame against a full redraw.

Works the same with or without ``%matplotlib widget``: the figure never goes through pyplot.
Errors in ``update`` are shown under the figure instead of vanishing into the browser's log.
"""
import asyncio
import contextlib
import itertools
import os
import re
import time
import traceback
import weakref
from collections import OrderedDict, deque
from operator import attrgetter

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.text import Text

from . import svg

# Set to 1 (tests do) to check every layer plan against a full redraw and raise on a mismatch.
VERIFY = os.environ.get("COURSE_WIDGETS_VERIFY", "") not in ("", "0")
_LIVE = []  # weak references to every Explorer, in creation order (for benchmarks)


def figure(nrows=1, ncols=1, *, figsize=(6.4, 3.6), **kwargs):
    """A figure and its axes, as ``plt.subplots`` returns them, for an :class:`Explorer` to show.

    The figure is not pyplot's (nothing is displayed by creating it, nothing to close); it draws
    with Agg whatever the notebook's backend.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


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
            ``set_array``, ``set_text``, ...), and keep axis limits fixed: a frame redraws what
            matplotlib was told changed.
        stateful: False (the pattern) when ``update``'s result depends on the values it is
            given only; True when it also keeps state between calls (e.g. a unit selector whose
            sliders edit the selected unit's weights). A stateless explorer plans its layers
            before the first move (see ``_probe``); a stateful one on its first move.
        **controls: the widgets, by the keyword they feed to ``update``.

    Attributes:
        widget: the ``VBox`` shown in the notebook (controls, figure, error area).
        view: the figure's widget (a grid of layers: PNG background and static layers, and
            the moving layers, SVG and pictures, in one HTML widget).
        last_error: the traceback text of the latest failed update, or None.
        last_update_ms: kernel time of the latest move (``update``, drawing and encoding what
            changed), in milliseconds.
        timings: the latest moves' ``(update_ms, total_ms, how)``; ``how`` says how the frame
            was drawn: "full" (one PNG of the whole figure), "plan" (the layers were worked out
            again, then sent), "layers" (only the changed layers re-sent), "cached" (a frame
            rendered ahead, sent as it was; ``update`` then runs, so the artists always hold
            the values shown) or "none".
        ahead_timings: ``(update_ms, total_ms)`` of the frames rendered ahead.

    Frames ahead: once a move is shown, while the kernel is idle, the frames one and two steps
    either side of the control just moved (every control after the first frame) are rendered
    and kept (a few at a time, so a key press waits at most one frame). A student stepping a
    slider then gets a frame that only has to be sent; the pictures of its image layers are
    already in the page (preloaded when drawn ahead), so the browser finds them decoded. Only
    in a running kernel (nothing is scheduled without an event loop), and not for a stateful
    ``update``.
    """

    AHEAD = (1, -1, 2, -2)  # steps of the moved control rendered ahead, nearest first
    CACHE = 256  # frames kept (each a few kB to some tens of kB)
    IDLE_S = 0.05  # rendering ahead starts this long after a move: the browser draws the move,
    # and a held arrow key (about 30 repeats a second) is served first

    def __init__(self, fig, update, stateful=False, **controls):
        if not isinstance(fig.canvas, FigureCanvasAgg):  # e.g. plt.subplots under ipympl
            FigureCanvasAgg(fig)
        self.fig = fig
        self._update = update
        self.controls = controls
        self.errors = widgets.Output()
        self.last_error = None
        self.last_update_ms = None
        self.timings = deque(maxlen=500)
        self.ahead_timings = deque(maxlen=500)
        self.stateful = stateful
        self._cache = OrderedDict()  # values' key -> (plan epoch, rendered frame)
        self._shown = self._figure = None  # keys of what the browser shows, what fig holds
        self._ahead, self._ahead_handle = [], None
        self._frames = _Frames(fig)
        self.view = self._frames.view
        for control in controls.values():
            control.observe(self._on_change, names="value")
        box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([box, self.view, self.errors])
        _LIVE.append(weakref.ref(self))
        self.refresh()  # the whole figure, drawn once
        if not stateful:
            # Plan the layers now rather than on the student's first move (a plan takes tens
            # of milliseconds): a probe move marks what moves change, then the values drawn.
            self._probe()
            self.refresh()
            self._render_ahead(list(controls))

    @property
    def values(self):
        """The controls' current values, by keyword."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values):
        """Move controls as a student would (each move triggers an update)."""
        for name, value in values.items():
            self.controls[name].value = value

    def png(self):
        """The figure as it is now, drawn whole by Agg, as PNG bytes (what the layers show)."""
        self._follow_values()
        FigureCanvasAgg.draw(self.fig.canvas)
        return svg.png(np.asarray(self.fig.canvas.get_renderer().buffer_rgba()))

    def forget(self):
        """Drop the frames kept or being drawn ahead (when ``update``'s picture for the same
        values changes: state outside the controls changed)."""
        self._cache.clear()
        self._ahead.clear()
        if self._ahead_handle is not None:
            self._ahead_handle.cancel()
            self._ahead_handle = None

    @contextlib.contextmanager
    def hold(self):
        """Move several controls at once: one redraw at the end instead of one per control."""
        self._held = True
        try:
            yield self
        finally:
            self._held = False
        self.refresh()

    def _on_change(self, change):
        if getattr(self, "_held", False):
            return
        self.refresh()
        names = [n for n, c in self.controls.items() if c is change["owner"]]
        self._render_ahead(names)

    def _probe(self):
        """Call ``update`` once with every control one step away (``update`` depends on the
        values only, so the next call undoes it); errors are left for the real call to show."""
        try:
            self._update(**{name: _step_away(c) for name, c in self.controls.items()})
        except Exception:
            pass

    # -- frames rendered ahead --------------------------------------------------------------
    def _key(self, values):
        """A hashable key for a set of control values (grid positions), or None."""
        try:
            key = tuple(_grid_key(self.controls[n], v) for n, v in sorted(values.items()))
            hash(key)
        except (TypeError, ValueError):
            return None
        return key

    def _render_ahead(self, names):
        """Schedule the frames next to the current values of controls ``names``."""
        if self.stateful:
            return
        try:
            loop = asyncio.get_running_loop()  # a kernel handling a message or a cell
        except RuntimeError:
            return
        here = self.values
        self._ahead = [{**here, name: value} for step in self.AHEAD for name in names
                       for value in _neighbours(self.controls[name], step)]
        if self._ahead_handle is not None:
            self._ahead_handle.cancel()
        self._ahead_handle = loop.call_later(self.IDLE_S, self._next_ahead)

    def _next_ahead(self):
        """Render one frame ahead, then give the event loop back (a key press may be waiting)."""
        self._ahead_handle = None
        while self._ahead:
            values = self._ahead.pop(0)
            key = self._key(values)
            if key is None or key in self._cache or key == self._key(self.values):
                continue
            self.render_ahead(values)
            break
        if self._ahead:
            self._ahead_handle = asyncio.get_running_loop().call_soon(self._next_ahead)
        else:
            try:
                self._follow_values()
            except Exception:
                pass  # the next move shows the error

    def render_ahead(self, values):
        """Render (and keep) the frame of ``values`` without showing it; False if it cannot be
        (an error, or the current layer plan does not cover it)."""
        start = time.perf_counter()
        key = self._key(values)
        self._figure = key
        try:
            self._update(**values)
            updated = time.perf_counter()
            if key is None or not self._frames.reusable():
                return False
            frame = self._frames.render()
        except Exception:
            return False
        self._keep(key, frame)
        self._frames.preload(frame)
        self.ahead_timings.append(((updated - start) * 1e3, (time.perf_counter() - start) * 1e3))
        return True

    def _follow_values(self):
        """Put the artists back to the controls' values (frames drawn ahead move them)."""
        key = self._key(self.values)
        if key is None or key != self._figure:
            self._update(**self.values)
            self._figure = key

    def _keep(self, key, frame):
        self._cache[key] = (self._frames.epoch, frame)
        self._cache.move_to_end(key)
        while len(self._cache) > self.CACHE:
            self._cache.popitem(last=False)

    def refresh(self):
        """Show the frame of the current values: one rendered ahead if there is, else call
        ``update`` and redraw; show any error in the cell."""
        start = time.perf_counter()
        values = self.values
        key = None if self.stateful else self._key(values)  # a stateful frame is not kept
        kept = self._cache.get(key) if key is not None else None
        if kept is not None and kept[0] != self._frames.epoch:
            kept = None  # drawn for an earlier plan
        if kept is not None:
            self._frames.apply(kept[1])  # on its way to the page first: the student waits on it
            try:  # then the artists follow the values (they hold what is shown), drawing nothing
                self._update(**values)
            except Exception:
                kept = None  # the move is made again below, which shows the error
        if kept is not None:
            self._shown = self._figure = key
            self._clear_error()
            self.last_update_ms = (time.perf_counter() - start) * 1e3
            self.timings.append((self.last_update_ms, self.last_update_ms, "cached"))
            return
        try:
            self._update(**values)
            updated = time.perf_counter()
            how = self._frames.draw()
            if how == "none" and self._shown != key and self._frames.plan is not None:
                self._frames._send()  # nothing changed since the frames ahead: show it anyway
                how = "layers"
            self._figure = self._shown = key
            if how in ("layers", "plan") and key is not None:
                self._keep(key, self._frames.last_frame)
        except Exception:
            self.last_error = traceback.format_exc()
            self.errors.outputs = ()  # works with or without a front end, unlike clear_output
            self.errors.append_stderr(self.last_error)
            return
        self._clear_error()
        end = time.perf_counter()
        self.last_update_ms = (end - start) * 1e3
        self.timings.append(((updated - start) * 1e3, self.last_update_ms, how))

    def _clear_error(self):
        if self.last_error is not None:
            self.last_error = None
            self.errors.outputs = ()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _grid(control, value):
    """``(position, value_at, count)``: where ``value`` sits on the positions the control can
    take (a fraction between two of them), the value at a position, how many there are; None
    for a control without positions."""
    options = getattr(control, "options", None)
    if options is not None:  # Dropdown, SelectionSlider, ToggleButtons, ...
        values = [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in options]
        matches = [i for i, v in enumerate(values) if v is value or v == value]
        return (matches[0], values.__getitem__, len(values)) if matches else None
    if isinstance(value, bool):
        return int(value), bool, 2
    if not all(hasattr(control, k) for k in ("min", "max", "step")) or not control.step:
        return None
    low, step = control.min, control.step
    count = int(np.floor((control.max - low) / step + 1e-9)) + 1
    if hasattr(control, "base"):  # FloatLogSlider: min, max and step are exponents
        if value <= 0:
            return None
        exponent = np.log(value) / np.log(control.base)
        at = lambda i: float(control.base ** (low + i * step))  # noqa: E731
    else:
        exponent, kind = value, type(value)
        at = lambda i: kind(low + i * step)  # noqa: E731
    position = (exponent - low) / step
    if abs(position - round(position)) < 1e-6:
        position = int(round(position))
    return position, at, count


def _grid_key(control, value):
    """The key of ``value`` for ``control``: its position if it is on one."""
    found = _grid(control, value)
    return ("at", found[0]) if found is not None and isinstance(found[0], int) else \
        ("value", value)


def _neighbours(control, step):
    """Values ``step`` positions away from the control's current one: one on a grid; from
    between two positions, the next one and the one ``step`` away (a browser snaps either way)."""
    found = _grid(control, control.value)
    if found is None:
        return []
    position, at, count = found
    if isinstance(position, int):
        positions = [position + step]
    else:
        nearest = int(np.ceil(position)) if step > 0 else int(np.floor(position))
        positions = sorted({nearest + step - (1 if step > 0 else -1), int(round(position + step))})
    return [at(i) for i in positions if 0 <= i < count]


def _step_away(control):
    """A valid value for ``control`` other than its current one (the same if there is none)."""
    for step in (1, -1):
        for value in _neighbours(control, step):
            if value != control.value:
                return value
    return control.value


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


_STYLE = """<style>
.course-figure { contain: strict; }
.course-figure > :not(.course-movers) { contain: strict; }
.course-figure .course-z1 { z-index: 1; }
.course-figure .course-z2 { z-index: 2; }
.course-figure .course-z3 { z-index: 3; }
.course-figure .course-z4 { z-index: 4; }
.course-figure .course-z5 { z-index: 5; }
.course-figure .course-z6 { z-index: 6; }
.course-figure .course-z7 { z-index: 7; }
.course-figure .course-z8 { z-index: 8; }
.course-figure .course-z9 { z-index: 9; }
.course-figure .course-z10 { z-index: 10; }
.course-figure .course-z11 { z-index: 11; }
.course-figure .course-z12 { z-index: 12; }
.course-figure .course-z13 { z-index: 13; }
.course-figure .course-z14 { z-index: 14; }
.course-figure .course-z15 { z-index: 15; }
.course-figure .course-z16 { z-index: 16; }
.course-figure .course-z17 { z-index: 17; }
.course-figure .course-z18 { z-index: 18; }
.course-figure .course-z19 { z-index: 19; }
.course-figure .course-z20 { z-index: 20; }
.course-figure .course-z21 { z-index: 21; }
.course-figure .course-z22 { z-index: 22; }
.course-figure .course-z23 { z-index: 23; }
.course-figure .course-z24 { z-index: 24; }
.course-figure .course-z25 { z-index: 25; }
.course-figure .course-z26 { z-index: 26; }
.course-figure .course-z27 { z-index: 27; }
.course-figure .course-z28 { z-index: 28; }
.course-figure .course-z29 { z-index: 29; }
.course-figure .course-z30 { z-index: 30; }
.course-figure .course-z31 { z-index: 31; }
.course-figure .course-z32 { z-index: 32; }
.course-figure .course-z33 { z-index: 33; }
.course-figure .course-z34 { z-index: 34; }
.course-figure .course-z35 { z-index: 35; }
.course-figure .course-z36 { z-index: 36; }
.course-figure .course-z37 { z-index: 37; }
.course-figure .course-z38 { z-index: 38; }
.course-figure .course-z39 { z-index: 39; }
.course-figure .course-z40 { z-index: 40; }
.course-figure .course-movers svg { position: absolute; left: 0; top: 0; }
.course-figure .widget-html-content { line-height: 0; }
</style>"""  # contain: a layer that changes is laid out and painted alone, not the page
_IDS = itertools.count()
_IMAGE_URL = re.compile(r'<img src="(data:[^"]+)"')  # in the markup render() makes
_TOKEN = os.urandom(3).hex()  # SVG ids are global to the page: unique per kernel and layer


def _place(widget, width, height, left=0.0, top=0.0):
    """Put a layer in the figure's single grid cell (all layers share it), at (left, top).

    Sets the widget's existing layout's traits: unchanged values send nothing.
    """
    layout = widget.layout
    layout.grid_area, layout.max_width, layout.padding = "f", "none", "0"
    layout.width, layout.height = f"{width:.2f}px", f"{height:.2f}px"
    layout.margin = f"{top:.2f}px 0 0 {left:.2f}px" if left or top else "0"


class _Frames:
    """Show a figure as layers and re-send, on each move, only the artists that changed.

    After ``update``, the artists whose ``stale`` flag is set are the "movers"; an axes whose
    limits or set of artists changed moves as a whole. The first time, or when new movers
    appear or the layout changes, a plan is built: the figure without the movers and without
    whatever static is drawn after the first mover of its overlapping group (the background,
    one PNG), then in draw order each mover (SVG, or an image at its data size) and each run
    of static artists after a mover (a transparent PNG layer). A move then re-sends the movers'
    layers only. Frames that keep needing a new plan, or artists the SVG renderer cannot draw,
    switch the figure to full redraws (one PNG per move) for good. Layout engines run on full
    draws only: between them the axes keep their places.
    """

    MAX_REBUILDS = 3  # consecutive frames that needed a new plan before giving up on layers
    MAX_STEPS = 80  # more artists than this to redraw per frame: hardly cheaper than a full draw

    def __init__(self, fig):
        self.fig = fig
        self.canvas = fig.canvas
        self.enabled = not fig.subfigs
        self.drawn = False  # a full draw has cleared the stale flags
        self.movers = set()  # artists update() changes, redrawn every frame
        self.whole = set()  # axes update() rescales (or adds artists to), redrawn whole
        self.plan = None
        self.rebuilds = 0
        self.why = None  # why the latest plan was (re)built or layers were given up
        self._drawn_axes = {}
        self._prefix = f"e{_TOKEN}{next(_IDS)}"
        self.background = widgets.Image(format="png")
        self.view = widgets.GridBox(
            layout=widgets.Layout(grid_template_areas='"f"', overflow="hidden"))
        self.view.add_class("course-figure")
        self._style = widgets.HTML(_STYLE)
        _place(self._style, 0, 0)
        self._pool = []  # static layers' widgets, reused
        # every moving layer, each an <svg> or an <img> at its z-index: a move is one message
        self._movers = widgets.HTML()
        self._movers.add_class("course-movers")
        # glyph outlines the SVG layers use, defined once in the page (a text that changes on
        # every move then sends only where its glyphs go)
        self._glyphs, self._defs, self._defined = {}, widgets.HTML(), 0
        self._defs.add_class("course-defs")  # draws nothing (benchmarks ignore its changes)
        _place(self._defs, 0, 0)
        # the pictures of image layers drawn ahead, shown almost invisibly so that the browser
        # loads and decodes them before the move that shows them (it then finds them cached)
        self._preload, self._preloaded = widgets.HTML(), deque(maxlen=8)
        self._preload.add_class("course-defs")
        _place(self._preload, 1, 1)
        self.epoch = 0  # counts the plans: a rendered frame fits the plan it was made for
        self.last_frame = None  # the latest frame sent by a move (see render)

    # -- public -----------------------------------------------------------------------------
    def draw(self):
        """Draw the current state and send what changed; say how: "full", "plan" (a new plan,
        then its first frame), "layers" or "none" (nothing changed)."""
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
                return "none"  # nothing moved: what the browser shows is still right
            uncovered = self._uncovered(changed)
            if self._covers(uncovered, rescaled):
                self._send()
                self.rebuilds = 0
                if VERIFY:
                    self._verify()
                return "layers"
            self.why = ("first plan" if self.plan is None else
                        f"new movers {sorted(type(a).__name__ for a in uncovered)}" if uncovered
                        else "limits changed" if not rescaled <= self.whole
                        else "layout changed")
            self.movers |= changed
            self.whole |= rescaled
            self.rebuilds += 1
            if self.rebuilds > self.MAX_REBUILDS or not (self.movers or self.whole):
                raise _NoGain("the plan keeps changing")
            self._build()
            self._send()
            if VERIFY:
                self._verify()
            return "plan"
        except (_NoGain, svg.Unsupported) as reason:
            self.why = f"full redraws: {reason}"
            self.enabled = False
        except Exception:
            if VERIFY:  # tests: a wrong frame or a bug in the planning must be seen
                raise
            self.why = "full redraws: " + traceback.format_exc(limit=1).strip().splitlines()[-1]
            self.enabled = False  # a student: never an error from layering, a full redraw
        self.plan = None
        self.epoch += 1
        self._full()
        return "full"

    # -- what changed -----------------------------------------------------------------------
    def _full(self):
        """Draw the whole figure with Agg (layout engine included) and show it alone."""
        FigureCanvasAgg.draw(self.canvas)
        self._show_background(np.asarray(self.canvas.get_renderer().buffer_rgba()))
        self.view.children = [self.background, self._style]

    def _show_background(self, rgba):
        h, w = rgba.shape[:2]
        self.view.layout.width, self.view.layout.height = f"{w}px", f"{h}px"
        _place(self.background, w, h)
        self.background.value = svg.png(rgba)

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
        # each cluster (groups that overlap) in draw order: runs of movers and of static
        # artists after the first mover; images alone (each is its own <img>)
        queues = []
        for ops in redrawn:
            items = []
            for op in ops:
                kind = ("static" if not self._moves(op) else
                        "image" if isinstance(op, AxesImage) and self._image_box(op) is not None
                        else "svg")
                if items and items[-1][0] == kind != "image":
                    items[-1][1].append(op)
                else:
                    items.append((kind, [op]))
            queues.append(items)
        # clusters do not overlap, so their layers may interleave freely: merge the runs of
        # the same kind at the heads of the clusters (fewer layers, fewer messages per move)
        layers = []  # [kind, artists, static pixels]: kind "svg", "image" or "static"
        while any(queues):
            kind = next(q[0][0] for q in queues if q)
            artists = []
            for q in queues:
                if q and q[0][0] == kind and not (kind == "image" and artists):
                    artists += q.pop(0)[1]
            layers.append([kind, artists, self._layer(artists) if kind == "static" else None])
        self.epoch += 1  # frames rendered for an earlier plan no longer fit
        self.plan = {"background": background, "layers": layers, "layout": self._layout(),
                     "axes": self._axes_state(),
                     "drawn": {a for a in self._leaves() if _draws_something(a)}}
        self._show_background(background)
        # the layers' stacking order is their z-index (classes course-z1, course-z2, ...): the
        # moving layers all live in one widget (one message per move), the static PNGs in their
        # own (sent once per plan)
        self._widgets, self._renderers = [], {}
        taken = 0
        for z, (kind, artists, pixels) in enumerate(layers, 1):
            if kind == "svg":
                self._renderers[z] = svg.SVGRenderer(
                    self.canvas.get_renderer(), prefix=f"{self._prefix}l{z}", glyphs=self._glyphs)
            if kind != "static":
                self._widgets.append(self._movers)
                continue
            if taken == len(self._pool):
                self._pool.append(widgets.Image(format="png"))
            widget = self._pool[taken]
            taken += 1
            for name in [c for c in widget._dom_classes if c.startswith("course-z")]:
                widget.remove_class(name)
            widget.add_class(f"course-z{z}")
            h, w = pixels.shape[:2]
            _place(widget, w, h)
            widget.value = svg.png(pixels)
            self._widgets.append(widget)
        _place(self._movers, *self.canvas.get_width_height())
        shown = [w for w in self._widgets if w is not self._movers]
        self.view.children = [self.background, *shown, self._movers, self._style, self._defs,
                              self._preload]

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
        """Static artists drawn alone on transparent pixels: (H, W, 4) uint8 RGBA."""
        renderer = self.canvas.get_renderer()
        renderer.clear()
        pixels = np.asarray(renderer.buffer_rgba())
        pixels[..., 3] = 0
        for a in artists:
            a.draw(renderer)
        return pixels.copy()

    # -- frames ------------------------------------------------------------------------------
    def _send(self):
        self.last_frame = self.render()  # the explorer keeps it for a move back here
        self.apply(self.last_frame)

    def render(self):
        """Draw each moving layer of the plan as it is now: [(widget, markup)], the markup of
        every moving layer in draw order (an ``<svg>``, or an ``<img>`` of an image's pixels),
        for the one widget that shows them all."""
        parts = []
        for z, (kind, artists, _) in enumerate(self.plan["layers"], 1):
            if kind == "svg":
                renderer = self._renderers[z]
                renderer.begin()
                for a in artists:
                    a.draw(renderer)
                parts.append(renderer.document(renderer.end(), z=z))
            elif kind == "image":
                parts.append(self._image_tag(artists[0], z))
        if len(self._glyphs) > self._defined:  # new glyphs: define them before they are used
            self._defs.value = svg.glyph_defs(self._glyphs)
            self._defined = len(self._glyphs)
        return [(self._movers, "".join(parts))] if parts else []

    def preload(self, frame):
        """Have the browser load the pictures of a frame drawn ahead (see ``_preload``)."""
        urls = [url for _, markup in frame for url in _IMAGE_URL.findall(markup)]
        if not urls:
            return
        self._preloaded.extend(urls)
        self._preload.value = ('<div style="width:1px;height:1px;overflow:hidden;opacity:0.01">'
                               + "".join(f'<img src="{u}" width="1" height="1">'
                                         for u in self._preloaded) + "</div>")

    @staticmethod
    def apply(frame):
        """Send a rendered frame (a value that did not change sends nothing)."""
        for widget, markup in frame:
            widget.value = markup

    def reusable(self):
        """Whether the current plan can draw the figure as it is now (no new movers, no axes
        rescaled, same layout); leaves the stale flags as they are."""
        return self.enabled and self._covers(self._uncovered(self._changed()), self._rescaled())

    def _uncovered(self, changed):
        """The changed artists the plan does not redraw."""
        return {a for a in changed if a not in self.movers and a.axes not in self.whole}

    def _covers(self, uncovered, rescaled):
        return (self.plan is not None and not uncovered and rescaled <= self.whole
                and self._same_layout())

    def _image_box(self, image):
        """Where an image lands (left, top, width, height in pixels from the top left, rows
        bottom-up?), if it can be shown as an <img> scaled by the browser: axis-aligned and
        inside its clip box. None otherwise (it is drawn as SVG)."""
        if not image.get_visible() or not image.get_transform().is_affine:
            return None
        renderer = self.canvas.get_renderer()
        im, left, bottom, trans = image.make_image(renderer, unsampled=True)
        if im is None:
            return None
        (a, c, e), (b, d, f) = trans.get_matrix()[:2]
        if abs(b) > 1e-9 or abs(c) > 1e-9:
            return None  # rotated or sheared
        h, w = im.shape[:2]
        x0, x1 = sorted((left + e, left + e + a * w))
        y0, y1 = sorted((bottom + f, bottom + f + d * h))
        clip = image.get_clip_box()
        if clip is not None and not (x0 >= clip.x0 - 1 and x1 <= clip.x1 + 1
                                     and y0 >= clip.y0 - 1 and y1 <= clip.y1 + 1):
            return None  # partly clipped: an <img> would show too much
        flip_rows, flip_cols = d > 0, a < 0  # matplotlib's row 0 is at the bottom when d > 0
        canvas_h = self.canvas.get_width_height()[1]
        return im, (x0, canvas_h - y1, x1 - x0, y1 - y0), flip_rows, flip_cols

    def _image_tag(self, image, z):
        """An ``<img>`` of the image's pixels at data size (a data: URL), placed and scaled over
        its axes by the browser, at z-index ``z``."""
        found = self._image_box(image)
        if found is None:
            raise svg.Unsupported("an image left its place")
        im, (left, top, width, height), flip_rows, flip_cols = found
        im = im[::-1] if flip_rows else im
        im = im[:, ::-1] if flip_cols else im
        alpha = image._get_scalar_alpha()  # Agg applies it at draw time: bake it in
        if alpha < 1:
            im = im.copy()
            im[..., 3] = (im[..., 3] * alpha + 0.5).astype(np.uint8)
        # matplotlib's 'auto' interpolation: nearest when zoomed in 3x or more, else smoothed
        interpolation = image.get_interpolation()
        blocky = interpolation in ("nearest", "none") or (
            interpolation in ("auto", "antialiased")
            and width >= 3 * im.shape[1] and height >= 3 * im.shape[0])
        return (f'<img src="{svg.data_url(svg.png(im))}" style="position:absolute;'
                f'left:{left:.2f}px;top:{top:.2f}px;width:{width:.2f}px;height:{height:.2f}px;'
                f'z-index:{z}{";image-rendering:pixelated" if blocky else ""}">')

    def _verify(self):
        """Check the plan against a full redraw (tests): the background, each mover drawn by
        Agg and each static layer composited, in order, must give the full figure."""
        renderer = self.canvas.get_renderer()
        pixels = np.asarray(renderer.buffer_rgba())
        np.copyto(pixels, self.plan["background"])
        for kind, artists, layer in self.plan["layers"]:
            if kind == "static":
                alpha = layer[..., 3:4].astype(np.float32) / 255
                blended = layer[..., :3] * alpha + pixels[..., :3] * (1 - alpha)
                pixels[..., :3] = (blended + 0.5).astype(np.uint8)
            else:
                for a in artists:
                    a.draw(renderer)
        layered = pixels.copy()
        full = self._render_without(set(), self._groups()).astype(np.int16)
        off = np.abs(full - layered).max(axis=-1)
        if (off > 8).any():  # compositing rounds by a unit or two; a wrong artist differs by more
            raise AssertionError(f"the layers differ from a full redraw in "
                                 f"{(off > 8).sum()} pixels (largest difference {off.max()})")


def _close(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12)


class _NoGain(Exception):
    """Blitting would not be cheaper (or cannot be done) for this figure."""
