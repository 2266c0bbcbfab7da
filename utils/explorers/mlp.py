"""Interactive figures for notebook 03: the hidden units of a two-layer perceptron."""
import ipywidgets as widgets
import numpy as np

from .plotting import (DIVERGING, grid, line_in_box, padded_limits, scatter_classes,
                       set_line_data)
from .widgets import Explorer, figure, slider

WEIGHT_RANGE = (-10.0, 10.0)


def _signed(x, fmt=".1f"):
    """' + 1.5' or ' - 1.5': a term of a sum, written as a reader would."""
    return f" {'-' if x < 0 else '+'} {abs(x):{fmt}}"


def _copy(params):
    return {k: np.array(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2")}


def mlp_explorer(X, y, params, g, *, n=90, unit=0, threshold=0.5):
    """Hidden units and the decision map of a 2-input, 1-output MLP you can rewire by hand.

        z_j = x_1 w_1j + x_2 w_2j + b_j,   h_j = g(z_j),   y = sum_j h_j W2_j + b2

    Args:
        X: (N, 2) inputs.  y: (N,) labels in {0, 1}.
        params: dict with W1 (2, H), b1 (H,), W2 (H, 1), b2 (1,); copied, never modified.
        g: the hidden activation (elementwise).
        n: grid resolution of the maps.
        unit: the hidden unit selected at first.
        threshold: the output is read as class 1 where y > threshold.
    Returns:
        an :class:`~utils.explorers.widgets.Explorer` with controls ``unit`` (which hidden unit the
        sliders move), ``w1``, ``w2`` (its input weights), ``b`` (its bias) and ``v`` (its
        output weight W2_j). ``explorer.params`` holds the current weights.

    Left: the selected unit's activation h_j over the plane and its line z_j = 0 (where
    the unit switches on). Right: the network's output y over the plane, every hidden
    unit's line (the selected one bold), the data and the accuracy.
    """
    p = _copy(params)
    H = p["W1"].shape[1]
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    xlim, ylim = padded_limits(X[:, 0]), padded_limits(X[:, 1])
    _, _, points = grid(xlim, ylim, n)
    # Hidden activations on the grid and on the data, one column per unit; a slider move
    # recomputes only the selected unit's column.
    A_grid = np.asarray(g(points @ p["W1"] + p["b1"]), dtype=float)
    A_data = np.asarray(g(X @ p["W1"] + p["b1"]), dtype=float)

    fig, (hax, oax) = figure(1, 2, figsize=(8.4, 3.7))
    extent = (*xlim, *ylim)
    # a fixed colour scale: g's values over a generous range of pre-activations
    g_range = np.asarray(g(np.linspace(-5.0, 5.0, 101)), dtype=float)
    h_img = hax.imshow(np.zeros((n, n)), origin="lower", extent=extent, aspect="auto",
                       cmap="viridis", vmin=g_range.min(), vmax=g_range.max())
    o_img = oax.imshow(np.zeros((n, n)), origin="lower", extent=extent, aspect="auto",
                       cmap=DIVERGING, vmin=threshold - 1, vmax=threshold + 1, alpha=0.8)
    fig.colorbar(h_img, ax=hax, shrink=0.8, label="$h_j$")
    fig.colorbar(o_img, ax=oax, shrink=0.8, label="output y")
    for ax in (hax, oax):
        scatter_classes(ax, X, y)
        ax.set(xlim=xlim, ylim=ylim, xlabel="$x_1$", ylabel="$x_2$")
    h_title = hax.set_title("", fontsize=9)
    o_title = oax.set_title("", fontsize=9)
    h_line, = hax.plot([], [], color="white", lw=2)
    o_lines = [oax.plot([], [], color="0.15", lw=1, ls="--")[0] for _ in range(H)]

    controls = dict(
        unit=widgets.Dropdown(options=[(f"hidden unit {j}", j) for j in range(H)], value=unit,
                              description="unit"),
        w1=slider(p["W1"][0, unit], *WEIGHT_RANGE, 0.1, "w1 (x1)"),
        w2=slider(p["W1"][1, unit], *WEIGHT_RANGE, 0.1, "w2 (x2)"),
        b=slider(p["b1"][unit], *WEIGHT_RANGE, 0.1, "bias b"),
        v=slider(p["W2"][unit, 0], *WEIGHT_RANGE, 0.1, "W2 (output)"),
    )
    # p holds the weights as the student set them; the sliders edit the selected unit's.
    # update() draws from p with that unit's weights taken from the sliders, and changes
    # nothing; p is written by remember(), on real moves only.
    state = {"unit": unit}
    ref = {}

    def remember(change):
        explorer = ref.get("explorer")
        if explorer is None or state.get("syncing"):
            return
        values = explorer.values
        j = values["unit"]
        if j != state["unit"]:  # show unit j's weights on the sliders, without writing back
            state["unit"], state["syncing"] = j, True
            try:
                controls["w1"].value = float(p["W1"][0, j])
                controls["w2"].value = float(p["W1"][1, j])
                controls["b"].value = float(p["b1"][j])
                controls["v"].value = float(p["W2"][j, 0])
            finally:
                state["syncing"] = False
            return
        p["W1"][:, j] = (values["w1"], values["w2"])
        p["b1"][j], p["W2"][j, 0] = values["b"], values["v"]
        A_grid[:, j] = np.asarray(g(points @ p["W1"][:, j] + p["b1"][j]), dtype=float)
        A_data[:, j] = np.asarray(g(X @ p["W1"][:, j] + p["b1"][j]), dtype=float)

    for control in controls.values():  # before the explorer's own: p is current when it draws
        control.observe(remember, names="value")

    def update(unit, w1, w2, b, v):
        W1, b1, W2 = p["W1"].copy(), p["b1"].copy(), p["W2"][:, 0].copy()
        W1[:, unit], b1[unit], W2[unit] = (w1, w2), b, v
        h = np.asarray(g(points @ W1[:, unit] + b), dtype=float)
        h_data = np.asarray(g(X @ W1[:, unit] + b), dtype=float)
        others = np.arange(H) != unit
        out_grid = A_grid[:, others] @ W2[others] + h * v + p["b2"][0]
        out_data = A_data[:, others] @ W2[others] + h_data * v + p["b2"][0]
        h_img.set_data(h.reshape(n, n))
        h_line.set_data(*line_in_box(W1[:, unit], b, xlim))
        h_title.set_text(f"hidden unit {unit}: h = g({w1:.1f} x1{_signed(w2)} x2{_signed(b)})")
        o_img.set_data(out_grid.reshape(n, n))
        for j, line in enumerate(o_lines):  # set only what differs: the rest is not redrawn
            set_line_data(line, *line_in_box(W1[:, j], b1[j], xlim))
            if line.get_linewidth() != (2.5 if j == unit else 1):
                line.set_linewidth(2.5 if j == unit else 1)
        accuracy = np.mean((out_data > threshold) == (y == 1))
        o_title.set_text(f"output y = sum_j W2_j h_j{_signed(p['b2'][0], '.2f')};  accuracy "
                         f"{accuracy:.0%}")
        return h_img, h_line, h_title, o_img, o_lines, o_title

    explorer = ref["explorer"] = Explorer(fig, update, **controls)
    explorer.params = p
    return explorer
