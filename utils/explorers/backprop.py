"""Interactive figures for notebook 06: how the gradient flows back through a deep stack.

A stack of dense layers Z_l = A_{l-1} @ W_l + b_l, A_l = g(Z_l), with a linear output layer and
an MSE loss, is run forward and backward for every setting of (activation, weight scale, bias)
on a grid, once. The explorer's controls then only pick which precomputed bars to show:
||dJ/dW_l|| per layer, and per hidden layer the share of units whose g'(z) is (almost) zero,
dead ReLUs or saturated sigmoid/tanh units, through which no gradient passes.
"""
from functools import lru_cache

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import PathPatch

from ..reference.backprop import ACTIVATIONS, dense_backward
from .plotting import rectangles, set_rectangles
from .widgets import Explorer, figure

SCALES = tuple(float(s) for s in np.round(np.arange(0.25, 4.001, 0.25), 2))
BIASES = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0)
STUCK = 0.01  # a unit counts as stuck when g'(z) < 1% of g's largest slope
FLOOR = 1e-16  # bars of log-scale plots start here


def deep_stack(depth=10, width=64, n=64, n_out=10, seed=0):
    """The fixed ingredients of the stack: inputs, targets, and unit-variance weight draws.

    Every setting reuses the same draws, so two settings differ only in scale, bias and g.
    Returns ``(X (n, width), T (n, n_out), [V_1 (width, width), ..., V_L (width, n_out)])``.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, width))
    T = rng.standard_normal((n, n_out))
    V = [rng.standard_normal((width, width)) for _ in range(depth - 1)]
    V.append(rng.standard_normal((width, n_out)))
    return X, T, V


def layer_gradients(activation, scale, bias, X, T, V):
    """One forward and backward pass of the stack for one setting.

    Weights W_l = scale * V_l / sqrt(fan_in) (scale 1 keeps a linear layer's output variance
    near its input's), hidden biases all equal to ``bias``, output bias 0,
    J = mean((Y - T)^2).

    Returns a dict with
        grad_norm (L,): ||dJ/dW_l|| (Frobenius) for l = 1..L;
        stuck (L-1,): share of (sample, unit) pairs of hidden layer l with g'(z) < STUCK * max g';
        mean_slope (L-1,): mean g'(z) of hidden layer l;
        loss: J.
    """
    g, g_grad = ACTIVATIONS[activation]
    peak = float(g_grad(0.0)) if activation != "relu" else 1.0  # the largest slope g' reaches
    Ws = [scale * v / np.sqrt(v.shape[0]) for v in V]
    bs = [np.full(W.shape[1], bias) for W in Ws[:-1]] + [np.zeros(Ws[-1].shape[1])]
    inputs, slopes = [], []  # each layer's input, and g'(Z) at its pre-activation Z
    A = X
    for W, b in zip(Ws[:-1], bs[:-1]):
        inputs.append(A)
        Z = A @ W + b
        slopes.append(g_grad(Z))
        A = g(Z)
    inputs.append(A)
    Y = A @ Ws[-1] + bs[-1]
    dZ = 2.0 * (Y - T) / T.size
    norms = []
    for layer in range(len(Ws) - 1, -1, -1):
        dA, dW, _ = dense_backward(dZ, inputs[layer], Ws[layer])
        norms.append(np.linalg.norm(dW))
        if layer > 0:
            dZ = dA * slopes[layer - 1]
    return {"grad_norm": np.array(norms[::-1]),
            "stuck": np.array([np.mean(s < STUCK * peak) for s in slopes]),
            "mean_slope": np.array([np.mean(s) for s in slopes]),
            "loss": float(np.mean((Y - T) ** 2))}


@lru_cache(maxsize=4)
def precompute(depth=10, width=64, n=64, seed=0, scales=SCALES, biases=BIASES):
    """``layer_gradients`` for every (activation, scale, bias) of the grid, keyed that way.

    Cached: a notebook showing the explorer twice computes the table once (read it, do not
    modify it).
    """
    X, T, V = deep_stack(depth, width, n, seed=seed)
    with np.errstate(over="ignore", invalid="ignore"):  # exploding settings may reach inf
        return {(a, s, b): layer_gradients(a, s, b, X, T, V)
                for a in ACTIVATIONS for s in scales for b in biases}


def _caption(activation, scale, bias, result):
    first, last = result["grad_norm"][0], result["grad_norm"][-1]
    return (f"{activation}, scale {scale:g}, bias {bias:g}:   ||dW_1|| = {first:.1e},  "
            f"||dW_L|| = {last:.1e},  {result['stuck'].mean():.0%} of hidden units stuck")


def gradient_flow(depth=10, width=64, n=64, seed=0, activation="sigmoid", scale=1.0, bias=0.0):
    """Bars of the gradient's size per layer of a deep stack, for a chosen g, scale and bias.

    Left: ||dJ/dW_l|| for each layer l = 1 (input side) .. L (output), on a log scale: a
    staircase down towards layer 1 is a vanishing gradient, up is an exploding one. Right,
    per hidden layer: the share of units whose g'(z) is below 1% of its peak (dead ReLUs,
    saturated sigmoid/tanh units) as bars, and the mean g'(z) as dots.

    Returns an :class:`~utils.explorers.widgets.Explorer` with controls ``activation``, ``scale`` (the
    weights' standard deviation times sqrt(fan_in)) and ``bias`` (every hidden bias). All
    settings are computed up front; a move only swaps bar heights.
    """
    table = precompute(depth, width, n, seed)
    finite = np.concatenate([r["grad_norm"] for r in table.values()])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    top = 10 ** np.ceil(np.log10(min(finite.max(), 1e12)) + 0.5)
    layers = np.arange(1, depth + 1)

    fig, (gax, sax) = figure(1, 2, figsize=(8.8, 3.6), width_ratios=(1.25, 1))
    # each chart's bars as one shape, a path of rectangles (one to draw on a move, not many)
    sides = layers - 0.4, layers + 0.4
    grad_bars = gax.add_patch(PathPatch(rectangles(*sides, FLOOR, np.full(depth, FLOOR)),
                                        color="#1f77b4", lw=0))
    gax.set(yscale="log", ylim=(FLOOR, top), xticks=layers, xlabel="layer l (1 = input side)",
            ylabel=r"$\|\partial J / \partial W_l\|$", title="gradient size per layer")
    stuck_bars = sax.add_patch(PathPatch(
        rectangles(sides[0][:-1], sides[1][:-1], 0, np.zeros(depth - 1)), color="#d62728",
        alpha=0.75, lw=0, label="share stuck (g' < 1% of max)"))
    slope_dots, = sax.plot(layers[:-1], np.zeros(depth - 1), "o-", color="black", ms=4,
                           label="mean g'(z)")
    sax.set(ylim=(0, 1.3), yticks=np.linspace(0, 1, 6), xticks=layers[:-1],
            xlabel="hidden layer l", title="hidden units: dead or saturated?")
    sax.legend(handles=[slope_dots, stuck_bars], loc="upper center", ncol=2, fontsize=7,
               frameon=False)
    # a gradient of exactly 0 has no bar on a log axis: mark it, and say so when all are 0
    zero_marks, = gax.plot([], [], "x", color="#d62728", ms=8, mew=2, label="exactly 0")
    gax.legend(handles=[zero_marks], loc="upper right", fontsize=7, frameon=False)
    zero_note = gax.text(0.5, 0.55, "", transform=gax.transAxes, ha="center", va="center",
                         fontsize=9, color="#d62728")
    caption = fig.suptitle("", fontsize=10)

    def update(activation, scale, bias):
        result = table[(activation, scale, bias)]
        grads = np.where(np.isfinite(result["grad_norm"]), result["grad_norm"], top)
        set_rectangles(grad_bars, *sides, FLOOR, np.clip(grads, FLOOR, top))
        zero = np.asarray(result["grad_norm"]) == 0
        zero_marks.set_data(layers[zero], np.full(zero.sum(), FLOOR * 30))
        zero_note.set_text("every layer's gradient is exactly 0:\nno unit lets any "
                           "gradient through" if zero.all() else "")
        set_rectangles(stuck_bars, sides[0][:-1], sides[1][:-1], 0, result["stuck"])
        slope_dots.set_ydata(result["mean_slope"])
        caption.set_text(_caption(activation, scale, bias, result))
        return grad_bars, stuck_bars, slope_dots, caption

    return Explorer(
        fig, update,
        activation=widgets.ToggleButtons(options=list(ACTIVATIONS), value=activation,
                                         description="g"),
        scale=widgets.SelectionSlider(options=list(SCALES), value=scale,
                                      description="weight scale", continuous_update=True,
                                      style={"description_width": "initial"}),
        bias=widgets.SelectionSlider(options=list(BIASES), value=bias, description="bias",
                                     continuous_update=True,
                                     style={"description_width": "initial"}),
    )
