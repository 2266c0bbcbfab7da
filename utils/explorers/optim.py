"""Interactive figures for notebook 05: loss landscapes, descent paths, mini-batch noise.

The running example is a line fitted to real measurements, petal width against petal length
of the 150 iris flowers: y_hat = w0 + w1 x with two weights, so its loss is a surface over a
plane and every iterate of an optimiser is a point on a map. Its mean squared error is a
quadratic with a closed form (:class:`LineFit`), so backgrounds cost one matrix product and
paths a few microseconds per step.

    landscape_figure        the data with its best line, and the loss surface (static)
    descent_explorer        the landscape, drawn once, and a gradient-descent path from
                            learning rate, start point and number of steps
    learning_rate_gallery   four learning rates side by side (too small, right, too large,
                            divergent), a static figure
    init_scale_explorer     activations of a deep tanh network against the initial scale sigma
    gradient_noise_explorer mini-batch gradients scattered around the full gradient, by B
    sgd_explorer            full-batch against mini-batch loss curves and paths, by B and lr
"""
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..reference import optim
from .plotting import EdgeMark
from .widgets import Explorer, figure, slider

PATH_COLOR = "#ff7f0e"
FULL_COLOR = "0.35"


def petal_data(center=False):
    """Petal length ``x`` and petal width ``y`` (cm) of all 150 iris flowers, both (150,).

    scikit-learn's bundled copy of Anderson's measurements. ``center=True`` subtracts the mean
    length, which makes the loss surface of a fitted line nearly round (see notebook 05).
    """
    from ..data import iris

    data, _ = iris()
    x, y = data[:, 2], data[:, 3]
    return (x - x.mean() if center else x), y


class LineFit:
    """The mean squared error of the line y_hat = w0 + w1 x over the weights w = (w0, w1).

        J(w) = (1/N) sum_n (w0 + w1 x_n - y_n)^2 = w^T S w - 2 r^T w + c
        S = X1^T X1 / N  (2, 2),   r = X1^T y / N  (2,),   c = mean(y^2),   X1 = [1, x]  (N, 2)
        dJ/dw = 2 (S w - r),       Hessian 2 S with eigenvalues mu <= L

    Gradient descent on it converges exactly when 0 < lr < 2 / L.
    """

    def __init__(self, x, y):
        x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.X1 = np.column_stack([np.ones_like(x), x])
        N = len(x)
        self.S = self.X1.T @ self.X1 / N
        self.r = self.X1.T @ self.y / N
        self.c = float(np.mean(self.y ** 2))
        self.w_star = np.linalg.solve(self.S, self.r)
        self.J_star = float(self.loss(self.w_star))
        self.mu, self.L = (float(v) for v in np.linalg.eigvalsh(2 * self.S))

    def loss(self, W):
        """J at every row of ``W (..., 2)``: shape (...)."""
        W = np.asarray(W, dtype=np.float64)
        return np.einsum("...i,ij,...j->...", W, self.S, W) - 2 * W @ self.r + self.c

    def grad(self, w):
        """dJ/dw = 2 (S w - r), shape (2,)."""
        return 2 * (self.S @ w - self.r)

    def batch_loss_and_grad(self, w, X1_batch, y_batch):
        """(loss, grad) of the MSE on a batch of rows of ``X1`` (the ``grad_fn`` of SGD)."""
        residual = X1_batch @ w - y_batch
        return float(np.mean(residual ** 2)), 2 * X1_batch.T @ residual / len(y_batch)

    def box(self, half=(2.5, 1.5)):
        """((w0_low, w0_high), (w1_low, w1_high)) around the optimum."""
        return tuple((c - h, c + h) for c, h in zip(self.w_star, half))


class StaticFigure:
    """A finished figure shown as a PNG in the notebook (the same under every backend)."""

    def __init__(self, fig):
        self.fig = fig
        plt.close(fig)  # off pyplot's list of open figures; it still renders to PNG

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=90)
        return buffer.getvalue()


# --- drawing helpers ------------------------------------------------------------------------

