"""Interactive figures for notebooks 07 and 08: a recurrent network's states over time, how long
it remembers an input, how far a gradient travels back through the steps, and a training run's
gradient norm with and without clipping.

Everything a control can show is computed when the explorer is built (or, for a typed word,
in well under a millisecond: a few steps of a 16-unit network); ``update`` only hands new data
to existing artists and returns them.
"""
from functools import lru_cache

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import PathPatch, Rectangle

from ..experiments.recurrent import one_thread
from ..reference.rnn import embed, rnn_forward
from .plotting import rectangles, set_rectangles
from .widgets import Explorer, figure

ALPHABET = " abcdefghijklmnopqrstuvwxyz"  # token 0 is the space
T_MAX = 12  # characters shown by the hidden-state explorer
RHOS = tuple(float(r) for r in np.round(np.arange(0.1, 2.001, 0.1), 2))
INPUT_SCALES = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


def _with_play(explorer, control_name, interval_ms=500, step=1):
    """Put a Play button (play, pause, repeat) before the explorer's ``control_name`` slider,
    linked to it in the browser: each tick moves the slider, which updates the figure."""
    slider = explorer.controls[control_name]
    play = widgets.Play(value=slider.value, min=slider.min, max=slider.max, step=step,
                        interval=interval_ms, description="play")
    explorer.play_link = widgets.jslink((play, "value"), (slider, "value"))
    box = explorer.widget.children[0]
    box.children = (play, *box.children)
    explorer.play = play
    return explorer


# --- 07: hidden states over time for a typed word ------------------------------------------------

def _blank(rows):
    """A map of ``rows x T_MAX`` with every cell masked (drawn as the axes' background).
    Zeros under the mask, not ``np.ma.masked_all``'s uninitialised memory, which the
    colormap still scales (an overflow warning when the garbage is huge)."""
    return np.ma.masked_array(np.zeros((rows, T_MAX)), mask=True)


def tokens(word, alphabet=ALPHABET, T=T_MAX):
    """A word's token ids (lower case; characters outside the alphabet become spaces), at
    most ``T`` of them."""
    return np.array([max(alphabet.find(c), 0) for c in word.lower()[:T]], dtype=np.int64)


@lru_cache(maxsize=2)
def char_rnn(D=6, H=16, rho=0.9, input_scale=0.5, seed=7):
    """A small random network for characters: an embedding E (V, D) and RNN weights with
    W_hh scaled to spectral radius ``rho``."""
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((H, H))
    V *= rho / np.max(np.abs(np.linalg.eigvals(V)))
    return (rng.standard_normal((len(ALPHABET), D)),
            {"W_xh": input_scale * rng.standard_normal((D, H)), "W_hh": V,
             "b_h": 0.1 * rng.standard_normal(H), "W_hy": np.zeros((H, 1)), "b_y": np.zeros(1)})


def word_states(word):
    """``(ids (T,), X (T, D), H_all (T, H))`` for a word: its characters embedded, then run
    through the network from h0 = 0."""
    E, params = char_rnn()
    ids = tokens(word)
    if len(ids) == 0:
        return ids, np.zeros((0, E.shape[1])), np.zeros((0, params["W_hh"].shape[0]))
    X = embed(ids[None], E)
    H_all, _ = rnn_forward(X, np.zeros((1, params["W_hh"].shape[0])), params)
    return ids, X[0], H_all[0]


RED, BLUE = "#d62728", "#1f77b4"  # positive and negative bars


