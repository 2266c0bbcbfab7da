"""Interactive figures for notebook 10: sinusoidal positional encodings and attention maps.

Both explorers compute everything a move can show up front (the encodings of every width) or
cheaply per move (the attention map of a sentence of at most ``MAX_WORDS`` words: a 12 x 12
softmax), and only set the data of artists that exist from the start.
"""
import re
import zlib

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..reference.attention import positional_encoding, scaled_dot_product_attention
from .widgets import Explorer, figure

D_MODELS = (4, 8, 16, 32, 64, 128)
T_POSITIONS = 64


def cosine_similarities(PE):
    """(T, T): cos of the angle between the encodings of positions p and q."""
    unit = PE / np.linalg.norm(PE, axis=1, keepdims=True)
    return unit @ unit.T


def _padded(PE, width):
    """PE (T, d) in a (T, width) array, NaN (drawn blank) right of column d."""
    out = np.full((PE.shape[0], width), np.nan)
    out[:, :PE.shape[1]] = PE
    return out


def positional_encodings(d_model=64, position=10, T=T_POSITIONS, d_models=D_MODELS):
    """Left: the encodings PE (T, d_model) as a heat map, one row per position, one column per
    dimension, the selected position marked. Right: how similar the selected position's
    encoding is to every other position's (the cosine of their angle, PE[p] . PE[q] /
    (|PE[p]| |PE[q]|)).

    Controls: ``d_model`` (the encoding's size) and ``position`` (p). The encodings of every
    size are computed once.
    """
    widest = max(d_models)
    tables = {d: _padded(positional_encoding(T, d), widest) for d in d_models}
    similar = {d: cosine_similarities(positional_encoding(T, d)) for d in d_models}
    positions = np.arange(T)

    fig, (hax, sax) = figure(1, 2, figsize=(9.6, 3.8), width_ratios=(1.3, 1))
    image = hax.imshow(tables[d_model], cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto",
                       interpolation="nearest", extent=(-0.5, widest - 0.5, T - 0.5, -0.5))
    fig.colorbar(image, ax=hax, shrink=0.8, label="PE value")
    marker, = hax.plot([-0.5, widest - 0.5], [position, position], color="black", lw=1.2)
    hax.set(xlabel="dimension (column 2i: sine, 2i + 1: cosine)", ylabel="position p",
            title="positional encodings PE[p, :]")
    curve, = sax.plot(positions, similar[d_model][position], color="black", lw=1.2)
    dot, = sax.plot([position], [1.0], "o", color="#d62728", ms=6)
    sax.axhline(0, color="grey", lw=0.6)
    sax.set(xlim=(0, T - 1), ylim=(-0.3, 1.05), xlabel="position q",
            ylabel="cos(PE[p], PE[q])", title="similarity to the selected position p")
    caption = fig.suptitle("", fontsize=10)

    def update(d_model, position):
        image.set_data(tables[d_model])
        marker.set_ydata([position, position])
        row = similar[d_model][position]
        curve.set_ydata(row)
        dot.set_data([position], [row[position]])
        near = row[min(position + 1, T - 1) if position + 1 < T else position - 1]
        caption.set_text(f"d_model = {d_model}, p = {position}:  cos with the next position "
                         f"{near:.3f},  lowest over all q {row.min():.2f}")
        return [image, marker, curve, dot, caption]

    return Explorer(
        fig, update,
        d_model=widgets.SelectionSlider(options=list(d_models), value=d_model,
                                        description="d_model", continuous_update=True),
        position=widgets.IntSlider(value=position, min=0, max=T - 1, description="position p",
                                   continuous_update=True),
    )


# --- an attention map for a sentence ---------------------------------------------------------

MAX_WORDS = 12
D_WORD = 16
PE_WEIGHT = 0.5  # how much of each position's encoding is added to its word's vector
SENTENCE = "the cat sat on the mat and the cat slept"


def words_of(sentence, limit=MAX_WORDS):
    """The sentence's first ``limit`` words, lower case, punctuation dropped."""
    return re.findall(r"[a-z0-9']+", sentence.lower())[:limit]


