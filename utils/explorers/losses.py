"""Explorers for notebook 04: loss curves and their gradients, and softmax with cross-entropy."""
import ipywidgets as widgets
import numpy as np

from ..reference.activations import sigmoid
from ..reference.losses import softmax
from .plotting import CLASS_COLORS, EdgeMark
from .widgets import Explorer, figure, slider

LOSS_COLOR, GRAD_COLOR, NAIVE_COLOR = "black", CLASS_COLORS[1], "#d62728"
# The logit column spans |z| <= 1000 on a "symlog" axis: linear for |z| <= Z_LINEAR, where the
# slider's logits live, logarithmic beyond, where the naive formula breaks (from |z| ~ 37 on one
# side, ~ 710 on the other). The loss there is symlog too (linear below 1): the axes are fixed
# once and hold every curve for every target y.
Z_MAX, Z_LINEAR = 1000.0, 10.0
LOGIT_LOSS_LIMITS = (0.0, 2500.0)


def _naive_logs(z):
    """log sigma(z) and log(1 - sigma(z)) the naive way (they hit log 0 = -inf for large |z|)."""
    with np.errstate(over="ignore", divide="ignore"):
        s = 1.0 / (1.0 + np.exp(-z))
        return np.log(s), np.log(1.0 - s)


def _logit_axis(n):
    """About n logits over [-Z_MAX, Z_MAX]: even steps for |z| <= Z_LINEAR, even ratios beyond."""
    k = max(n // 3, 3)
    outer = np.geomspace(Z_LINEAR, Z_MAX, max((n - k) // 2, 2))
    return np.unique(np.concatenate([-outer, np.linspace(-Z_LINEAR, Z_LINEAR, k), outer]))


def _logit_curves(n):
    """z over the logit axis and the y-independent parts of the two formulas."""
    z = _logit_axis(n)
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))  # log(1 + e^z), stable
    log_s, log_1ms = _naive_logs(z)
    return z, softplus, sigmoid(z), log_s, log_1ms


def _bce_naive(y, log_s, log_1ms):
    """-(y log s + (1 - y) log(1 - s)) with 0 * log 0 = NaN, exactly as numpy computes it."""
    with np.errstate(invalid="ignore"):
        return -(y * log_s + (1 - y) * log_1ms)


def loss_curves(y=1.0, z=-2.0, n=401):
    """One example's loss and its gradient against the prediction, three ways.

    Columns: MSE against a prediction yhat, BCE against a probability p, BCE against the
    logit z (the stable formula next to the naive log(sigmoid(z)) one, which breaks for
    large |z|). Top row the loss, bottom row its derivative. Sliders: the target y and the
    logit z of the current prediction (p = yhat = sigmoid(z), marked in every panel).

    The axes never change. The logit column spans |z| <= 1000 on a symmetric-log axis
    (linear for |z| <= 10, where the slider moves, logarithmic beyond), so the range where
    the naive formula returns inf or NaN is in view together with the interesting part.
    """
    fig, axes = figure(2, 3, figsize=(9.6, 5.2), sharex="col")
    yhat = np.linspace(-0.5, 1.5, n)
    p = np.linspace(1e-3, 1 - 1e-3, n)
    log_p, log_1mp = np.log(p), np.log(1 - p)
    zs, softplus, sig, log_s, log_1ms = _logit_curves(n)

    lines, markers, vlines = [], [], []
    for col, (xlabel, title) in enumerate([
            (r"prediction $\hat y$", r"MSE $(\hat y - y)^2$"),
            (r"probability $p$", r"BCE $-[y\log p + (1-y)\log(1-p)]$"),
            (r"logit $z$ (log scale beyond $|z| = 10$)",
             r"BCE from logits $\log(1+e^z) - yz$")]):
        top, bottom = axes[0, col], axes[1, col]
        (loss,) = top.plot([], [], color=LOSS_COLOR, lw=2, label="stable" if col == 2 else None)
        (grad,) = bottom.plot([], [], color=GRAD_COLOR, lw=2)
        lines.append((loss, grad))
        markers.append((top.plot([], [], "o", color=LOSS_COLOR)[0],
                        bottom.plot([], [], "o", color=GRAD_COLOR)[0]))
        vlines.append([ax.axvline(0, color="grey", lw=1, ls=":") for ax in (top, bottom)])
        bottom.axhline(0, color="grey", lw=0.5)
        top.set_title(title, fontsize=9)
        bottom.set_xlabel(xlabel)
    (naive,) = axes[0, 2].plot([], [], color=NAIVE_COLOR, lw=1.5, ls="--",
                               label=r"naive $\log\sigma(z)$")
    # where the naive formula gives inf or NaN: crosses along the top of the panel
    (broken_marks,) = axes[0, 2].plot([], [], "x", color=NAIVE_COLOR, ms=4,
                                      transform=axes[0, 2].get_xaxis_transform(),
                                      label="naive: inf/NaN")
    # the legend sits below, where sigmoid(z) - y (between -1 and 1) leaves the top left free
    axes[1, 2].legend(handles=[lines[2][0], naive, broken_marks], loc="upper left", fontsize=7)
    axes[0, 0].set_ylabel("loss")
    axes[1, 0].set_ylabel("derivative")
    axes[0, 0].set(xlim=(yhat[0], yhat[-1]), ylim=(0, 2.4))
    axes[1, 0].set_ylim(-3.2, 3.2)
    axes[0, 1].set(xlim=(0, 1), ylim=(0, 8.4))  # every loss of a logit |z| <= 8: at most 8.0003
    axes[1, 1].set_ylim(-20, 20)
    axes[0, 2].set_xscale("symlog", linthresh=Z_LINEAR, linscale=1.5)
    axes[0, 2].set_yscale("symlog", linthresh=1.0)
    axes[0, 2].set(xlim=(-Z_MAX, Z_MAX), ylim=LOGIT_LOSS_LIMITS)
    ticks = [-Z_MAX, -Z_LINEAR, 0, Z_LINEAR, Z_MAX]
    axes[1, 2].set_xticks(ticks, [f"{t:g}" for t in ticks])
    axes[1, 2].set_xticks([s * v for s in (-1, 1) for v in (5, 20, 50, 100, 200, 500)],
                          minor=True)
    axes[1, 2].set_ylim(-1.1, 1.1)
    # dL/dp of a confident prediction (|dL/dp| up to 1 / sigma(-8) ~ 3000) leaves its panel
    dp_edge = EdgeMark(axes[1, 1], color=GRAD_COLOR)
    naive_text = axes[1, 2].text(0.03, 0.66, "", transform=axes[1, 2].transAxes, va="top",
                                 fontsize=7, color=NAIVE_COLOR)
    title = fig.suptitle("", fontsize=9)

    def update(y, z):
        # MSE: L = (yhat - y)^2, dL/dyhat = 2 (yhat - y)
        lines[0][0].set_data(yhat, (yhat - y) ** 2)
        lines[0][1].set_data(yhat, 2 * (yhat - y))
        # BCE on p: dL/dp = -y/p + (1 - y)/(1 - p)
        lines[1][0].set_data(p, -(y * log_p + (1 - y) * log_1mp))
        lines[1][1].set_data(p, -y / p + (1 - y) / (1 - p))
        # BCE on z: L = softplus(z) - y z, dL/dz = sigmoid(z) - y
        lines[2][0].set_data(zs, softplus - y * zs)
        lines[2][1].set_data(zs, sig - y)
        bad = _bce_naive(y, log_s, log_1ms)
        naive.set_data(zs, bad)
        broken = ~np.isfinite(bad)
        broken_marks.set_data(zs[broken], np.full(broken.sum(), 0.95))
        naive_text.set_text(
            f"naive loss: inf/NaN at {broken.sum()} of {len(zs)} z"
            + (f",\nfrom |z| = {np.abs(zs[broken]).min():.0f}" if broken.any() else ""))
        for ax_lines in vlines[:2]:
            for line in ax_lines:
                line.set_xdata([y, y])
        # the current prediction: logit z, probability p = sigmoid(z), used in every column
        pz = float(sigmoid(z))
        dp = -y / pz + (1 - y) / (1 - pz) if 0 < pz < 1 else np.nan
        loss_z = float(max(z, 0) + np.log1p(np.exp(-abs(z))) - y * z)
        points = [(pz, (pz - y) ** 2, 2 * (pz - y)),
                  (pz, loss_z, dp),
                  (z, loss_z, pz - y)]
        for (m_loss, m_grad), (x, f, g) in zip(markers, points):
            m_loss.set_data([x], [f])
            m_grad.set_data([x], [g])
        dp_edge.show(pz, dp, f"dL/dp = {dp:.3g}")
        title.set_text(
            f"y = {y:.2f}, z = {z:.2f}, p = σ(z) = {pz:.3f}:   BCE = {loss_z:.3f};   "
            f"dL/dz = dL/dp · σ'(z) = {dp:.3g} · {pz * (1 - pz):.3g} = {pz - y:.3g}")
        return (lines, naive, broken_marks, naive_text, vlines[:2], markers,
                dp_edge.marker, dp_edge.text, title)

    explorer = Explorer(fig, update,
                        y=slider(y, 0, 1, 0.05, description="target y"),
                        z=slider(z, -8, 8, 0.1, description="logit z"))
    # the moving artists by name, for tests and for anyone extending the figure
    explorer.artists = {"losses": [pair[0] for pair in lines],
                        "grads": [pair[1] for pair in lines],
                        "markers": markers, "naive": naive, "broken": broken_marks,
                        "naive_text": naive_text, "title": title,
                        "off_chart": (dp_edge.marker, dp_edge.text)}
    return explorer


def softmax_bars(logits=(2.0, 1.0, -1.0), label=0):
    """Three logits and a temperature on sliders: softmax probabilities, the cross-entropy of
    the chosen label and its gradient softmax - onehot, as bars.

    The temperature T divides the logits (softmax(z / T)): small T sharpens the distribution
    towards the argmax, large T flattens it towards uniform.
    """
    C = len(logits)
    fig, (ax_p, ax_g) = figure(1, 2, figsize=(7.6, 3.2))
    classes = np.arange(C)
    bars_p = ax_p.bar(classes, np.zeros(C), color=CLASS_COLORS[0])
    bars_g = ax_g.bar(classes, np.zeros(C), color=GRAD_COLOR)
    ax_p.set(ylim=(0, 1), xticks=classes, xlabel="class c", ylabel="softmax(z / T)_c")
    ax_g.set(ylim=(-1, 1), xticks=classes, xlabel="class c",
             ylabel=r"$p_c - [c = \mathrm{label}]$")
    ax_g.set_title("gradient of the loss w.r.t. z / T", fontsize=9)
    ax_g.axhline(0, color="grey", lw=0.5)
    title = ax_p.set_title("", fontsize=9)

    def update(label, temperature, **z):
        scaled = np.array([z[f"z{c}"] for c in range(C)]) / temperature
        probs = softmax(scaled)
        grad = probs - np.eye(C)[label]  # with respect to the scaled logits z / T
        for c in range(C):
            bars_p[c].set_height(probs[c])
            bars_p[c].set_color(CLASS_COLORS[1] if c == label else CLASS_COLORS[0])
            bars_g[c].set_height(grad[c])
        # -log softmax(z)_label by log-sum-exp (stable even at T -> 0)
        m = scaled.max()
        loss = m + np.log(np.exp(scaled - m).sum()) - scaled[label]
        title.set_text(f"cross-entropy = -log p_{label} = {loss:.3f}")
        return bars_p, bars_g, title

    controls = {f"z{c}": slider(v, -5, 5, 0.1, description=f"z{c}")
                for c, v in enumerate(logits)}
    explorer = Explorer(fig, update,
                        label=widgets.Dropdown(options=list(range(C)), value=label,
                                               description="label"),
                        temperature=widgets.FloatLogSlider(value=1.0, base=10, min=-1.5,
                                                           max=1.5, step=0.05, description="T",
                                                           continuous_update=True),
                        **controls)
    explorer.artists = {"probs": bars_p, "grads": bars_g, "title": title}
    return explorer