def _draw_landscape(ax, fit, box, n=160, labels=True):
    """The loss surface as an image (log scale) with contour lines: drawn once."""
    w0s = np.linspace(*box[0], n)
    w1s = np.linspace(*box[1], n)
    W0, W1 = np.meshgrid(w0s, w1s)
    J = fit.loss(np.stack([W0, W1], axis=-1))
    gap = J - fit.J_star
    ax.imshow(np.log10(gap + 1e-3 * gap.max()), origin="lower", aspect="auto",
              extent=(*box[0], *box[1]), cmap="viridis", interpolation="bilinear")
    levels = fit.J_star + gap.max() * np.geomspace(1e-3, 0.7, 8)
    ax.contour(W0, W1, J, levels=levels, colors="white", linewidths=0.6, alpha=0.6)
    ax.plot(*fit.w_star, marker="*", ms=12, color="white", mec="black", mew=0.6, ls="none")
    ax.set_xlim(box[0])
    ax.set_ylim(box[1])
    if labels:
        ax.set_xlabel("$w_0$ (intercept)")
        ax.set_ylabel("$w_1$ (slope)")


def _visible(path, box, factor=20.0):
    """The rows of ``path`` up to the first one far outside ``box`` (or not finite)."""
    lo = np.array([b[0] for b in box])
    hi = np.array([b[1] for b in box])
    span = hi - lo
    ok = np.all(np.isfinite(path), axis=1) & np.all(
        (path > lo - factor * span) & (path < hi + factor * span), axis=1)
    bad = np.flatnonzero(~ok)
    return path if bad.size == 0 else path[: max(int(bad[0]), 1)]


def _gaps(fit, path):
    """J(w_t) - J* along a path, clipped to (1e-16, 1e200) for a log axis."""
    with np.errstate(all="ignore"):
        gap = fit.loss(path) - fit.J_star
    return np.clip(np.nan_to_num(gap, nan=1e200, posinf=1e200), 1e-16, 1e200)


def _regime(lr, fit):
    """What the quadratic's theory says about this learning rate."""
    rho = max(abs(1 - lr * fit.mu), abs(1 - lr * fit.L))
    if lr * fit.L >= 2:
        word = "diverges (lr > 2/L)"
    elif lr * fit.L > 1:
        word = "zigzags but converges (1/L < lr < 2/L)"
    else:
        word = "smooth descent (lr <= 1/L)"
    return f"{word}\ndistance to w* multiplied by {rho:.3f} per step"


# --- 1. the loss as a surface ---------------------------------------------------------------

def landscape_figure(x=None, y=None, *, box=None, xlabel="petal length (cm)",
                     ylabel="petal width (cm)"):
    """The data with its best line (left) and the loss surface J(w0, w1) (right), static."""
    if x is None:
        x, y = petal_data()
    fit = LineFit(x, y)
    box = box or fit.box()
    with plt.ioff():
        fig, (ax_data, ax) = plt.subplots(1, 2, figsize=(9.0, 3.6), layout="constrained")
    ax_data.scatter(x, y, s=12, alpha=0.6, color="C0", edgecolor="white", linewidth=0.4)
    xs = np.linspace(np.min(x), np.max(x), 2)
    ax_data.plot(xs, fit.w_star[0] + fit.w_star[1] * xs, color="black",
                 label=f"best line: w0 = {fit.w_star[0]:.3f}, w1 = {fit.w_star[1]:.3f}")
    ax_data.set_xlabel(xlabel)
    ax_data.set_ylabel(ylabel)
    ax_data.legend(fontsize=8, loc="upper left")
    _draw_landscape(ax, fit, box)
    ax.set_title(f"log J(w0, w1); the star is W* (J* = {fit.J_star:.4f})", fontsize=9)
    static = StaticFigure(fig)
    static.fit = fit
    return static


# --- 2. gradient descent on the landscape -----------------------------------------------------

def _gap_limits(fit, box):
    """Fixed y-limits of a descent's loss curve, J(w_t) - J* on a log axis.

    For any rate below 2/L gradient descent on a quadratic never raises J - J* (each
    eigen-direction shrinks by |1 - lr * lambda| <= 1 per step), so a decade above the largest
    starting gap the sliders allow (at a corner of the box: the loss is convex) holds every
    converging run; below, a decade under the 1e-16 floor of :func:`_gaps`. Divergent runs
    leave through the top.
    """
    corners = np.array([(w0, w1) for w0 in box[0] for w1 in box[1]])
    return 1e-17, 10 * float(np.max(fit.loss(corners) - fit.J_star))


