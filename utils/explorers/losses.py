"""Explorers for notebook 04: loss curves and their gradients, and softmax with cross-entropy."""
import ipywidgets as widgets
import numpy as np

from ..reference.activations import sigmoid
from ..reference.losses import softmax
from .plotting import CLASS_COLORS, set_line_data
from .widgets import Explorer, figure, slider

LOSS_COLOR, GRAD_COLOR, NAIVE_COLOR = "black", CLASS_COLORS[1], "#d62728"
# Near 0 (where the slider moves) the curves are drawn for |z| <= Z_NEAR; the third panel spans
# |z| <= Z_MAX on plain linear axes, where the naive formula breaks (from |z| ~ 37 on one side,
# ~ 710 on the other). Linear everywhere: no bend in a curve comes from a change of scale.
Z_MAX, Z_NEAR = 1000.0, 10.0
MSE_COLOR = CLASS_COLORS[0]


def _naive_logs(z):
    """log sigma(z) and log(1 - sigma(z)) the naive way (they hit log 0 = -inf for large |z|)."""
    with np.errstate(over="ignore", divide="ignore"):
        s = 1.0 / (1.0 + np.exp(-z))
        return np.log(s), np.log(1.0 - s)


def _logit_axis(n):
    """About n logits over [-Z_MAX, Z_MAX], with z = 0 and the breaking points well sampled."""
    return np.unique(np.concatenate([np.linspace(-Z_MAX, Z_MAX, n), np.linspace(-50, 50, n // 2)]))


def _logit_curves(n):
    """z over the wide logit axis and the y-independent parts of the two formulas."""
    z = _logit_axis(n)
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))  # log(1 + e^z), stable
    log_s, log_1ms = _naive_logs(z)
    return z, softplus, log_s, log_1ms


def _bce_naive(y, log_s, log_1ms):
    """-(y log s + (1 - y) log(1 - s)) with 0 * log 0 = NaN, exactly as numpy computes it."""
    with np.errstate(invalid="ignore"):
        return -(y * log_s + (1 - y) * log_1ms)


def loss_curves(y=1.0, z=-2.0, n=401):
    """One example scored two ways, as functions of its logit z, with p = sigmoid(z).

    Left: the loss, BCE log(1 + e^z) - y z next to the squared error (p - y)^2. Middle: the
    slope each gives the logit, dL/dz: sigmoid(z) - y for BCE, 2 (p - y) sigma'(z) for the
    squared error (the chain rule through the sigmoid). Right: BCE over |z| <= 1000, the
    stable formula next to the naive -[y log sigma(z) + (1 - y) log(1 - sigma(z))], with a
    cross wherever the naive one returns inf or NaN. Sliders: the target y and the logit z
    of the current prediction (a dot in the left and middle panels). All axes are linear and
    never change.
    """
    fig, (ax_loss, ax_grad, ax_wide) = figure(1, 3, figsize=(9.6, 3.3),
                                               width_ratios=(1, 1, 1.1))
    zn = np.linspace(-Z_NEAR, Z_NEAR, n)
    pn = sigmoid(zn)
    softplus_n = np.maximum(zn, 0) + np.log1p(np.exp(-np.abs(zn)))
    zs, softplus, log_s, log_1ms = _logit_curves(n)

    (bce,) = ax_loss.plot([], [], color=LOSS_COLOR, lw=2, label="BCE")
    (mse,) = ax_loss.plot([], [], color=MSE_COLOR, lw=2, label=r"$(p - y)^2$")
    (dbce,) = ax_grad.plot([], [], color=LOSS_COLOR, lw=2, label=r"BCE: $p - y$")
    (dmse,) = ax_grad.plot([], [], color=MSE_COLOR, lw=2,
                           label=r"$(p-y)^2$: $2(p - y)\,\sigma'(z)$")
    markers = [(ax_loss.plot([], [], "o", color=LOSS_COLOR)[0],
                ax_grad.plot([], [], "o", color=LOSS_COLOR)[0]),
               (ax_loss.plot([], [], "o", color=MSE_COLOR)[0],
                ax_grad.plot([], [], "o", color=MSE_COLOR)[0])]
    ax_grad.axhline(0, color="grey", lw=0.5)
    ax_loss.set(xlim=(-Z_NEAR, Z_NEAR), ylim=(0, 10.6), xlabel="logit $z$", ylabel="loss",
                title="loss of one example", xticks=[-10, -5, 0, 5, 10])
    ax_grad.set(xlim=(-Z_NEAR, Z_NEAR), ylim=(-1.1, 1.1), xlabel="logit $z$",
                title=r"its slope $dL/dz$", xticks=[-10, -5, 0, 5, 10])
    ax_loss.legend(loc="upper center", fontsize=8)
    ax_grad.legend(loc="lower right", fontsize=7)

    (stable,) = ax_wide.plot([], [], color=LOSS_COLOR, lw=2, label="stable formula")
    (naive,) = ax_wide.plot([], [], color=NAIVE_COLOR, lw=1.5, ls="--",
                            label=r"naive, via $\log\sigma(z)$")
    # where the naive formula gives inf or NaN: crosses along the top of the panel
    (broken_marks,) = ax_wide.plot([], [], "x", color=NAIVE_COLOR, ms=4,
                                   transform=ax_wide.get_xaxis_transform(), label="naive: inf/NaN")
    ax_wide.set(xlim=(-Z_MAX, Z_MAX), ylim=(0, 1100), xlabel="logit $z$",
                title=r"BCE for $|z| \leq 1000$")
    ax_wide.legend(loc="upper center", fontsize=7, bbox_to_anchor=(0.5, 0.93))
    naive_text = ax_wide.text(0.5, 0.5, "", transform=ax_wide.transAxes, ha="center",
                              va="top", fontsize=7, color=NAIVE_COLOR)
    title = fig.suptitle("", fontsize=9)

    def update(y, z):
        # BCE from logits: L = softplus(z) - y z, dL/dz = sigmoid(z) - y
        bce.set_data(zn, softplus_n - y * zn)
        dbce.set_data(zn, pn - y)
        # squared error of p = sigmoid(z): L = (p - y)^2, dL/dz = 2 (p - y) p (1 - p)
        mse.set_data(zn, (pn - y) ** 2)
        dmse.set_data(zn, 2 * (pn - y) * pn * (1 - pn))
        stable.set_data(zs, softplus - y * zs)
        bad = _bce_naive(y, log_s, log_1ms)
        naive.set_data(zs, bad)
        broken = ~np.isfinite(bad)
        # hundreds of crosses: drawn again only if they moved
        set_line_data(broken_marks, zs[broken], np.full(broken.sum(), 0.97))
        naive_text.set_text(
            f"naive loss: inf/NaN\nat {broken.sum()} of {len(zs)} z"
            + (f",\nfrom |z| = {np.abs(zs[broken]).min():.0f}" if broken.any() else ""))
        # the current prediction: logit z, probability p = sigmoid(z)
        pz = float(sigmoid(z))
        dp = -y / pz + (1 - y) / (1 - pz) if 0 < pz < 1 else np.nan
        loss_z = float(max(z, 0) + np.log1p(np.exp(-abs(z))) - y * z)
        for (m_loss, m_grad), (f, g) in zip(markers, [
                (loss_z, pz - y), ((pz - y) ** 2, 2 * (pz - y) * pz * (1 - pz))]):
            m_loss.set_data([z], [f])
            m_grad.set_data([z], [g])
        title.set_text(
            f"y = {y:.2f}, z = {z:.2f}, p = σ(z) = {pz:.3f}:   BCE = {loss_z:.3f};   "
            f"dL/dz = dL/dp · σ'(z) = {dp:.3g} · {pz * (1 - pz):.3g} = {pz - y:.3g}")
        return (bce, mse, dbce, dmse, stable, naive, broken_marks, naive_text, markers,
                title)

    explorer = Explorer(fig, update,
                        y=slider(y, 0, 1, 0.05, description="target y"),
                        z=slider(z, -8, 8, 0.1, description="logit z"))
    # the moving artists by name, for tests and for anyone extending the figure
    explorer.artists = {"losses": [bce, mse, stable], "grads": [dbce, dmse],
                        "markers": markers, "naive": naive, "broken": broken_marks,
                        "naive_text": naive_text, "title": title}
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
