"""Interactive figures for notebook 09: what an LSTM's gates do, and why its gradient lives.

``gate_activations`` runs an LSTM over one adding-problem sequence whose two marked steps the
student moves, and shows the input, one unit's gates i, f, g, o and its cell and hidden state
over time, and every unit's cell state as a heat map. The LSTM is either a trained one (from
the notebook's experiment) or :func:`wired_lstm`, one unit set by hand to solve the task.

``gradient_over_time`` shows how much gradient a loss at the last step sends back to each
earlier input, ||dJ/dx_t|| against t, for a tanh RNN (its recurrent weights' spectral radius
a control) beside an LSTM (its forget gates' bias a control). Every setting is computed up
front with the references' backward passes; a move only swaps two lines' data.
"""
from functools import lru_cache

import ipywidgets as widgets
import numpy as np

from ..experiments.gated import adding_problem
from ..reference.gated import _lstm_forward, _split, lstm_backward
from ..reference.rnn import rnn_backward, rnn_forward, time_major
from .widgets import Explorer, figure

GATES = ("i", "f", "g", "o")
GATE_COLORS = {"i": "#2ca02c", "f": "#1f77b4", "g": "#9467bd", "o": "#ff7f0e"}
GATE_STYLES = {"i": "-", "f": "--", "g": "-", "o": ":"}  # f and o often overlap near 1


def wired_lstm(gain=20.0, scale=0.1):
    """A one-unit LSTM wired by hand to solve the adding problem (inputs: value, marker).

    Input gate i = sigma(gain * (marker - 1/2)): open (about 1) at the two marked steps only.
    Forget gate f = sigma(gain / 2), about 1 at every step: the cell keeps what it holds.
    Candidate g = tanh(scale * value), about scale * value (tanh is nearly linear near 0).
    Output gate o = sigma(gain / 2), about 1: the cell is shown.
    So c_T is about scale * (u1 + u2), h_T = tanh(c_T) about the same, and the read-out
    ``y = h_T / scale`` answers u1 + u2 within a few percent (MSE about 1e-4).

    Returns ``(params, (W_y (1, 1), b_y (1,)))``: W_x (2, 4), W_h (1, 4), b (4,), and the
    read-out.
    """
    W_x = np.zeros((2, 4))
    b = np.zeros(4)
    W_x[1, 0], b[0] = gain, -gain / 2  # i: open on markers only
    b[1] = gain / 2  # f: about 1, keep the cell
    W_x[0, 2] = scale  # g: tanh(scale * u)
    b[3] = gain / 2  # o: about 1, show the cell
    return {"W_x": W_x, "W_h": np.zeros((1, 4)), "b": b}, (np.array([[1 / scale]]), np.zeros(1))


def lstm_trace(params, X, h0=None, c0=None):
    """Every step's gates and states for sequences ``X (N, T, D)``.

    Returns a dict of (N, T, H) arrays: ``i, f, g, o`` (the gates' values), ``c`` and ``h``.
    """
    N, H = len(X), params["W_h"].shape[0]
    h0 = np.zeros((N, H)) if h0 is None else h0
    c0 = np.zeros((N, H)) if c0 is None else c0
    hs, cs, gates = _lstm_forward(time_major(X), h0, c0, params["W_x"], params["W_h"],
                                  params["b"])
    trace = dict(zip(GATES, (g.swapaxes(0, 1) for g in _split(gates, H))))
    trace.update(c=cs[1:].swapaxes(0, 1), h=hs[1:].swapaxes(0, 1))
    return trace