def descent_explorer(x=None, y=None, *, gradient_descent=None, box=None, lr=None, steps=40,
                     start=None, max_steps=300):
    """Gradient descent on the MSE of a line: landscape, path and loss against steps.

    Args:
        x, y: (N,) data for y ~ w0 + w1 x (default: iris petal length and width).
        gradient_descent: the optimiser to run (default: the course's reference); called as
            ``gradient_descent(grad_fn, w_init, lr, max_steps)``.
        box: the plotted window ((w0_low, w0_high), (w1_low, w1_high)).
        lr, steps, start: initial control values (lr defaults to 0.5 / L).
        max_steps: the largest number of steps the slider offers.
    Returns:
        an :class:`~utils.explorers.widgets.Explorer`; ``explorer.artists`` names the moving artists.

    The axes never change: the loss panel always spans ``max_steps`` steps and the gaps any
    converging rate can produce from the box (a divergent run leaves through the top, marked
    there). Each move runs ``max_steps`` steps; the path shows the first ``steps`` of them,
    and the loss curve is drawn bold up to ``steps`` and faint beyond, so rates compare on
    the same axes.
    """
    if x is None:
        x, y = petal_data()
    fit = LineFit(x, y)
    gd = gradient_descent or optim.gradient_descent
    box = box or fit.box()
    start = np.array(start if start is not None else
                     (box[0][0] + 0.1 * np.ptp(box[0]), box[1][1] - 0.1 * np.ptp(box[1])))
    limit = 2 / fit.L

    fig, (ax, ax_loss) = figure(1, 2, figsize=(9.0, 3.8), width_ratios=(1.1, 1))
    _draw_landscape(ax, fit, box)
    path, = ax.plot([], [], "-o", color=PATH_COLOR, ms=3, lw=1.2, mec="black", mew=0.3)
    first, = ax.plot([], [], "o", color="white", mec="black", ms=7)
    later, = ax_loss.semilogy([], [], "-", color=PATH_COLOR, lw=1, alpha=0.35)
    curve, = ax_loss.semilogy([], [], "-", color=PATH_COLOR, lw=2)
    now, = ax_loss.semilogy([], [], "o", color=PATH_COLOR, mec="black", mew=0.5, ms=6)
    ax_loss.set_xlim(0, max_steps)
    ax_loss.set_ylim(*_gap_limits(fit, box))
    ax_loss.set_xlabel("step t (bold up to the steps slider, faint after)")
    ax_loss.set_ylabel("$J(w_t) - J^*$")
    ax_loss.grid(True, which="major", alpha=0.3)
    off_chart = EdgeMark(ax_loss)
    title = ax_loss.set_title("", fontsize=9)
    ax.set_title(f"the loss J(w) over the weights\nL = {fit.L:.3g}, mu = {fit.mu:.3g}, "
                 f"2/L = {limit:.3g}", fontsize=9)
    top = ax_loss.get_ylim()[1]

    def update(lr, steps, w0, w1):
        with np.errstate(all="ignore"):
            trajectory = np.asarray(gd(fit.grad, np.array([w0, w1]), lr, max_steps))
        shown = _visible(trajectory[:steps + 1], box)
        path.set_data(shown[:, 0], shown[:, 1])
        first.set_data([w0], [w1])
        gap = _gaps(fit, trajectory)
        t = np.arange(len(gap))
        curve.set_data(t[:steps + 1], gap[:steps + 1])
        later.set_data(t[steps:], gap[steps:])
        now.set_data(t[steps:steps + 1], gap[steps:steps + 1])
        above = np.flatnonzero(gap > top)
        if above.size:
            off_chart.show(int(above[0]), float(gap[above[0]]),
                           f"leaves the chart at step {above[0]}; "
                           f"J - J* = {gap[-1]:.1e} at step {len(gap) - 1}")
        else:
            off_chart.hide()
        title.set_text(f"lr = {lr:.3g} = {lr / limit:.2f} x 2/L: {_regime(lr, fit)}")
        return path, first, curve, later, now, off_chart.marker, off_chart.text, title

    explorer = Explorer(
        fig, update,
        lr=widgets.FloatLogSlider(value=lr or 0.5 / fit.L, base=10,
                                  min=np.log10(limit / 300), max=np.log10(1.3 * limit),
                                  step=0.01, description="lr", readout_format=".3g",
                                  continuous_update=True),
        steps=widgets.IntSlider(value=steps, min=0, max=max_steps, description="steps",
                                continuous_update=True),
        w0=slider(float(start[0]), *box[0], description="start w0"),
        w1=slider(float(start[1]), *box[1], description="start w1"),
    )
    explorer.artists = {"path": path, "start": first, "loss": curve, "later": later,
                        "now": now, "off_chart": (off_chart.marker, off_chart.text),
                        "title": title}
    explorer.fit = fit
    return explorer


