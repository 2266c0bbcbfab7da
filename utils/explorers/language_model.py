"""Notebook 12's figures: the next character's distribution, generated text under a
temperature, the three models' training curves, and a live monitor for long training.

Sampling is precomputed where a slider moves it (one text per temperature step), so a move
only swaps texts; typing a new prompt samples again, every step at once (under a
second).
"""
import io
import time

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch

from .plotting import rectangles, set_rectangles
from .widgets import Explorer, figure, slider

TEMPERATURES = np.round(np.arange(0.0, 2.01, 0.1), 2)


def _shown(c):
    return {"\n": "\u21b5", " ": "\u2423"}.get(c, c)


def _probs(logits, temperature):
    if temperature == 0:
        p = np.zeros_like(logits)
        p[np.argmax(logits)] = 1.0
        return p
    z = (logits - logits.max()) / temperature
    e = np.exp(z)
    return e / e.sum()


def next_char_explorer(next_logits, vocab, prompt="ROMEO:\nWhat light", temperature=1.0):
    """The distribution of the next character after a prompt, under a temperature.

    Args:
        next_logits: ``prompt -> (V,) logits`` of the character after ``prompt``.
        vocab: the V characters.
    Returns an :class:`Explorer` with controls ``prompt`` (a text box, sampled again on Enter)
    and ``temperature``; the bars show softmax(logits / temperature), the 10 likeliest named.
    """
    fig, ax = figure(figsize=(7.4, 3.0))
    V = len(vocab)
    x = np.arange(V)
    # the bars as one shape: one path to draw on a move instead of V rectangles
    bars = ax.add_patch(PathPatch(rectangles(x - 0.4, x + 0.4, 0, np.zeros(V)),
                                  color="#4c72b0", lw=0))
    ax.set_xlim(-1, V)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(np.arange(V), [_shown(c) for c in vocab], fontsize=6, family="monospace")
    ax.set_ylabel("probability of the next character")
    title = ax.set_title(" ", fontsize=9, family="monospace", loc="left", parse_math=False)
    top = [ax.text(0, 0, "", ha="center", va="bottom", fontsize=8, family="monospace",
                   parse_math=False) for _ in range(10)]
    cache = {}

    def update(prompt, temperature):
        if prompt not in cache:
            cache.clear()  # one prompt at a time: its logits are all a move needs
            cache[prompt] = next_logits(prompt)
        p = _probs(cache[prompt], temperature)
        set_rectangles(bars, x - 0.4, x + 0.4, 0, p)
        for label, i in zip(top, np.argsort(p)[::-1][:10]):
            label.set_position((i, p[i] + 0.01))
            label.set_text(_shown(vocab[i]) if p[i] > 0.02 else "")
        tail = prompt[-28:].replace("\n", "\u21b5")
        title.set_text(f"after \u201c{tail}\u201d at temperature {temperature:.1f}")
        return [bars, *top, title]

    return Explorer(fig, update,
                    prompt=widgets.Text(value=prompt, description="prompt",
                                        continuous_update=False),
                    temperature=slider(temperature, 0.0, 2.0, 0.1, "temperature", ".1f"))


def generation_explorer(generate, prompt="JULIET:\n", temperature=0.8):
    """Text generated after a prompt at each temperature, 0 to 2.

    Args:
        generate: ``(prompt, temperature) -> str``, sampled with a fixed seed so the same
            settings always show the same text.
    Returns an :class:`Explorer` with controls ``prompt`` and ``temperature``; every
    temperature's text for the current prompt is sampled once, when the prompt is set.
    """
    fig, ax = figure(figsize=(7.4, 4.2))
    ax.set_axis_off()
    text = ax.text(0.0, 1.0, "", va="top", ha="left", family="monospace", fontsize=8.5,
                   transform=ax.transAxes, parse_math=False)  # generated text may hold "$"
    caption = ax.text(0.0, 0.0, "", va="bottom", ha="left", fontsize=8, color="0.4",
                      transform=ax.transAxes)  # left: the right corner is mark_reference's
    texts = {}

    def update(prompt, temperature):
        if prompt not in texts:  # a new prompt: sampled at every temperature, once
            texts.clear()
            texts[prompt] = {float(t): generate(prompt, float(t)) for t in TEMPERATURES}
        per_t = texts[prompt]
        t = float(np.round(temperature, 2))
        if t not in per_t:  # a temperature between the slider's steps, set by code
            per_t[t] = generate(prompt, t)
        lines = (prompt + per_t[t]).split("\n")[:16]
        text.set_text("\n".join(line[:84] for line in lines))
        caption.set_text(f"temperature {t:.1f}: "
                         + ("the argmax every time" if t == 0 else "p = softmax(z / T)"))
        return [text, caption]

    return Explorer(fig, update,
                    prompt=widgets.Text(value=prompt, description="prompt",
                                        continuous_update=False),
                    temperature=slider(temperature, TEMPERATURES[0], TEMPERATURES[-1],
                                       TEMPERATURES[1], "temperature", ".1f"))