def hidden_states(word="recurrent", t=None):
    """Heat maps of a word's inputs x_t (its characters' embeddings) and hidden states h_t,
    step by step, under a time slider with a Play button.

    Top: x_t = E[token], one column per character. Bottom: h_1 ... h_t, one column per step,
    the columns after t still empty (veiled: the maps hold the whole word, so a step moves a
    veil, not a map). Right: h_t as bars. Type another word: the states are
    recomputed (a 16-unit network, microseconds). Returns an
    :class:`~utils.explorers.widgets.Explorer` with controls ``word`` and ``t``.
    """
    E, params = char_rnn()
    D, H = E.shape[1], params["W_hh"].shape[0]
    fig, axes = figure(2, 2, figsize=(8.8, 4.6), width_ratios=(3.2, 1),
                       height_ratios=(D, H))
    xax, hax = axes[0, 0], axes[1, 0]
    axes[0, 1].axis("off")
    bax = axes[1, 1]
    x_image = xax.imshow(_blank(D), cmap="PuOr_r", vmin=-2.5, vmax=2.5, aspect="auto",
                         interpolation="nearest")
    h_image = hax.imshow(_blank(H), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto",
                         interpolation="nearest")
    for ax in (xax, hax):
        ax.set_facecolor("#f2f2f2")
    xax.set(yticks=[0, D - 1], yticklabels=["1", str(D)], xticks=[], ylabel="x_t\n(embedding)")
    hax.set(yticks=[0, H - 1], yticklabels=["1", str(H)], xticks=range(T_MAX),
            xticklabels=[str(i) for i in range(1, T_MAX + 1)], xlabel="step t",
            ylabel="h_t (hidden units)")
    letters = [xax.text(i, -0.7, "", ha="center", va="bottom", fontsize=11,
                        fontfamily="monospace") for i in range(T_MAX)]
    xax.set_ylim(D - 0.5, -1.9)  # room above the image for the characters
    veils = [ax.add_patch(Rectangle((-0.5, -0.5), T_MAX, n, color="#f2f2f2", lw=0))
             for ax, n in ((xax, D), (hax, H))]
    cursors = [ax.add_patch(Rectangle((-0.5, -0.5), 1, n, fill=False, ec="black", lw=1.5,
                                      clip_on=False)) for ax, n in ((xax, D), (hax, H))]
    # the bars as two shapes, the positive ones red and the negative ones blue (each bar in
    # both, of zero width in the other): two paths to draw on a move instead of H rectangles
    rows = np.arange(H)
    bars = [bax.add_patch(PathPatch(rectangles(0, np.zeros(H), rows - 0.4, rows + 0.4),
                                    color=color, lw=0))
            for color in (RED, BLUE)]
    bax.set(xlim=(-1.05, 1.05), ylim=(H - 0.5, -0.5), yticks=[], xticks=[-1, 0, 1],
            xlabel="h_t")
    bax.axvline(0, color="grey", lw=0.8)
    fig.colorbar(h_image, ax=bax, location="bottom", shrink=0.9, label="state value",
                 ticks=[-1, 0, 1])
    caption = fig.suptitle("", fontsize=10)
    cache = {}

    def states(text):
        """The word's states, and the maps of all its steps (set once a word)."""
        if text not in cache:
            cache.clear()  # one word at a time: the slider reuses it
            cache[text] = ids, X, H_all = word_states(text)
            xs, hs = _blank(D), _blank(H)
            xs[:, :len(ids)], hs[:, :len(ids)] = X.T, H_all.T
            x_image.set_data(xs)
            h_image.set_data(hs)
        return cache[text]

    def update(word, t):
        ids, X, H_all = states(word)
        T = len(ids)
        shown = min(t, T)
        for veil in veils:  # over the steps after t
            veil.set_x(shown - 0.5)
            veil.set_width(T_MAX - shown)
        for i, letter in enumerate(letters):
            letter.set_text(repr(ALPHABET[ids[i]])[1:-1] if i < T else "")
            color = "black" if i < shown else "#aaaaaa"
            if letter.get_color() != color:  # a setter marks it changed: drawn again
                letter.set_color(color)
        changed = [x_image, h_image, *veils, *letters, caption]
        h_t = H_all[shown - 1] if shown else np.zeros(H)
        for bar, part in zip(bars, (np.maximum(h_t, 0), np.minimum(h_t, 0))):
            set_rectangles(bar, 0, part, rows - 0.4, rows + 0.4)
        changed += bars
        for cursor in cursors:
            cursor.set_x(shown - 1.5 if shown else -100)
            cursor.set_visible(bool(shown))
        changed += cursors
        if T == 0:
            caption.set_text("type a word (letters a-z and spaces)")
        else:
            caption.set_text(
                f"step {shown} of {T}: input '{ALPHABET[ids[shown - 1]]}', "
                f"h_{shown} = tanh(x_{shown} W_xh + h_{shown - 1} W_hh + b_h): "
                f"the same weights at every step")
        return changed

    length = max(1, len(tokens(word)))
    explorer = Explorer(
        fig, update,
        word=widgets.Text(value=word, description="word", continuous_update=True),
        t=widgets.IntSlider(value=length if t is None else min(t, length), min=1, max=length,
                            description="t", continuous_update=True))
    _with_play(explorer, "t")

    def fit_slider(change):  # the slider spans the word: every step of it moves something
        length = max(1, len(tokens(change["new"])))
        explorer.play.max = length
        explorer.controls["t"].max = length

    explorer.controls["word"].observe(fit_slider, names="value")
    return explorer