def learning_rate_gallery(x=None, y=None, *, fractions=(0.05, 0.6, 0.95, 1.05), n_steps=30,
                          gradient_descent=None, start=None, box=None):
    """Four learning rates from the same start: too small, about right, too large, divergent.

    ``fractions`` are multiples of the threshold 2/L. Returns a :class:`StaticFigure`
    (``.fig`` is the matplotlib figure; ``.trajectories`` the four paths).
    """
    if x is None:
        x, y = petal_data(center=True)
    fit = LineFit(x, y)
    gd = gradient_descent or optim.gradient_descent
    box = box or fit.box()
    start = np.array(start if start is not None else
                     (box[0][0] + 0.1 * np.ptp(box[0]), box[1][1] - 0.1 * np.ptp(box[1])))
    names = ("too small", "about right", "too large: zigzag", "too large: diverges")
    with plt.ioff():
        fig = plt.figure(figsize=(11, 5.2), layout="constrained")
        axes = fig.subplot_mosaic([["a", "b", "c", "d"], ["loss"] * 4],
                                  height_ratios=(1.25, 1))
    trajectories = []
    for key, frac, name, color in zip("abcd", fractions, names, ("C0", "C2", "C1", "C3")):
        lr = frac * 2 / fit.L
        with np.errstate(all="ignore"):
            trajectory = np.asarray(gd(fit.grad, start, lr, n_steps))
        trajectories.append(trajectory)
        ax = axes[key]
        _draw_landscape(ax, fit, box, n=120, labels=key == "a")
        shown = _visible(trajectory, box)
        ax.plot(shown[:, 0], shown[:, 1], "-o", color=color, ms=2.5, lw=1, mec="black",
                mew=0.3)
        ax.set_title(f"{name}\nlr = {frac:g} x 2/L = {lr:.3g}", fontsize=9)
        axes["loss"].semilogy(_gaps(fit, trajectory), "-o", ms=2.5, color=color,
                              label=f"{name} (lr = {lr:.3g})")
    axes["loss"].set_xlabel("step t")
    axes["loss"].set_ylabel("$J(w_t) - J^*$")
    axes["loss"].legend(fontsize=8, loc="lower left")
    axes["loss"].grid(True, alpha=0.3)
    static = StaticFigure(fig)
    static.trajectories = trajectories
    static.fit = fit
    return static


# --- 3. the scale of the initial weights ------------------------------------------------------

def _layer_activations(init, sigma, n_layers, width, X, seed):
    """Activations of a deep tanh network with weights init((width, width), sigma, rng)."""
    rng = np.random.default_rng(seed)  # the same draws for every sigma: only the scale moves
    a, out = X, []
    for _ in range(n_layers):
        a = np.tanh(a @ np.asarray(init((width, width), sigma, rng)))
        out.append(a)
    return out


