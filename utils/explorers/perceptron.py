"""Explorers for notebook 01: a perceptron's decision boundary, and its training replayed."""
import ipywidgets as widgets
import numpy as np

from ..reference.activations import sigmoid
from ..reference.perceptron import perceptron_forward
from .plotting import DIVERGING, grid, line_in_box, padded_limits, scatter_classes
from .widgets import Explorer, figure, slider


def step(z):
    """The threshold unit: 1 where z > 0, else 0."""
    return (np.asarray(z) > 0).astype(np.float64)


ACTIVATIONS = {"step": step, "sigmoid": sigmoid}


def _plane(ax, X, y, names, n):
    """Draw the data once; return the output map image, the boundary line and the grid."""
    xlim, ylim = padded_limits(X[:, 0]), padded_limits(X[:, 1])
    _, _, points = grid(xlim, ylim, n)
    # equal scaling: a right angle in the data (w against the boundary) is one on screen
    image = ax.imshow(np.zeros((n, n)), extent=(*xlim, *ylim), origin="lower", aspect="equal",
                      cmap=DIVERGING, vmin=0, vmax=1, alpha=0.45, interpolation="bilinear")
    scatter_classes(ax, X, y)
    (line,) = ax.plot([], [], color="black", lw=2)
    ax.set(xlim=xlim, ylim=ylim, xlabel=names[0], ylabel=names[1])
    ax.legend(loc="upper right", fontsize=8)
    return image, line, points, xlim


def _freeze_layout(fig):
    """Lay the figure out once and keep it: with equal scaling the axes' box depends on the
    layout, which would otherwise move whenever a title's text changes length."""
    fig.canvas.draw()
    fig.set_layout_engine("none")


def decision_boundary(X, y, names=("x1", "x2"), w=(1.0, -1.0), w0=0.0, n=120):
    """Sliders for w1, w2, w0 and the activation; shows g(w0 + x @ w) over the plane.

    The colour map is the perceptron's output on an n x n grid (one matrix product per move),
    the black line is the decision boundary w0 + x @ w = 0 and the arrow is w (normal to it).
    """
    fig, ax = figure(figsize=(5.6, 4.6))
    image, line, points, xlim = _plane(ax, X, y, names, n)
    arrow = ax.annotate("", xy=(0, 0), xytext=(0, 0),
                        arrowprops=dict(arrowstyle="->", color="black", lw=2))
    title = ax.set_title(" ")
    _freeze_layout(fig)
    centre = X.mean(axis=0)

    def update(w1, w2, w0, activation):
        g = ACTIVATIONS[activation]
        w = np.array([w1, w2])
        image.set_data(perceptron_forward(points, w, w0, g).reshape(n, n))
        line.set_data(*line_in_box(w, w0, xlim))
        # the arrow starts at the point of the boundary nearest the data's centre
        norm2 = max(w @ w, 1e-12)
        foot = centre - (w0 + centre @ w) / norm2 * w
        arrow.set_position(foot)
        arrow.xy = foot + 0.5 * w / np.sqrt(norm2)
        correct = (perceptron_forward(X, w, w0, step) == y).mean()
        title.set_text(f"w = ({w1:.2f}, {w2:.2f}), w0 = {w0:.2f}: {correct:.0%} classified right")
        return image, line, arrow, title

    return Explorer(fig, update,
                    w1=slider(w[0], -3, 3, description="w1"),
                    w2=slider(w[1], -3, 3, description="w2"),
                    w0=slider(w0, -3, 3, description="w0"),
                    activation=widgets.Dropdown(options=list(ACTIVATIONS), value="step",
                                                description="g"))


def training_replay(X, y, history, names=("x1", "x2"), n=120, per_epoch=False):
    """A slider over a training run: the boundary, the errors, and the fewest errors so far.

    Args:
        history: list of ``(w, w0, n_errors)`` or ``(w, w0, n_errors, epoch)`` after each
            update, from the training loop (the first entry is the start).
        per_epoch: step through epochs instead of single updates (needs the epoch in each
            entry): each step shows the state at the end of an epoch. A run of thousands of
            updates is unreadable one update per step.
    """
    fig, (ax, ax_err) = figure(1, 2, figsize=(8.4, 3.6), width_ratios=(1.1, 1))
    image, line, points, xlim = _plane(ax, X, y, names, n)
    errors = np.array([h[2] for h in history])
    fewest = np.minimum.accumulate(errors)
    if per_epoch:
        epochs = np.array([h[3] for h in history])
        # the last entry of each epoch (an epoch without updates keeps the previous state)
        frames = [int(np.flatnonzero(epochs <= e)[-1]) for e in range(int(epochs.max()) + 1)]
    else:
        frames = list(range(len(history)))
    unit = "epoch" if per_epoch else "update"
    steps = np.arange(len(frames))
    ax_err.plot(steps, errors[frames], "o-" if per_epoch else "-", color="grey", lw=1, ms=3,
                label="misclassified")
    (marker,) = ax_err.plot([], [], "o", color="black")
    ax_err.step(steps, fewest[frames], where="post", color="black", lw=1, ls="--",
                label="fewest so far")
    ax_err.set_ylim(0, max(errors.max(), 1) * 1.08)
    ax_err.set(xlabel=unit, ylabel="misclassified points", title="errors during training",
               xlim=(-0.5, max(len(frames) - 0.5, 1)))  # fixed: update never rescales
    ax_err.legend(loc="upper right", fontsize=8)
    title = ax.set_title(" ", fontsize=10)
    _freeze_layout(fig)

    def update(t):
        w, w0, n_errors = history[frames[t]][:3]
        image.set_data(step(w0 + points @ w).reshape(n, n))
        line.set_data(*line_in_box(w, w0, xlim))
        marker.set_data([t], [n_errors])
        title.set_text(f"after {unit} {t}: {n_errors} misclassified")
        return image, line, marker, title

    return Explorer(fig, update, t=widgets.IntSlider(value=0, min=0, max=len(frames) - 1,
                                                     description=unit,
                                                     continuous_update=True))