# --- 07: how long does the state remember an input? -------------------------------------------

@lru_cache(maxsize=2)
def memory_table(T=40, N=16, H=64, seed=0, rhos=RHOS, scales=INPUT_SCALES):
    """How much a change of the first input still changes the state t steps later.

    Two copies of N random input sequences differ only at step 1 (by a small nudge); both run
    through the same random RNN (W_hh of spectral radius rho, W_xh of the input scale). For
    every (rho, scale): the geometric mean over the sequences of ||h_t - h'_t|| for
    t = 1..T, divided by its value at t = 1. Returns ``(eigenvalues of V (H,), table)`` with
    ``table[(rho, scale)]`` of shape (T,); W_hh = rho * V.
    """
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((H, H))
    eig = np.linalg.eigvals(V)
    V /= np.max(np.abs(eig))
    eig /= np.max(np.abs(eig))
    W_in = rng.standard_normal((8, H))
    X = rng.standard_normal((N, T, 8))
    nudge = np.zeros_like(X)
    nudge[:, 0] = 1e-6 * rng.standard_normal((N, 8))
    both = np.concatenate([X, X + nudge])
    h0 = np.zeros((2 * N, H))
    table = {}
    with one_thread():
        table.update(_memory_curves(both, h0, N, V, W_in, rhos, scales))
    return eig, table


def _memory_curves(both, h0, N, V, W_in, rhos, scales):
    H = V.shape[0]
    table = {}
    for rho in rhos:
        for scale in scales:
            p = {"W_xh": scale * W_in, "W_hh": rho * V, "b_h": np.zeros(H),
                 "W_hy": np.zeros((H, 1)), "b_y": np.zeros(1)}
            H_all, _ = rnn_forward(both, h0, p)
            diff = np.linalg.norm(H_all[:N] - H_all[N:], axis=2)  # (N, T)
            log = np.log(np.maximum(diff, 1e-300)).mean(axis=0)
            table[(rho, scale)] = np.exp(log - log[0])
    return table