def init_scale_explorer(*, init_weights=None, n_layers=10, width=100, n_inputs=400,
                        sigmas=None, seed=0):
    """Histograms of each layer's activations in a deep tanh network, by the initial sigma.

    Every layer is a = tanh(a_prev @ W) with W ~ N(0, sigma^2) of shape (width, width). Each
    unit sums ``width`` products, so its pre-activation has standard deviation about
    sigma * sqrt(width) * std(a_prev): below 1/sqrt(width) the signal shrinks layer by layer,
    above it the tanh units saturate at +-1. All settings are precomputed.
    """
    init = init_weights or optim.init_weights
    sigmas = np.geomspace(0.01, 1.0, 25) if sigmas is None else np.asarray(sigmas, float)
    X = np.random.default_rng(seed + 1).standard_normal((n_inputs, width))
    edges = np.linspace(-1, 1, 41)
    tables, stds, saturated = [], [], []
    for sigma in sigmas:
        acts = _layer_activations(init, float(sigma), n_layers, width, X, seed)
        hist = np.array([np.histogram(a, bins=edges)[0] for a in acts], dtype=float)
        tables.append(np.log10(hist / acts[0].size + 1e-4))
        stds.append([a.std() for a in acts])
        saturated.append(np.mean(np.abs(acts[-1]) > 0.99))
    stds = np.maximum(np.array(stds), 1e-12)
    good = 1 / np.sqrt(width)

    fig, (ax, ax_std) = figure(1, 2, figsize=(9.0, 3.6), width_ratios=(1.2, 1))
    image = ax.imshow(tables[0], origin="upper", aspect="auto", cmap="magma",
                      extent=(-1, 1, n_layers + 0.5, 0.5), vmin=-4, vmax=0)
    ax.set_xlabel("activation value a = tanh(z)")
    ax.set_ylabel("layer")
    fig.colorbar(image, ax=ax, label="log10 fraction of units", shrink=0.85)
    layers = np.arange(1, n_layers + 1)
    i_good = int(np.argmin(np.abs(np.log(sigmas / good))))
    ax_std.semilogy(layers, stds[i_good], "--", color="0.5",
                    label=f"sigma = {sigmas[i_good]:.3g} ~ 1/sqrt(width)")
    line, = ax_std.semilogy(layers, stds[0], "-o", color=PATH_COLOR, ms=4, label="chosen sigma")
    ax_std.set_ylim(max(stds.min() / 2, 1e-12), 2)
    ax_std.set_xlabel("layer")
    ax_std.set_ylabel("std of activations")
    ax_std.legend(fontsize=8, loc="lower left")
    ax_std.grid(True, alpha=0.3)
    title = ax.set_title("", fontsize=9)

    def update(sigma):
        i = int(np.argmin(np.abs(sigmas - sigma)))
        image.set_data(tables[i])
        line.set_ydata(stds[i])
        title.set_text(f"sigma = {sigmas[i]:.3g},  sigma * sqrt(width) = "
                       f"{sigmas[i] * np.sqrt(width):.2f}\nlast layer: "
                       f"{100 * saturated[i]:.0f}% of units saturated (|a| > 0.99)")
        return image, line, title

    options = [(f"{s:.3g}", float(s)) for s in sigmas]
    explorer = Explorer(fig, update, sigma=widgets.SelectionSlider(
        options=options, value=float(sigmas[0]), description="sigma", continuous_update=True))
    explorer.artists = {"histograms": image, "std": line, "title": title}
    return explorer


# --- 4. mini-batch gradients: unbiased, with variance ~ 1/B ------------------------------------

def _batch_means(G, B, n_draws, rng):
    """Means of G over ``n_draws`` batches of B distinct rows: (n_draws, G.shape[1])."""
    picks = np.argsort(rng.random((n_draws, len(G))), axis=1)[:, :B]
    return G[picks].mean(axis=1)


