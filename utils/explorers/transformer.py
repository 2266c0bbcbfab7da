"""Interactive figures for notebook 11: the heads of a transformer block, and layer norm.

``head_maps`` computes every head's attention weights for every example once (a block's
attention weights depend only on its input and parameters); a move shows another head or
example. ``layer_norm_rows`` normalises a batch of 8 vectors per move (microseconds).
"""
import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..reference.attention import attention_weights, positional_encoding
from ..reference.transformer import _split_heads, layer_norm
from .plotting import set_line_data
from .widgets import Explorer, figure, slider


def head_weights(X, params, n_heads, mask=None):
    """Every head's attention weights inside a pre-norm block: (N, n_heads, T, T).

    The block attends over LN1(X): Q = LN1(X) @ W_q + b_q and K likewise, split into
    n_heads contiguous blocks of columns, softmax(Q_h K_h^T / sqrt(dk)) per head.
    """
    N, T, D = X.shape
    x = layer_norm(X, params["ln1_gamma"], params["ln1_beta"]).reshape(N * T, D)
    Q = _split_heads(x @ params["W_q"] + params["b_q"], N, n_heads)
    K = _split_heads(x @ params["W_k"] + params["b_k"], N, n_heads)
    return attention_weights(Q, K, mask)


def toy_block(D=16, n_heads=4, T=8, n_examples=6, seed=0):
    """A randomly initialised block and a toy input (random tokens plus positional
    encodings): what ``head_maps`` shows when given nothing else."""
    rng = np.random.default_rng(seed)
    params = {f"W_{k}": rng.standard_normal((D, D)) * 2 / np.sqrt(D) for k in "qkvo"}
    params.update({f"b_{k}": np.zeros(D) for k in "qkvo"})
    params.update(ln1_gamma=np.ones(D), ln1_beta=np.zeros(D))
    tokens = rng.integers(0, 10, size=(n_examples, T))
    E = rng.standard_normal((10, D))
    return E[tokens] + positional_encoding(T, D), params, tokens


def head_maps(X=None, params=None, n_heads=4, labels=None, title="", head=0, example=0):
    """The attention map of one head of a block for one input sequence.

    Args:
        X: (M, T, D) inputs of the block (M examples); params: the block's parameters (W_q,
        b_q, W_k, b_k, ln1_gamma, ln1_beta are used); n_heads; labels: (M, T) what to write
        beside each position (e.g. the tokens). Without X and params: a random block on a toy
        input (:func:`toy_block`).
    Controls: ``head`` (which head) and ``example`` (which input sequence).
    """
    if X is None or params is None:
        X, params, labels = toy_block(n_heads=n_heads)
        title = title or "a random (untrained) block on a toy input"
    M, T, _ = X.shape
    labels = np.arange(T)[None].repeat(M, 0) if labels is None else np.asarray(labels)
    weights = head_weights(X, params, n_heads)  # (M, heads, T, T), computed once

    fig = Figure(figsize=(5.6, 5.0))  # fixed layout: the labels change, the axes must not
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.16, right=0.86, bottom=0.14, top=0.86)
    ax = fig.add_subplot()
    image = ax.imshow(weights[example, head], cmap="viridis", vmin=0, vmax=1,
                      interpolation="nearest", extent=(-0.5, T - 0.5, T - 0.5, -0.5))
    fig.colorbar(image, cax=fig.add_axes((0.88, 0.14, 0.025, 0.72)), label="attention weight")
    ax.set(xticks=[], yticks=[], xlim=(-0.5, T - 0.5), ylim=(T - 0.5, -0.5))
    ax.set_xlabel("key position j (its token)", labelpad=16)
    ax.set_ylabel("query position i (its token)", labelpad=20)
    rows = [ax.text(-0.7, i, "", ha="right", va="center", fontsize=9) for i in range(T)]
    cols = [ax.text(i, T - 0.3, "", ha="center", va="top", fontsize=9) for i in range(T)]
    for t in rows + cols:
        t.set_clip_on(False)
    fig.suptitle(title, fontsize=10)
    caption = ax.set_title("", fontsize=9)

    def update(head, example):
        A = weights[example, head]
        image.set_data(A)
        for i, (r, c) in enumerate(zip(rows, cols)):
            r.set_text(f"{i}: {labels[example, i]}")
            c.set_text(str(labels[example, i]))
        entropy = -np.sum(A * np.log(np.maximum(A, 1e-300)), axis=1).mean()
        caption.set_text(f"head {head + 1} of {n_heads}, example {example}: mean largest "
                         f"weight {A.max(axis=1).mean():.2f}, entropy {entropy:.2f} nats "
                         f"(uniform: {np.log(T):.2f})")
        return [image, caption, *rows, *cols]

    return Explorer(
        fig, update,
        head=widgets.ToggleButtons(options=[(f"head {h + 1}", h) for h in range(n_heads)],
                                   value=head, description="head"),
        example=widgets.IntSlider(value=example, min=0, max=M - 1, description="example",
                                  continuous_update=True),
    )