def memory(rho=0.9, input_scale=0.25):
    """How far back the state remembers: the eigenvalues of W_hh (left) and how much a nudge
    to the first input still moves h_t, t steps later (right, log scale), as the spectral
    radius and the input scale change. Returns an Explorer with controls ``rho`` and
    ``input_scale``."""
    eig, table = memory_table()
    T = len(next(iter(table.values())))
    steps = np.arange(1, T + 1)
    fig, (eax, max_) = figure(1, 2, figsize=(8.8, 3.7), width_ratios=(1, 1.6))
    circle = np.linspace(0, 2 * np.pi, 200)
    eax.plot(np.cos(circle), np.sin(circle), color="grey", lw=1, ls="--")
    # the eigenvalues as a line's markers (one marker shape, placed 64 times), as the
    # scatter they look like (s=10) but drawn 2x faster on a move
    dots, = eax.plot(eig.real, eig.imag, "o", ms=np.sqrt(10), color="#1f77b4")
    eax.set(xlim=(-2.1, 2.1), ylim=(-2.1, 2.1), aspect="equal", xlabel="real part",
            ylabel="imaginary part", title="eigenvalues of W_hh")
    eax.text(0.71, -0.71, " |λ| = 1", color="grey", fontsize=8, va="top")
    guide, = max_.plot(steps, np.ones(T), color="grey", ls="--", lw=1,
                       label=r"$\rho^{\,t-1}$ (a linear network)")
    line, = max_.plot(steps, np.ones(T), "o-", color="#d62728", ms=3,
                      label=r"$\|h_t - h'_t\|$ / its value at t = 1")
    max_.axhline(1e-2, color="black", lw=0.6, ls=":")
    max_.text(T, 1.1e-2, "1%", fontsize=8, ha="right", va="bottom")
    max_.set(yscale="log", ylim=(1e-8, 1e4), xlim=(0.5, T + 0.5), xlabel="step t",
             title="a nudge to x_1, seen at step t")
    max_.legend(loc="lower left", fontsize=8)
    caption = fig.suptitle("", fontsize=10)

    def update(rho, input_scale):
        curve = table[(rho, input_scale)]
        dots.set_data(rho * eig.real, rho * eig.imag)
        line.set_ydata(np.clip(curve, 1e-12, 1e6))
        guide.set_ydata(np.clip(rho ** (steps - 1.0), 1e-12, 1e6))
        below = np.flatnonzero(curve < 1e-2)
        if len(below):
            memory_text = f"the nudge falls below 1% after {below[0]} steps"
        else:
            memory_text = f"the nudge is still above 1% after {T - 1} steps"
        caption.set_text(f"spectral radius {rho:.2f}, input scale {input_scale:g}: "
                         + memory_text)
        return [dots, line, guide, caption]

    return Explorer(
        fig, update,
        rho=widgets.SelectionSlider(options=list(RHOS), value=rho,
                                    description="spectral radius", continuous_update=True),
        input_scale=widgets.SelectionSlider(options=list(INPUT_SCALES), value=input_scale,
                                            description="input scale",
                                            continuous_update=True))