def gradient_noise_explorer(x=None, y=None, *, w=None, batch_sizes=(1, 2, 5, 10, 20, 50, 100),
                            n_draws=400, seed=0):
    """Mini-batch gradient estimates at one point w, scattered around the full gradient.

    The gradient of a batch B drawn without replacement is an unbiased estimate of the full
    gradient, with covariance  Sigma / B * (N - B) / (N - 1),  Sigma the covariance of the
    per-example gradients. Every batch size is precomputed.
    """
    if x is None:
        x, y = petal_data(center=True)
    fit = LineFit(x, y)
    w = np.array(w if w is not None else fit.w_star + np.array([-1.5, 1.0]))
    residual = fit.X1 @ w - fit.y
    G = 2 * residual[:, None] * fit.X1                 # (N, 2): example n's gradient
    full = G.mean(axis=0)
    N = len(G)
    Sigma = np.cov(G.T, bias=True)
    rng = np.random.default_rng(seed)
    sizes = [int(B) for B in batch_sizes if 1 <= B <= N]
    estimates = {B: _batch_means(G, B, n_draws, rng) for B in sizes}
    spread = np.array([np.trace(np.cov(estimates[B].T)) for B in sizes])
    theory = np.trace(Sigma) / np.array(sizes) * (N - np.array(sizes)) / (N - 1)

    fig, (ax, ax_var) = figure(1, 2, figsize=(9.0, 3.6))
    cloud = estimates[sizes[0]]
    lo, hi = np.percentile(cloud, 1, axis=0), np.percentile(cloud, 99, axis=0)
    pad = 0.15 * (hi - lo)
    dots = ax.scatter(*cloud.T, s=6, alpha=0.4, color=PATH_COLOR, label="batch gradients")
    ax.plot(*full, "*", ms=14, color="black", label="full gradient")
    mean_mark, = ax.plot([], [], "x", ms=10, mew=2, color="C0", label="mean of the batches")
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    ax.set_xlabel("$\\partial J / \\partial w_0$")
    ax.set_ylabel("$\\partial J / \\partial w_1$")
    ax.legend(fontsize=8, loc="upper left")
    title = ax.set_title("", fontsize=9)
    keep = np.array(sizes) < N
    Bs = np.array(sizes)[keep]
    ax_var.loglog(Bs, spread[keep], "o", color=PATH_COLOR, label="measured spread")
    ax_var.loglog(Bs, theory[keep], "-", color="black", lw=1,
                  label="tr(Sigma)/B (N-B)/(N-1)")
    ax_var.loglog(Bs, np.trace(Sigma) / Bs, ":", color="0.5", label="tr(Sigma)/B")
    here, = ax_var.loglog([], [], "o", ms=12, mfc="none", mec="C0", mew=2)
    ax_var.set(xlim=ax_var.get_xlim(), ylim=ax_var.get_ylim())  # fixed: update never rescales
    ax_var.set_xlabel("batch size B")
    ax_var.set_ylabel("tr Cov(batch gradient)")
    ax_var.legend(fontsize=8, loc="lower left")
    ax_var.grid(True, which="both", alpha=0.3)

    def update(batch_size):
        i = sizes.index(batch_size)
        cloud = estimates[batch_size]
        dots.set_offsets(cloud)
        mean_mark.set_data([cloud[:, 0].mean()], [cloud[:, 1].mean()])
        if batch_size < N:
            here.set_data([batch_size], [spread[i]])
        else:
            here.set_data([], [])
        title.set_text(f"B = {batch_size}: {n_draws} batch gradients\n"
                       f"spread tr Cov = {spread[i]:.3g} (theory {theory[i]:.3g})")
        return dots, mean_mark, here, title

    explorer = Explorer(fig, update, batch_size=widgets.SelectionSlider(
        options=sizes, value=sizes[0], description="batch B", continuous_update=True))
    explorer.artists = {"cloud": dots, "mean": mean_mark, "here": here, "title": title}
    explorer.full_gradient = full
    explorer.estimates = estimates
    return explorer


# --- 5. full-batch against mini-batch -----------------------------------------------------------

