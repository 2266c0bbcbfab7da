"""The explorers of notebook 10: right numbers, cheap updates, axes that never move."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import utils  # noqa: E402
from explorer_checks import assert_axes_fixed, axes_state  # noqa: E402
from utils.explorers import attention as ea  # noqa: E402


@pytest.fixture(scope="module")
def encodings():
    return ea.positional_encodings()


@pytest.fixture(scope="module")
def attention():
    return ea.attention_map()


def test_similarity_depends_on_the_distance_only():
    S = ea.cosine_similarities(utils.positional_encoding(40, 32))
    np.testing.assert_allclose(np.diag(S), 1.0)
    for k in (1, 5, 17):
        np.testing.assert_allclose(np.diag(S, k), np.diag(S, k)[0])  # the same for every p
    assert np.all(S < 1.0 + 1e-12) and np.all(S[~np.eye(40, dtype=bool)] < 1 - 1e-6)


def test_encodings_move_every_control_and_keep_the_axes(encodings):
    def check(explorer, values):
        image, curve = explorer.fig.axes[0].images[0], explorer.fig.axes[1].lines[0]
        shown = np.asarray(image.get_array())
        d, p = values["d_model"], values["position"]
        np.testing.assert_allclose(shown[:, :d], utils.positional_encoding(ea.T_POSITIONS, d))
        assert np.all(np.isnan(shown[:, d:]))
        row = curve.get_ydata()
        assert row[p] == pytest.approx(1.0)
        low, high = explorer.fig.axes[1].get_ylim()
        assert low <= row.min() and row.max() <= high  # never off the chart

    assert assert_axes_fixed(encodings, check) > 20


def test_the_sentence_map(attention):
    fig = attention.fig
    fig.canvas.draw()
    before = axes_state(fig)
    sentences = ["the cat sat on the mat", "", "one", "a b c d e f g h i j k l m n o p",
                 "Hello, world! Hello again.", ea.SENTENCE]
    for sentence in sentences:
        for temperature in (0.1, 1.0, 10.0):
            for causal in (False, True):
                attention.set(sentence=sentence, temperature=temperature, causal=causal)
                assert attention.last_error is None, attention.last_error
                words = ea.words_of(sentence)
                shown = np.asarray(fig.axes[0].images[0].get_array())
                n = len(words)
                assert np.all(np.isnan(shown[n:])) and np.all(np.isnan(shown[:, n:]))
                if n:
                    block = np.nan_to_num(shown[:n, :n])
                    np.testing.assert_allclose(block.sum(axis=1), 1.0)
                    if causal:
                        assert np.all(np.isnan(shown[:n, :n][np.triu_indices(n, 1)]))
                labels = [t.get_text() for t in fig.axes[0].texts[:ea.MAX_WORDS]]
                assert labels == words + [""] * (ea.MAX_WORDS - n)
    fig.canvas.draw()
    assert axes_state(fig) == before


def test_the_stories_the_notebook_tells():
    words = ea.words_of("the cat sat on the mat")
    A = ea.sentence_attention(words)
    assert np.all(A.argmax(axis=1) == np.arange(len(words)))  # each word most on itself
    assert A[4, 0] > A[4, 1:4].max()  # the second "the" attends to the first
    sharp, flat = ea.sentence_attention(words, 0.1), ea.sentence_attention(words, 10.0)
    copies = np.array([[a == b for b in words] for a in words])
    assert np.all((sharp * copies).sum(axis=1) > 0.95)  # all on itself and its copies
    assert flat.max() < 0.4
    causal = ea.sentence_attention(words, causal=True)
    assert causal[0, 0] == 1.0 and np.all(np.triu(causal, 1) == 0)
    assert ea.words_of("Hello, World!") == ["hello", "world"]
    assert len(ea.words_of(" ".join("w" * 20))) == ea.MAX_WORDS


def test_updates_are_cheap(attention, encodings):
    import time

    for explorer, moves in ((attention, [{"temperature": 0.2}, {"temperature": 3.0}]),
                            (encodings, [{"position": 3}, {"d_model": 8}])):
        update = explorer._update
        for move in moves:
            start = time.perf_counter()
            update(**{**explorer.values, **move})
            print(f"{move}: {1e3 * (time.perf_counter() - start):.2f} ms")