def spectral_radius(W):
    """max |eigenvalue| of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(W))))


# --- 08: how far does a gradient travel back? -------------------------------------------------

SLOPE_BINS = np.linspace(0.0, 1.0, 21)


def jacobian_norms(X, h0, params):
    """``(norms (T + 1, N), slopes (N, T, H))``: norms[t, n] = ||dh_T/dh_t|| for sequence n
    (Frobenius norm over sqrt(H)), t = 0..T, and the slopes tanh'(a_t) = 1 - h_t^2.

    In row-vector form one step sends a gradient back as g_{t-1} = (g_t * (1 - h_t^2)) @ W_hh.T;
    the rows of M = dh_T/dh_t (as a map of row vectors) follow the same rule, from M = I at T.
    """
    H_all, _ = rnn_forward(X, h0, params)
    slopes = 1.0 - H_all ** 2  # (N, T, H)
    N, T, H = H_all.shape
    M = np.broadcast_to(np.eye(H), (N, H, H)).copy()  # dh_T/dh_T
    norms = [np.ones(N)]
    for t in range(T - 1, -1, -1):  # M <- dh_T/dh_t, from dh_T/dh_{t+1}
        M = (M * slopes[:, t, None, :]) @ params["W_hh"].T
        norms.append(np.linalg.norm(M, axis=(1, 2)) / np.sqrt(H))
    return np.array(norms[::-1]), slopes


@lru_cache(maxsize=2)
def gradient_table(T=40, N=8, H=32, seed=0, rhos=RHOS, scales=INPUT_SCALES):
    """||dh_T / dh_t|| for t = 0..T, for every (spectral radius, input scale).

    The Jacobian of one step is dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh^T (column-vector form);
    their product from step T down to t + 1 is multiplied out for N random input sequences.
    The norm shown is the Frobenius norm over sqrt(H) (the root-mean-square singular value,
    1 for an identity), the geometric mean over the sequences. Also the share of tanh'(a_t)
    = 1 - h_t^2 in each of ``SLOPE_BINS``. Returns ``table[(rho, scale)] = (norms (T + 1,),
    slope_shares (len(SLOPE_BINS) - 1,))``.
    """
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((H, H))
    V /= np.max(np.abs(np.linalg.eigvals(V)))
    W_in = rng.standard_normal((8, H))
    X = rng.standard_normal((N, T, 8))
    h0 = np.zeros((N, H))
    table = {}
    with np.errstate(over="ignore", invalid="ignore", under="ignore"), one_thread():
        for rho in rhos:
            for scale in scales:
                W_hh = rho * V
                p = {"W_xh": scale * W_in, "W_hh": W_hh, "b_h": np.zeros(H),
                     "W_hy": np.zeros((H, 1)), "b_y": np.zeros(1)}
                norms, slopes = jacobian_norms(X, h0, p)
                geo = np.exp(np.log(np.maximum(norms, 1e-300)).mean(axis=1))
                shares = np.histogram(slopes, SLOPE_BINS)[0] / slopes.size
                table[(rho, scale)] = (geo, shares)
    return table


def gradient_through_time(rho=1.0, input_scale=0.5):
    """||dh_T/dh_t|| against t (left, log scale) and the spread of tanh'(a_t) (right), as the
    spectral radius of W_hh and the input scale change. Returns an Explorer with controls
    ``rho`` and ``input_scale``."""
    table = gradient_table()
    T = len(next(iter(table.values()))[0]) - 1
    steps = np.arange(T + 1)
    fig, (gax, sax) = figure(1, 2, figsize=(8.8, 3.7), width_ratios=(1.6, 1))
    guide, = gax.plot(steps, np.ones(T + 1), color="grey", ls="--", lw=1,
                      label=r"$\rho^{\,T-t}$ (no tanh)")
    line, = gax.plot(steps, np.ones(T + 1), "o-", color="#d62728", ms=3,
                     label=r"$\|\partial h_T / \partial h_t\|$")
    gax.axhline(1.0, color="black", lw=0.6, ls=":")
    gax.set(yscale="log", ylim=(1e-12, 1e8), xlim=(-0.5, T + 0.5),
            xlabel="step t (the gradient flows from T back to 0)",
            title=f"how much of a gradient at h_{T} reaches h_t")
    gax.legend(loc="lower right", fontsize=8)
    centres = (SLOPE_BINS[:-1] + SLOPE_BINS[1:]) / 2
    bins = SLOPE_BINS[:-1], SLOPE_BINS[1:]
    bars = sax.add_patch(PathPatch(rectangles(*bins, 0, np.zeros(len(centres))),
                                   facecolor="#1f77b4", edgecolor="white"))  # one shape
    sax.set(xlim=(0, 1), ylim=(0, 1), xlabel=r"$\tanh'(a_t) = 1 - h_t^2$",
            ylabel="share of units and steps", title="the slopes each step multiplies by")
    caption = fig.suptitle("", fontsize=10)

    def update(rho, input_scale):
        norms, shares = table[(rho, input_scale)]
        line.set_ydata(np.clip(np.nan_to_num(norms, nan=1e30, posinf=1e30), 1e-30, 1e30))
        guide.set_ydata(np.clip(rho ** (T - steps.astype(float)), 1e-30, 1e30))
        set_rectangles(bars, *bins, 0, shares)
        mean_slope = float(np.dot(shares, centres))
        caption.set_text(f"spectral radius {rho:.2f}, input scale {input_scale:g}: "
                         f"||dh_T/dh_0|| = {norms[0]:.1e}, mean tanh' about {mean_slope:.2f}")
        return [line, guide, bars, caption]

    return Explorer(
        fig, update,
        rho=widgets.SelectionSlider(options=list(RHOS), value=rho,
                                    description="spectral radius", continuous_update=True),
        input_scale=widgets.SelectionSlider(options=list(INPUT_SCALES), value=input_scale,
                                            description="input scale",
                                            continuous_update=True))


# --- 08: a training run with and without clipping ---------------------------------------------

def clipping_run(clipped, plain, max_norm=1.0):
    """Two training runs side by side, from the same start: the global gradient norm at every
    step (before clipping, log scale) and the test accuracy after every epoch, with a step
    slider (and Play) moving a cursor through training.

    ``clipped`` and ``plain`` are the histories ``utils.experiments.recurrent.train_rnn``
    returns (``grad_norm`` per step, ``test_accuracy`` per epoch, ``steps_per_epoch``).
    """
    runs = {"without clipping": (plain, "#d62728"), "clipped": (clipped, "#1f77b4")}
    n_steps = len(plain["grad_norm"])
    per_epoch = plain["steps_per_epoch"]
    epochs = len(plain["test_accuracy"])
    steps = np.arange(1, n_steps + 1)
    fig, (nax, aax) = figure(1, 2, figsize=(8.8, 3.7), width_ratios=(1.6, 1))
    top = 10 ** np.ceil(np.log10(max(max(plain["grad_norm"]), max(clipped["grad_norm"]))) + 0.3)
    bottom = 10 ** np.floor(np.log10(max(min(min(plain["grad_norm"]),
                                             min(clipped["grad_norm"])), 1e-8)))
    markers, acc_markers = {}, {}
    for label, (history, color) in runs.items():
        nax.plot(steps, history["grad_norm"], color=color, lw=0.6, alpha=0.8, label=label)
        markers[label], = nax.plot([1], [history["grad_norm"][0]], "o", color=color, ms=6,
                                   mec="black")
        aax.plot(np.arange(1, epochs + 1), history["test_accuracy"], "o-", color=color, ms=3,
                 label=label)
        acc_markers[label], = aax.plot([1], [history["test_accuracy"][0]], "o", color=color,
                                       ms=8, mec="black")
    nax.axhline(max_norm, color="black", lw=1, ls="--")
    nax.text(n_steps, max_norm * 1.15, f"max_norm = {max_norm:g}", ha="right", va="bottom",
             fontsize=8)
    cursor = nax.axvline(1, color="grey", lw=1)
    nax.set(yscale="log", ylim=(bottom, top), xlim=(0, n_steps + 1), xlabel="training step",
            ylabel="global gradient norm (before clipping)", title="gradient norm per step")
    nax.legend(loc="upper right", fontsize=8)
    low = min(min(plain["test_accuracy"]), min(clipped["test_accuracy"]))
    aax.set(xlim=(0.5, epochs + 0.5), ylim=(max(0.0, np.floor(low * 20) / 20 - 0.05), 1.0),
            xlabel="epoch", ylabel="test accuracy", title="held-out digits")
    aax.legend(loc="lower right", fontsize=8)
    caption = fig.suptitle("", fontsize=10)

    def update(step):
        i = step - 1
        epoch = min(i // per_epoch, epochs - 1)
        cursor.set_xdata([step, step])
        parts = []
        for label, (history, _) in runs.items():
            norm = history["grad_norm"][i]
            markers[label].set_data([step], [norm])
            acc_markers[label].set_data([epoch + 1], [history["test_accuracy"][epoch]])
            if label == "clipped":
                used = min(norm, max_norm)
                parts.append(f"clipped: ||g|| = {norm:.2g} -> {used:.2g}")
            else:
                parts.append(f"without clipping: ||g|| = {norm:.2g}")
        caption.set_text(f"step {step} (epoch {epoch + 1}): " + ";  ".join(parts))
        return [cursor, *markers.values(), *acc_markers.values(), caption]

    explorer = Explorer(
        fig, update,
        step=widgets.IntSlider(value=1, min=1, max=n_steps, description="step",
                               continuous_update=True))
    return _with_play(explorer, "step", interval_ms=100, step=max(1, per_epoch // 4))
