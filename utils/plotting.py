"""Plot helpers shared by the notebooks: grids for decision maps, colours, small figures."""
import numpy as np

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
