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
"""
import io
import time
import traceback

import ipywidgets as widgets
import matplotlib.pyplot as plt


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
        last_update_ms: how long the latest ``update`` plus draw took, in milliseconds.
    """

    def __init__(self, fig, update, **controls):
        self.fig = fig
        self._update = update
        self.controls = controls
        self.errors = widgets.Output()
        self.last_error = None
        self.last_update_ms = None
        if isinstance(fig.canvas, widgets.DOMWidget):
            self._view = fig.canvas
        else:
            self._view = widgets.Image(format="png")
        for control in controls.values():
            control.observe(self._on_change, names="value")
        box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([box, self._view, self.errors])
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
        try:
            self._update(**self.values)
            self._draw()
        except Exception:
            self.last_error = traceback.format_exc()
            self.errors.outputs = ()  # works with or without a front end, unlike clear_output
            self.errors.append_stderr(self.last_error)
            return
        if self.last_error is not None:
            self.last_error = None
            self.errors.outputs = ()
        self.last_update_ms = (time.perf_counter() - start) * 1e3

    def _draw(self):
        if self._view is self.fig.canvas:
            self.fig.canvas.draw_idle()
        else:
            buffer = io.BytesIO()
            self.fig.savefig(buffer, format="png")
            self._view.value = buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def slider(value, low, high, step=None, description="", readout_format=".2f", **kwargs):
    """A FloatSlider that updates while dragged, with a short label."""
    step = (high - low) / 100 if step is None else step
    return widgets.FloatSlider(value=value, min=low, max=high, step=step,
                               description=description, readout_format=readout_format,
                               continuous_update=True, **kwargs)
