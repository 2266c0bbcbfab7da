"""Plot helpers shared by the notebooks: grids for decision maps, colours, small figures."""
import numpy as np
from matplotlib.path import Path

# Two classes: blue for 0 / negative, orange for 1 / positive (colour-blind safe).
CLASS_COLORS = ("#1f77b4", "#ff7f0e")
DIVERGING = "RdBu_r"


def grid(xlim, ylim, n=100):
    """An n x n grid over the box: returns ``(xs, ys, points)`` with points of shape (n*n, 2).

    Evaluate a model on ``points`` once and reshape to (n, n) for ``imshow``.
    """
    xs = np.linspace(*xlim, n)
    ys = np.linspace(*ylim, n)
    XX, YY = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([XX.ravel(), YY.ravel()])


def rectangles(x0, x1, y0, y1):
    """Rectangles from (x0, y0) to (x1, y1) (arrays of one shape, or numbers) as one path of
    closed outlines: a bar chart that moves as one shape (``PathPatch``), drawn in one go
    instead of a patch per bar."""
    x0, x1, y0, y1 = np.broadcast_arrays(x0, x1, y0, y1)
    corners = np.stack([np.stack([x0, x1, x1, x0], -1).ravel(),
                        np.stack([y0, y0, y1, y1], -1).ravel()], -1)
    return Path.make_compound_path_from_polys(corners.reshape(-1, 4, 2))


def set_rectangles(patch, x0, x1, y0, y1):
    """Move bars drawn as one ``PathPatch`` of :func:`rectangles` to these rectangles, and mark
    the patch changed: ``set_path``, unlike matplotlib's other setters, does not."""
    patch.set_path(rectangles(x0, x1, y0, y1))
    patch.stale = True


def set_line_data(line, xs, ys):
    """``line.set_data(xs, ys)``, unless the line is there already (to rounding; NaN, no line,
    equals NaN): a setter marks a line changed even when it does not move, and the explorer
    draws a changed line again. Returns whether it moved."""
    if all(map(_same, line.get_data(), (xs, ys))):
        return False
    line.set_data(xs, ys)
    return True


def _same(old, new):
    """``np.allclose(old, new, rtol=1e-9, atol=1e-12, equal_nan=True)``, in a third of its
    time (a move compares every line it may set)."""
    old, new = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
    if old.shape != new.shape:
        return False
    with np.errstate(invalid="ignore"):  # inf - inf
        close = np.abs(old - new) <= 1e-12 + 1e-9 * np.abs(new)
        return bool(np.all((old == new) | (close & np.isfinite(new))
                           | (np.isnan(old) & np.isnan(new))))


def padded_limits(values, pad=0.1):
    """(low, high) of ``values`` widened by ``pad`` of the range on each side."""
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low or 1.0
    return low - pad * span, high + pad * span


def line_in_box(w, w0, xlim):
    """Points of the line w0 + w[0] x + w[1] y = 0 across ``xlim`` (vertical if w[1] ~ 0).

    Returns ``(xs, ys)`` with two points each, ready for ``Line2D.set_data``.
    """
    if abs(w[1]) < 1e-9:
        x = -w0 / w[0] if abs(w[0]) > 1e-9 else np.nan
        return np.array([x, x]), np.array([-1e6, 1e6])
    xs = np.array(xlim, dtype=float)
    return xs, -(w0 + w[0] * xs) / w[1]


def scatter_classes(ax, X, y, **kwargs):
    """Scatter 2-D points coloured by their 0/1 label; returns the two PathCollections."""
    return [ax.scatter(*X[y == k].T, s=18, color=CLASS_COLORS[k], edgecolor="white",
                       linewidth=0.5, label=f"class {k}", **kwargs) for k in (0, 1)]


class EdgeMark:
    """Marks a point that left an axes' fixed y-limits: a triangle on the top (or bottom) edge
    at the point's x, and its value beside it. Built once; :meth:`show` moves or hides it
    through setters, so an explorer's axes never have to rescale to keep a point in view.
    """

    def __init__(self, ax, color="C3", fontsize=8):
        self.ax = ax
        edge = ax.get_xaxis_transform()  # x in data units, y in axes units (0 bottom, 1 top)
        (self.marker,) = ax.plot([], [], ls="none", color=color, ms=8, transform=edge,
                                 clip_on=False, zorder=5)
        self.text = ax.text(0, 0, "", transform=edge, color=color, fontsize=fontsize, zorder=5,
                            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none",
                                      alpha=0.85))
        self.hide()

    def hide(self):
        self.marker.set_visible(False)
        self.text.set_visible(False)

    def show(self, x, y, text):
        """Mark (x, y) with ``text`` if y is off the chart (or not finite); return whether."""
        low, high = sorted(self.ax.get_ylim())
        if low <= y <= high:
            self.hide()
            return False
        top = not y < low  # above the top, or inf / NaN
        to_axes = self.ax.transData + self.ax.transAxes.inverted()
        right = to_axes.transform((x, low))[0] > 0.5
        self.marker.set_data([x], [0.97 if top else 0.03])
        self.marker.set_marker("^" if top else "v")
        # the text under (or over) the triangle, on the side with room for it
        self.text.set_position((x, 0.92 if top else 0.08))
        self.text.set_va("top" if top else "bottom")
        self.text.set_ha("right" if right else "left")
        self.text.set_text(f"  {text}  ")
        self.marker.set_visible(True)
        self.text.set_visible(True)
        return True