def gate_activations(params=None, T=40, seed=0, first=None, second=None, unit=0,
                     readout=None):
    """The gates and the cell of an LSTM reading one adding-problem sequence.

    Args:
        params: LSTM weights (W_x (2, 4H), W_h (H, 4H), b (4H,)); default :func:`wired_lstm`
            (with its read-out).
        T: the sequence's length; its values are drawn once (``seed``), the markers move.
        first, second: the marked steps to start with (0-based; first < T / 2 <= second).
        unit: the hidden unit whose gates are drawn to start with.
        readout: optional ``(W_y (H, 1), b_y (1,))``: the model's answer is shown beside the
            target.
    Returns an :class:`~utils.explorers.widgets.Explorer` with controls ``first``, ``second``
    (the marked steps) and ``unit``.
    """
    if params is None:
        params, readout = wired_lstm()
    H = params["W_h"].shape[0]
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, T)
    first = T // 5 if first is None else first
    second = (3 * T) // 4 if second is None else second
    steps = np.arange(1, T + 1)

    def sequence(a, b):
        X = np.zeros((1, T, 2))
        X[0, :, 0] = values
        X[0, [a, b], 1] = 1.0
        return X

    fig, (ax_in, ax_gate, ax_cell, ax_map) = figure(
        4, 1, figsize=(7.6, 7.2), sharex=True, height_ratios=(0.8, 1.2, 1.0, 1.2))
    ax_in.bar(steps, values, color="0.8", width=0.8)
    marked = ax_in.bar([first + 1, second + 1], values[[first, second]], color="#d62728",
                       width=0.8, label="marked")
    ax_in.set(ylim=(0, 1.15), ylabel="value $u_t$",
              title="input: values, two of them marked (red)")
    gate_lines = {g: ax_gate.plot(steps, np.zeros(T), color=GATE_COLORS[g], lw=1.8,
                                  ls=GATE_STYLES[g], label=g)[0] for g in GATES}
    ax_gate.set(ylim=(-1.05, 1.05), ylabel="gate value")
    ax_gate.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False,
                   title="gates", title_fontsize=8)
    ax_gate.axhline(0, color="0.85", lw=0.8, zorder=0)
    cell_line, = ax_cell.plot(steps, np.zeros(T), color="black", lw=1.8, label="$c_t$")
    hidden_line, = ax_cell.plot(steps, np.zeros(T), color="0.5", lw=1.2, ls="--",
                                label="$h_t$")
    # the states' range over a grid of marker positions: fixed limits that every move fits
    probes = [lstm_trace(params, sequence(a, b)) for a in range(0, T // 2, 3)
              for b in range(T // 2, T, 3)]
    # the line panel fits the starting unit (another unit's larger cell is clipped at the
    # panel's edge; the heat map below shows every unit on one scale)
    span = max(1.25 * max(float(np.abs(t[k][..., unit]).max()) for t in probes
                          for k in ("c", "h")), 1e-3)
    limit = max(max(float(np.abs(t["c"]).max()) for t in probes), 1e-3)
    ax_cell.set(ylim=(-span, span), ylabel="state")
    ax_cell.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax_cell.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    image = ax_map.imshow(np.zeros((H, T)), aspect="auto", cmap="RdBu_r", vmin=-limit,
                          vmax=limit, extent=(0.5, T + 0.5, H - 0.5, -0.5),
                          interpolation="nearest")
    ax_map.set(xlabel="step t", ylabel="unit", title="every unit's cell state $c_t$")
    if H <= 8:
        ax_map.set_yticks(range(H))
    fig.colorbar(image, ax=ax_map, fraction=0.04, pad=0.01)
    caption = fig.suptitle("", fontsize=9)

    def update(first, second, unit):
        X = sequence(first, second)
        trace = lstm_trace(params, X)
        for bar, step in zip(marked, (first, second)):
            bar.set_x(step + 1 - 0.4)
            bar.set_height(values[step])
        for g in GATES:
            gate_lines[g].set_ydata(trace[g][0, :, unit])
        cell_line.set_ydata(trace["c"][0, :, unit])
        hidden_line.set_ydata(trace["h"][0, :, unit])
        image.set_data(trace["c"][0].T)
        target = values[first] + values[second]
        text = f"target u1 + u2 = {target:.3f}"
        if readout is not None:
            answer = float((trace["h"][0, -1] @ readout[0] + readout[1])[0])
            text += f",  the model answers {answer:.3f}"
        caption.set_text(f"marked steps {first + 1} and {second + 1}:  {text}   "
                         f"(unit {unit}: final cell {trace['c'][0, -1, unit]:+.3f})")
        return [*marked, *gate_lines.values(), cell_line, hidden_line, image, caption]

    return Explorer(
        fig, update,
        first=widgets.IntSlider(value=first, min=0, max=T // 2 - 1, description="1st mark",
                                continuous_update=True),
        second=widgets.IntSlider(value=second, min=T // 2, max=T - 1, description="2nd mark",
                                 continuous_update=True),
        unit=widgets.IntSlider(value=unit, min=0, max=H - 1, description="unit",
                               continuous_update=True, disabled=H == 1),
    )


# --- the gradient over time -----------------------------------------------------------------

RADII = tuple(float(r) for r in np.round(np.arange(0.5, 1.501, 0.1), 2))
FORGET_BIASES = (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
FLOOR = 1e-12


def _direction(rng, N, T, H):
    """dJ/dh: a random unit direction at the last step only (a loss read from h_T)."""
    dH = np.zeros((N, T, H))
    g = rng.standard_normal((N, H))
    dH[:, -1] = g / np.linalg.norm(g, axis=1, keepdims=True)
    return dH


def rnn_input_gradients(radius, T=100, H=32, N=16, seed=0):
    """||dJ/dx_t|| (mean over the batch) for t = 1..T, J = a random direction of h_T, in a
    tanh RNN with W_hh = radius * (a random orthogonal matrix), on adding-problem inputs."""
    rng = np.random.default_rng(seed)
    X, _ = adding_problem(N, T, rng)
    q, r = np.linalg.qr(rng.standard_normal((H, H)))
    k = 1.0 / np.sqrt(H)
    params = {"W_xh": rng.uniform(-k, k, (2, H)), "W_hh": radius * q * np.sign(np.diag(r)),
              "b_h": np.zeros(H), "W_hy": np.zeros((H, 1)), "b_y": np.zeros(1)}
    h0 = np.zeros((N, H))
    H_all, _ = rnn_forward(X, h0, params)
    dX = rnn_backward(_direction(rng, N, T, H), X, h0, H_all, params)["X"]
    return np.linalg.norm(dX, axis=2).mean(axis=0)


def lstm_input_gradients(forget_bias, T=100, H=32, N=16, seed=0):
    """The same for an LSTM (PyTorch's initialisation) whose forget gates' biases are
    ``forget_bias``: f = sigma(forget_bias + ...)."""
    rng = np.random.default_rng(seed)
    X, _ = adding_problem(N, T, rng)
    k = 1.0 / np.sqrt(H)
    params = {"W_x": rng.uniform(-k, k, (2, 4 * H)), "W_h": rng.uniform(-k, k, (H, 4 * H)),
              "b": rng.uniform(-k, k, 4 * H)}
    params["b"][H:2 * H] = forget_bias
    zeros = np.zeros((N, H))
    dX = lstm_backward(_direction(rng, N, T, H), X, zeros, zeros, params)["X"]
    return np.linalg.norm(dX, axis=2).mean(axis=0)


@lru_cache(maxsize=2)
def precompute(T=100, H=32, seed=0):
    """Both curves for every control value: ({radius: (T,)}, {forget bias: (T,)})."""
    return ({r: rnn_input_gradients(r, T, H, seed=seed) for r in RADII},
            {b: lstm_input_gradients(b, T, H, seed=seed) for b in FORGET_BIASES})


def _sigma(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def gradient_over_time(T=100, H=32, seed=0, radius=1.0, forget_bias=1.0):
    """||dJ/dx_t|| against t for a tanh RNN and an LSTM, J read from the last step's state.

    Log scale: a straight line falling to the left is a gradient shrinking by the same
    factor per step back in time. Controls: ``radius``, the RNN's recurrent weights'
    spectral radius; ``forget_bias``, the bias of the LSTM's forget gates.
    """
    rnn, lstm = precompute(T, H, seed)
    steps = np.arange(1, T + 1)
    fig, ax = figure(figsize=(7.2, 3.6))
    rnn_line, = ax.plot(steps, np.ones(T), color="#d62728", lw=2, label="tanh RNN")
    lstm_line, = ax.plot(steps, np.ones(T), color="#1f77b4", lw=2, label="LSTM")
    ax.set(yscale="log", ylim=(FLOOR, 1e5), xlim=(1, T),
           xlabel="input step t (the loss is read at step T)",
           ylabel=r"$\|\partial J / \partial x_t\|$",
           title="how much gradient reaches each earlier input")
    ax.legend(loc="lower right", fontsize=8)
    caption = ax.text(0.01, 0.97, "", transform=ax.transAxes, va="top", fontsize=8)

    def update(radius, forget_bias):
        r, l = rnn[radius], lstm[forget_bias]
        rnn_line.set_ydata(np.maximum(r, FLOOR))
        lstm_line.set_ydata(np.maximum(l, FLOOR))
        caption.set_text(
            f"reaching t = 1, {T - 1} steps back, from its size at t = T:\n"
            f"RNN x {r[0] / r[-1]:.1e},   LSTM x {l[0] / l[-1]:.1e} "
            f"(forget gates near sigma({forget_bias:g}) = {_sigma(forget_bias):.2f})")
        return [rnn_line, lstm_line, caption]

    return Explorer(
        fig, update,
        radius=widgets.SelectionSlider(options=list(RADII), value=radius,
                                       description="RNN radius", continuous_update=True),
        forget_bias=widgets.SelectionSlider(options=list(FORGET_BIASES), value=forget_bias,
                                            description="forget bias",
                                            continuous_update=True),
    )