def _sgd_run(sgd, fit, start, lr, B, n_epochs, seed):
    """Run ``sgd`` recording every iterate; returns (path (K+1, 2), epoch of each, losses)."""
    visited = []

    def grad_fn(w, X1_batch, y_batch):
        visited.append(np.array(w, dtype=np.float64))
        return fit.batch_loss_and_grad(w, X1_batch, y_batch)

    with np.errstate(all="ignore"):
        w_final, losses = sgd(grad_fn, start, fit.X1, fit.y, lr, B, n_epochs,
                              np.random.default_rng(seed))
    path = np.vstack([*visited, np.asarray(w_final, dtype=np.float64)])
    per_epoch = -(-len(fit.y) // B)                   # ceil(N / B) updates per epoch
    return path, np.arange(len(path)) / per_epoch, np.asarray(losses, dtype=np.float64)


def sgd_explorer(x=None, y=None, *, minibatch_sgd=None, batch_sizes=(1, 5, 15, 50),
                 lr_fractions=(0.02, 0.05, 0.15, 0.4), n_epochs=12, start=None, box=None,
                 seed=0):
    """Full-batch gradient descent against mini-batch SGD on the same landscape.

    Every (batch size, learning rate) pair is run once when the explorer is built, with
    ``minibatch_sgd`` (default: the course's reference) and a ``grad_fn`` that records each
    iterate; the controls only pick a precomputed run. The learning rates are
    ``lr_fractions`` times 2/L. The curves show the full-data loss J along each path against
    epochs (passes over the data), and the per-epoch losses ``minibatch_sgd`` returns.
    """
    if x is None:
        x, y = petal_data(center=True)
    fit = LineFit(x, y)
    sgd = minibatch_sgd or optim.minibatch_sgd
    box = box or fit.box()
    start = np.array(start if start is not None else
                     (box[0][0] + 0.1 * np.ptp(box[0]), box[1][1] - 0.1 * np.ptp(box[1])))
    N = len(fit.y)
    sizes = sorted({int(B) for B in batch_sizes if 1 <= B < N} | {N})
    lrs = [float(f"{f * 2 / fit.L:.2g}") for f in lr_fractions]
    runs = {(B, lr): _sgd_run(sgd, fit, start, lr, B, n_epochs, seed)
            for B in sizes for lr in lrs}

    fig, (ax, ax_loss) = figure(1, 2, figsize=(9.0, 3.8), width_ratios=(1, 1.1))
    _draw_landscape(ax, fit, box)
    full_path, = ax.plot([], [], "-", color="white", lw=1.5, label="full batch")
    sgd_path, = ax.plot([], [], "-", color=PATH_COLOR, lw=0.7, alpha=0.9, label="mini-batch")
    ax.plot(*start, "o", color="white", mec="black", ms=7)
    ax.legend(fontsize=8, loc="lower right")
    full_curve, = ax_loss.semilogy([], [], "-", color=FULL_COLOR, lw=2,
                                   label=f"full batch (B = {N})")
    sgd_curve, = ax_loss.semilogy([], [], "-", color=PATH_COLOR, lw=0.8,
                                  label="mini-batch: J(w) after each update")
    reported, = ax_loss.semilogy([], [], "o", color="C0", ms=5,
                                 label="minibatch_sgd's losses[e]")
    ax_loss.axhline(fit.J_star, color="black", ls="--", lw=0.8)
    ax_loss.text(n_epochs, fit.J_star, " J*", va="center", fontsize=8)
    ax_loss.set_xlim(0, n_epochs)
    J_start = float(fit.loss(start))
    ax_loss.set_ylim(fit.J_star * 0.7, J_start * 3)
    ax_loss.set_xlabel("epochs (passes over the data)")
    ax_loss.set_ylabel("loss J")
    ax_loss.legend(fontsize=8, loc="upper right")
    ax_loss.grid(True, alpha=0.3)
    title = ax_loss.set_title("", fontsize=9)

    def update(batch_size, lr):
        path, epochs, losses = runs[(batch_size, lr)]
        full, full_epochs, _ = runs[(N, lr)]
        shown = _visible(path, box)
        sgd_path.set_data(shown[:, 0], shown[:, 1])
        full_path.set_data(full[:, 0], full[:, 1])
        with np.errstate(all="ignore"):
            J = np.clip(np.nan_to_num(fit.loss(path), nan=1e200, posinf=1e200), 0, 1e200)
            J_full = fit.loss(full)
        sgd_curve.set_data(epochs, J)
        full_curve.set_data(full_epochs, J_full)
        reported.set_data(np.arange(len(losses)) + 0.5, np.clip(losses, 0, 1e200))
        per_epoch = -(-N // batch_size)
        title.set_text(f"B = {batch_size}: {per_epoch} updates per epoch, lr = {lr:.3g}\n"
                       f"final J - J* = {J[-1] - fit.J_star:.2g} "
                       f"(full batch: {J_full[-1] - fit.J_star:.2g})")
        return sgd_path, full_path, sgd_curve, full_curve, reported, title

    explorer = Explorer(
        fig, update,
        batch_size=widgets.SelectionSlider(options=sizes, value=sizes[1 if len(sizes) > 1 else 0],
                                           description="batch B", continuous_update=True),
        lr=widgets.SelectionSlider(options=lrs, value=lrs[len(lrs) // 2], description="lr",
                                   continuous_update=True),
    )
    explorer.artists = {"sgd_path": sgd_path, "full_path": full_path, "sgd_curve": sgd_curve,
                        "full_curve": full_curve, "reported": reported, "title": title}
    explorer.runs = runs
    explorer.fit = fit
    return explorer