def race_explorer(curves, samples, baselines):
    """Training curves of several models on one clock, and what each writes at a moment.

    Args:
        curves: ``{model: (seconds (n,), held-out nats/char (n,))}`` measured during training.
        samples: ``{model: [(seconds, text), ...]}`` samples taken at those moments.
        baselines: ``{label: nats/char}`` drawn as horizontal lines.
    Returns an :class:`Explorer` with control ``at`` (seconds of training).
    """
    fig, (ax, tx) = figure(1, 2, figsize=(9.0, 3.6), width_ratios=(1, 1.25))
    end = max(s[-1] for s, _ in curves.values())
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    for (name, (s, nats)), color in zip(curves.items(), colors):
        ax.plot(s, nats, color=color, label=name, lw=1.6)
    for (label, value), style in zip(baselines.items(), (":", "--", "-.")):
        ax.axhline(value, color="0.5", lw=0.9, ls=style)
        ax.text(end, value, f" {label} {value:.2f}", va="bottom", ha="right", fontsize=7,
                color="0.4")
    ax.set_xlim(0, end)
    values = [v for _, n in curves.values() for v in n] + list(baselines.values())
    ax.set_ylim(min(values) - 0.1, max(values) + 0.15)
    ax.set_xlabel("seconds of training (same clock)")
    ax.set_ylabel("held-out nats/char")
    ax.legend(loc="center right", fontsize=8, frameon=False)
    cursor = ax.axvline(0, color="k", lw=0.8)
    tx.set_axis_off()
    blocks = [tx.text(0, 1 - k / len(curves), "", va="top", ha="left", family="monospace",
                      fontsize=7, transform=tx.transAxes, color=color, parse_math=False)
              for k, color in zip(range(len(curves)), colors)]

    def update(at):
        cursor.set_xdata([at, at])
        for block, (name, taken) in zip(blocks, samples.items()):
            times = np.array([t for t, _ in taken])
            k = max(0, int(np.searchsorted(times, at, side="right")) - 1)
            t, text = taken[k]
            body = "\n".join(line[:60] for line in text.split("\n")[:4])
            block.set_text(f"{name} after {t:.0f} s:\n{body}")
        return [cursor, *blocks]

    return Explorer(fig, update, at=slider(end, 0.0, end, end / 50, "seconds", ".0f"))


class TrainingMonitor:
    """A progress bar, the elapsed time and a live loss curve for a training loop.

    ``monitor(step, elapsed, loss)`` records a point and redraws at most every
    ``every`` seconds (a small PNG, about 10 ms), so the monitor costs the training little.
    Shown by displaying it (``display(monitor)``) before the loop starts.
    """

    def __init__(self, total_seconds, title="training", every=1.0, ylabel="loss (nats/char)"):
        self.total, self.every, self.last = total_seconds, every, -np.inf
        self.bar = widgets.FloatProgress(value=0, min=0, max=total_seconds, description=title,
                                         layout=widgets.Layout(width="60%"))
        self.label = widgets.Label("starting ...")
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="520px"))
        self.widget = widgets.VBox([widgets.HBox([self.bar, self.label]), self.image])
        self.fig = Figure(figsize=(5.2, 2.0), layout="constrained")
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.subplots()
        self.ax.set_xlabel("seconds")
        self.ax.set_ylabel(ylabel)
        self.line, = self.ax.plot([], [], lw=1.2)
        self.points = []

    def __call__(self, step, elapsed, loss):
        self.points.append((elapsed, loss))
        now = time.perf_counter()
        if now - self.last < self.every and elapsed < self.total:
            return
        self.last = now
        self.bar.value = min(elapsed, self.total)
        self.label.value = f"step {step}, {elapsed:.0f} s of {self.total:.0f} s, loss {loss:.3f}"
        s, l = np.array(self.points).T
        self.line.set_data(s, l)
        self.ax.set_xlim(0, max(self.total, elapsed))
        self.ax.set_ylim(min(l.min(), 1.0), max(l[: max(1, len(l) // 20)].max(), l.max()) + 0.1)
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=80)
        self.image.value = buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