# --- layer norm ------------------------------------------------------------------------------

def toy_rows(D=16, seed=0):
    """8 vectors of D features with different means and spreads; row 0 almost constant."""
    rng = np.random.default_rng(seed)
    means = np.array([1.0, -2.0, 0.5, 3.0, -0.5, 0.0, 2.0, -1.5])
    spreads = np.array([0.05, 0.5, 1.0, 2.0, 0.3, 1.5, 0.8, 1.2])
    return means[:, None] + spreads[:, None] * rng.standard_normal((8, D))


def layer_norm_rows(shift=0.0, scale=1.0, gamma=1.0, beta=0.0, eps=1e-5):
    """A batch of 8 vectors (lines over their D = 16 features) before and after layer norm.

    Left: the inputs, ``scale * x + shift`` for fixed toy vectors x. Right: layer norm of
    them with every gamma_d = ``gamma`` and beta_d = ``beta``. Controls: ``shift`` and
    ``scale`` (what layer norm undoes), ``gamma`` and ``beta`` (what it puts back).
    """
    x0 = toy_rows()
    n, D = x0.shape
    features = np.arange(D)
    colors = [f"C{i}" for i in range(n)]

    fig, (iax, oax) = figure(1, 2, figsize=(9.6, 3.6))
    in_lines = [iax.plot(features, row, ".-", color=c, lw=1)[0] for row, c in zip(x0, colors)]
    out_lines = [oax.plot(features, row, ".-", color=c, lw=1)[0] for row, c in zip(x0, colors)]
    iax.set(xlim=(-0.5, D - 0.5), ylim=(-8, 8), xlabel="feature d", ylabel="x_d",
            title="8 input vectors (rows of a batch)")
    oax.set(xlim=(-0.5, D - 0.5), ylim=(-8, 8), xlabel="feature d",
            ylabel="gamma * xhat_d + beta", title="after layer norm")
    for ax in (iax, oax):
        ax.axhline(0, color="grey", lw=0.6)
    caption = fig.suptitle("", fontsize=9)

    def update(shift, scale, gamma, beta):
        x = scale * x0 + shift
        y = layer_norm(x, np.full(D, gamma), np.full(D, beta), eps)
        for line, row in zip([*in_lines, *out_lines], [*x, *y]):
            set_line_data(line, features, row)  # a shift leaves the outputs where they are
        caption.set_text(
            f"inputs: row means {x.mean(1).min():+.2f}..{x.mean(1).max():+.2f}, row stds "
            f"{x.std(1).min():.3g}..{x.std(1).max():.3g}   ->   outputs: row means "
            f"{y.mean(1).min():+.2f}..{y.mean(1).max():+.2f}, row stds "
            f"{y.std(1).min():.3g}..{y.std(1).max():.3g}")
        return [*in_lines, *out_lines, caption]

    return Explorer(
        fig, update,
        shift=slider(shift, -4.0, 4.0, 0.25, "shift"),
        scale=widgets.FloatLogSlider(value=scale, base=10, min=-4, max=0.5, step=0.25,
                                     description="scale", continuous_update=True),
        gamma=slider(gamma, 0.0, 2.0, 0.1, "gamma"),
        beta=slider(beta, -2.0, 2.0, 0.1, "beta"),
    )
