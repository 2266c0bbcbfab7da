"""Notebook 12's figures: the bars are the tempered distribution, texts follow the controls,
and no move changes the axes."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from explorer_checks import assert_axes_fixed, bars  # noqa: E402
from utils.explorers import language_model as elm  # noqa: E402

VOCAB = "\n !,.:?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def fixed_logits(prompt):
    rng = np.random.default_rng(len(prompt))
    return 3 * rng.standard_normal(len(VOCAB))


def heights(explorer):
    """The bars' heights as drawn (one shape: a rectangle per character)."""
    boxes = bars(explorer.fig.axes[0])
    return boxes[:, 3] - boxes[:, 2]


def test_next_char_bars_are_softmax_of_logits_over_temperature():
    ex = elm.next_char_explorer(fixed_logits, VOCAB, prompt="KING:", temperature=1.0)
    for t in (0.5, 1.0, 2.0):
        ex.set(temperature=t)
        z = fixed_logits("KING:") / t
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        np.testing.assert_allclose(heights(ex), p, rtol=1e-12)
    ex.set(temperature=0.0)
    h = heights(ex)
    assert h.max() == 1.0 and h.sum() == 1.0 and np.argmax(h) == np.argmax(fixed_logits("KING:"))


def test_next_char_explorer_asks_the_model_once_per_prompt():
    calls = []
    ex = elm.next_char_explorer(lambda p: calls.append(p) or fixed_logits(p), VOCAB,
                                prompt="a")
    for t in np.linspace(0, 2, 9):
        ex.set(temperature=t)
    ex.set(prompt="bb")
    assert calls == ["a", "bb"]


def test_generation_shows_the_prompt_and_what_follows():
    seen = []

    def generate(prompt, t):
        seen.append((prompt, t))
        return f"<{t:.1f}>"
    ex = elm.generation_explorer(generate, prompt="JULIET:\n", temperature=0.8)
    text = ex.fig.axes[0].texts[0].get_text()
    assert text.startswith("JULIET:\n<0.8>")
    # every step of the slider sampled once, with the prompt: a move only looks its text up
    steps = [round(0.1 * k, 1) for k in range(21)]
    assert sorted(seen) == [("JULIET:\n", t) for t in steps]
    ex.set(temperature=0.3)
    assert ex.fig.axes[0].texts[0].get_text().startswith("JULIET:\n<0.3>")
    ex.set(temperature=0.8)
    ex.set(prompt="ROMEO:")
    assert len(seen) == 2 * len(steps) and ("ROMEO:", 0.8) in seen


def race():
    s = np.linspace(0, 20, 7)
    curves = {"char-RNN": (s, 4.2 - 0.1 * s), "char-LSTM": (s, 4.2 - 0.08 * s)}
    samples = {k: [(float(t), f"{k} at {t:.0f}") for t in s] for k in curves}
    return elm.race_explorer(curves, samples, {"bigram": 2.48})


def test_race_shows_each_models_sample_at_the_cursor():
    ex = race()
    ex.set(at=7.0)  # the checkpoint at 6.67 s is the latest at or before 7 s
    texts = [t.get_text() for t in ex.fig.axes[1].texts]
    assert texts[0].startswith("char-RNN after 7 s:\nchar-RNN at 7")
    assert ex.fig.axes[0].lines[-1].get_xdata()[0] == 7.0


@pytest.mark.parametrize("build", [
    lambda: elm.next_char_explorer(fixed_logits, VOCAB),
    lambda: elm.generation_explorer(lambda p, t: "x" * int(10 * t + 1)),
    race,
], ids=["next_char", "generation", "race"])
def test_axes_never_change(build):
    assert_axes_fixed(build(), n_random=10)


def test_training_monitor_draws_a_curve():
    monitor = elm.TrainingMonitor(10.0, every=0.0)
    for step in range(1, 6):
        monitor(step, 2.0 * step, 4.0 / step)
    assert monitor.bar.value == 10.0 and "step 5" in monitor.label.value
    assert monitor.image.value[:4] == b"\x89PNG"