def word_vector(word, d=D_WORD):
    """A fixed random vector per word (seeded by the word's CRC32): the same word, the same
    vector, in every sentence; unit-variance entries."""
    return np.random.default_rng(zlib.crc32(word.encode())).standard_normal(d)


def sentence_attention(words, temperature=1.0, causal=False, d=D_WORD):
    """Self-attention weights (n, n) of a sentence whose queries and keys are its tokens:

        x_i = word_vector(w_i) + PE_WEIGHT * PE[i]
        A = softmax(x_i . x_j / (sqrt(d) * temperature))        over j (causal: j <= i)
    """
    n = len(words)
    X = np.array([word_vector(w, d) for w in words]) + PE_WEIGHT * positional_encoding(n, d)
    mask = np.tri(n, dtype=bool) if causal else None
    return scaled_dot_product_attention(X / temperature, X, X, mask)[1]


def attention_map(sentence=SENTENCE, temperature=1.0, causal=False):
    """The attention weights of a sentence you type, as a heat map: row i (a query) shows how
    much word i attends to each word j; every row sums to 1.

    Each word is a fixed random vector plus a little of its positional encoding, and it is its
    own query, key and value (no learned projections): a word attends most to itself and to
    the other copies of itself, a little to its neighbours. Controls: ``sentence`` (up to 12
    words), ``temperature`` (scores divided by it: low = sharp, high = uniform) and ``causal``
    (the causal mask: word i sees only words 0..i).
    """
    n = MAX_WORDS
    # a fixed layout (no layout engine): the word labels change with the sentence and must
    # not move the axes
    fig = Figure(figsize=(7.2, 5.0))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.2, right=0.88, bottom=0.24, top=0.9)
    ax = fig.add_subplot()
    image = ax.imshow(np.full((n, n), np.nan), cmap="viridis", vmin=0, vmax=1,
                      interpolation="nearest", extent=(-0.5, n - 0.5, n - 0.5, -0.5))
    cax = fig.add_axes((0.9, 0.24, 0.025, 0.66))
    fig.colorbar(image, cax=cax, label="attention weight")
    ax.set(xticks=[], yticks=[], xlim=(-0.5, n - 0.5), ylim=(n - 0.5, -0.5))
    ax.set_xlabel("key j (attended to)", labelpad=44)
    ax.set_ylabel("query i (attending)", labelpad=48)
    rows = [ax.text(-0.7, i, "", ha="right", va="center", fontsize=9) for i in range(n)]
    cols = [ax.text(i, n - 0.3, "", ha="right", va="top", rotation=60, rotation_mode="anchor",
                    fontsize=9) for i in range(n)]
    for t in rows + cols:
        t.set_clip_on(False)
    caption = ax.set_title("", fontsize=10)

    def update(sentence, temperature, causal):
        words = words_of(sentence)
        shown = np.full((n, n), np.nan)
        if words:
            A = sentence_attention(words, temperature, causal)
            shown[:len(words), :len(words)] = A
            shown[:len(words), :len(words)][A == 0] = np.nan if causal else 0.0
        image.set_data(shown)
        for i, (r, c) in enumerate(zip(rows, cols)):
            label = words[i] if i < len(words) else ""
            r.set_text(label)
            c.set_text(label)
        if not words:
            caption.set_text("type a sentence")
        else:
            own = np.mean(np.diag(shown[:len(words), :len(words)]))
            caption.set_text(f"temperature {temperature:g}{', causal mask' if causal else ''}:"
                             f" mean weight on the word itself {own:.2f}")
        return [image, caption, *rows, *cols]

    return Explorer(
        fig, update,
        sentence=widgets.Text(value=sentence, description="sentence", continuous_update=False,
                              layout=widgets.Layout(width="420px")),
        temperature=widgets.FloatLogSlider(value=temperature, base=10, min=-1, max=1,
                                           step=0.05, description="temperature",
                                           continuous_update=True),
        causal=widgets.ToggleButtons(options=[("no mask", False), ("causal mask", True)],
                                     value=causal, description="mask"),
    )
