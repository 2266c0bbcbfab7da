"""Notebook 12's experiment: character-level language models of Shakespeare, trained in numpy.

Three models read the same characters and predict the next one at every position:

    char-RNN      E -> tanh RNN (notebook 07/08) -> logits       the student's loss and gradients
    char-LSTM     E -> LSTM (notebook 09) -> logits              utils' references
    transformer   E + positions -> pre-norm blocks (notebook 11) with the causal mask -> logits

Each is trained on random windows of the training text (the first 90%) by Adam with global-norm
clipping, from a zero state, and measured on the held-out text (the last 10%) in nats per
character with one protocol for all: windows of ``T`` characters read from a zero state, scoring
the second half of each window, so every scored character has at least ``T/2`` characters of
context (:func:`heldout_nats`).
"""
import os
import time

import numpy as np

from .. import data
from ..reference.attention import positional_encoding
from ..reference.gated import lstm_backward, lstm_forward
from ..reference.losses import cross_entropy_grad, cross_entropy_loss
from ..reference.transformer import transformer_block, transformer_block_backward
from .adam import Adam

# What every figure of the notebook and the benchmark uses (see the notebook's section 5).
NOTEBOOKS = ("12_language_model",)
BATCH, CONTEXT = 32, 64
LR = 2e-3  # Adam's step size for every model here


# --- data ------------------------------------------------------------------------------------

def windows(ids, n, length, rng):
    """``n`` random windows of the text: inputs ``(n, length)`` and targets shifted by one."""
    starts = rng.integers(0, len(ids) - length - 1, size=n)
    idx = starts[:, None] + np.arange(length + 1)
    chunk = ids[idx]
    return chunk[:, :-1], chunk[:, 1:]


def encode(text, vocab):
    """Characters -> ids (characters outside the vocabulary are dropped)."""
    index = {c: i for i, c in enumerate(vocab)}
    return np.array([index[c] for c in text if c in index], dtype=np.int64)


def prompt_ids(prompt, vocab):
    """A prompt's ids; a line break when nothing of it is in the vocabulary (or it is empty),
    so a model always has a character to start from."""
    ids = encode(prompt, vocab)
    return ids if len(ids) else encode("\n", vocab)


# --- optimisation ----------------------------------------------------------------------------

def clipped(grads, max_norm):
    """Gradients scaled to global L2 norm ``max_norm`` at most (notebook 08), and the norm."""
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
    scale = min(1.0, max_norm / (norm + 1e-6))  # PyTorch's clip_grad_norm_ adds 1e-6 too
    return ({k: g * scale for k, g in grads.items()} if scale < 1 else grads), norm


# --- models ----------------------------------------------------------------------------------

def _normal(rng, shape, std):
    return std * rng.standard_normal(shape)


class CharRNN:
    """The char-RNN of notebook 12, trained with a ``char_rnn_loss_and_grads`` passed in."""

    name = "char-RNN"

    def __init__(self, V, loss_and_grads, H=256, D=32, seed=0):
        rng = np.random.default_rng(seed)
        self.loss_and_grads_fn = loss_and_grads
        self.params = {"E": _normal(rng, (V, D), 1.0), "W_xh": _normal(rng, (D, H), D ** -0.5),
                       "W_hh": np.linalg.qr(rng.standard_normal((H, H)))[0],
                       "b_h": np.zeros(H), "W_hy": _normal(rng, (H, V), H ** -0.5),
                       "b_y": np.zeros(V)}
        self.H = H

    def loss_and_grads(self, inputs, targets):
        h0 = np.zeros((len(inputs), self.H))
        loss, grads, _ = self.loss_and_grads_fn(inputs, targets, h0, self.params)
        return loss, grads

    def logits(self, inputs):
        """(N, T, V) scores at every position, from a zero state."""
        p = self.params
        X = p["E"][inputs]
        h = np.zeros((len(inputs), self.H))
        Z = X @ p["W_xh"] + p["b_h"]
        out = np.empty((*inputs.shape, self.H))
        for t in range(inputs.shape[1]):
            h = np.tanh(Z[:, t] + h @ p["W_hh"])
            out[:, t] = h
        return out @ p["W_hy"] + p["b_y"]

    def start(self):
        return np.zeros((1, self.H))

    def step(self, state, c):
        """One character in, the next character's scores out: (state, (V,) logits)."""
        p = self.params
        h = np.tanh(p["E"][c] @ p["W_xh"] + state @ p["W_hh"] + p["b_h"])
        return h, (h @ p["W_hy"] + p["b_y"])[0]


def _softmax_xent(Z, targets):
    """Mean cross-entropy of (M, V) logits against (M,) ids, and dJ/dZ (notebook 04's)."""
    return cross_entropy_loss(Z, targets), cross_entropy_grad(Z, targets)


class CharLSTM:
    """Embedding -> LSTM (utils' reference of notebook 09) -> logits."""

    name = "char-LSTM"

    def __init__(self, V, H=192, D=32, seed=0):
        rng = np.random.default_rng(seed)
        b = np.zeros(4 * H)
        b[H:2 * H] = 1.0  # forget gate open at the start: remember by default
        self.params = {"E": _normal(rng, (V, D), 1.0), "W_x": _normal(rng, (D, 4 * H), D ** -0.5),
                       "W_h": _normal(rng, (H, 4 * H), H ** -0.5), "b": b,
                       "W_hy": _normal(rng, (H, V), H ** -0.5), "b_y": np.zeros(V)}
        self.H = H

    def _forward(self, inputs):
        p = self.params
        X = p["E"][inputs]
        zeros = np.zeros((len(inputs), self.H))
        H_all = lstm_forward(X, zeros, zeros, p)
        return X, zeros, H_all

    def loss_and_grads(self, inputs, targets):
        p = self.params
        N, T = inputs.shape
        X, zeros, H_all = self._forward(inputs)
        rows = H_all.reshape(N * T, self.H)
        loss, dZ = _softmax_xent(rows @ p["W_hy"] + p["b_y"], targets.reshape(-1))
        dH = (dZ @ p["W_hy"].T).reshape(N, T, self.H)
        g = lstm_backward(dH, X, zeros, zeros, p)
        dE = np.zeros_like(p["E"])
        np.add.at(dE, inputs, g["X"])
        return loss, {"E": dE, "W_x": g["W_x"], "W_h": g["W_h"], "b": g["b"],
                      "W_hy": rows.T @ dZ, "b_y": dZ.sum(axis=0)}

    def logits(self, inputs):
        _, _, H_all = self._forward(inputs)
        return H_all @ self.params["W_hy"] + self.params["b_y"]

    def start(self):
        return np.zeros((1, self.H)), np.zeros((1, self.H))

    def step(self, state, c):
        p, (h, cell) = self.params, state
        z = p["E"][c] @ p["W_x"] + h @ p["W_h"] + p["b"]
        H = self.H
        i, f, o = (1 / (1 + np.exp(-z[:, k * H:(k + 1) * H])) for k in (0, 1, 3))
        cell = f * cell + i * np.tanh(z[:, 2 * H:3 * H])
        h = o * np.tanh(cell)
        return (h, cell), (h @ p["W_hy"] + p["b_y"])[0]


class CharTransformer:
    """Embedding + positions -> pre-norm transformer blocks (notebook 11), causal -> logits."""

    name = "transformer"

    def __init__(self, V, D=96, n_blocks=2, n_heads=4, F=384, T=CONTEXT, seed=0):
        rng = np.random.default_rng(seed)
        self.n_heads, self.T, self.D = n_heads, T, D
        self.params = {"E": _normal(rng, (V, D), 1.0), "W_out": _normal(rng, (D, V), D ** -0.5),
                       "b_out": np.zeros(V)}
        for k in range(n_blocks):
            block = {**{f"W_{n}": _normal(rng, (D, D), D ** -0.5) for n in "qkvo"},
                     **{f"b_{n}": np.zeros(D) for n in "qkvo"},
                     "ln1_gamma": np.ones(D), "ln1_beta": np.zeros(D),
                     "ln2_gamma": np.ones(D), "ln2_beta": np.zeros(D),
                     "W1": _normal(rng, (D, F), D ** -0.5), "b1": np.zeros(F),
                     "W2": _normal(rng, (F, D), F ** -0.5 / np.sqrt(2 * n_blocks)),
                     "b2": np.zeros(D)}
            block["W_o"] /= np.sqrt(2 * n_blocks)  # residual branches start small
            self.params.update({f"{k}.{name}": v for name, v in block.items()})
        self.n_blocks = n_blocks
        self.pe = positional_encoding(T, D)
        self.mask = np.tril(np.ones((T, T), dtype=bool))

    def _block(self, k):
        return {name.split(".", 1)[1]: v for name, v in self.params.items()
                if name.startswith(f"{k}.")}

    def _forward(self, inputs):
        T = inputs.shape[1]
        X = self.params["E"][inputs] + self.pe[:T]
        xs = [X]
        for k in range(self.n_blocks):
            xs.append(transformer_block(xs[-1], self._block(k), self.n_heads, self.mask[:T, :T]))
        return xs

    def loss_and_grads(self, inputs, targets):
        p = self.params
        N, T = inputs.shape
        xs = self._forward(inputs)
        rows = xs[-1].reshape(N * T, self.D)
        loss, dZ = _softmax_xent(rows @ p["W_out"] + p["b_out"], targets.reshape(-1))
        grads = {"W_out": rows.T @ dZ, "b_out": dZ.sum(axis=0)}
        dX = (dZ @ p["W_out"].T).reshape(N, T, self.D)
        for k in reversed(range(self.n_blocks)):
            g = transformer_block_backward(dX, xs[k], self._block(k), self.n_heads,
                                           self.mask[:T, :T])
            dX = g.pop("X")
            grads.update({f"{k}.{name}": v for name, v in g.items()})
        dE = np.zeros_like(p["E"])
        np.add.at(dE, inputs, dX)
        grads["E"] = dE
        return loss, grads

    def logits(self, inputs):
        return self._forward(inputs)[-1] @ self.params["W_out"] + self.params["b_out"]

    def start(self):
        return []

    def step(self, state, c):
        context = (state + [int(c)])[-self.T:]
        z = self.logits(np.array([context]))[0, -1]
        return context, z


# --- training and measuring ------------------------------------------------------------------

def heldout_nats(model, ids, length=CONTEXT, max_windows=None):
    """Mean nats per character on ``ids``: windows of ``length`` read from a zero state, the
    second half of each scored (stride ``length/2``), so every scored character has at least
    ``length/2`` characters of context. The same protocol for every model."""
    half = length // 2
    starts = np.arange(0, len(ids) - length - 1, half)
    if max_windows is None and quick():
        max_windows = 64
    if max_windows is not None:
        starts = starts[np.linspace(0, len(starts) - 1, max_windows).astype(int)]
    total, count = 0.0, 0
    for chunk in np.array_split(starts, max(1, len(starts) // 256)):
        idx = chunk[:, None] + np.arange(length + 1)
        inputs, targets = ids[idx[:, :-1]], ids[idx[:, 1:]]
        Z = model.logits(inputs)[:, half:]
        Z = Z - Z.max(axis=-1, keepdims=True)
        logp = Z - np.log(np.exp(Z).sum(axis=-1, keepdims=True))
        picked = np.take_along_axis(logp, targets[:, half:, None], axis=-1)
        total -= picked.sum()
        count += picked.size
    return total / count


def quick():
    """True when the tests run a notebook (``COURSE_QUICK=1``): train and measure briefly."""
    return os.environ.get("COURSE_QUICK", "") not in ("", "0")


def seconds(full):
    """``full`` seconds of training, or 2 when the tests run a notebook (:func:`quick`)."""
    return 2.0 if quick() else float(full)


def train(model, ids, *, seconds=None, steps=None, lr=LR, clip=5.0, batch=BATCH,
          length=CONTEXT, seed=0, every=None, callback=None, clock=time.perf_counter,
          optimizer=None):
    """Adam with global-norm clipping on random windows until ``seconds`` or ``steps`` run out.

    ``seconds`` are read on ``clock``: the wall clock in the notebook, the process's CPU time
    in the benchmark (``time.process_time``, which a busy machine does not stretch).
    ``callback(step, elapsed, loss)`` is called every ``every`` seconds (a progress bar and a
    live loss curve in the notebook). ``optimizer`` carries Adam's state over from an earlier
    call (a new one otherwise). Returns the list of (step, elapsed seconds, loss).
    """
    rng = np.random.default_rng(seed)
    opt = Adam(model.params, lr=lr) if optimizer is None else optimizer
    history, start, last = [], clock(), -np.inf
    step = 0
    while True:
        elapsed = clock() - start
        if (seconds is not None and elapsed >= seconds) or (steps is not None and step >= steps):
            break
        inputs, targets = windows(ids, batch, length, rng)
        loss, grads = model.loss_and_grads(inputs, targets)
        grads, _ = clipped(grads, clip)
        opt.step(grads)
        step += 1
        history.append((step, clock() - start, float(loss)))
        if callback is not None and (every is None or history[-1][1] - last >= every):
            last = history[-1][1]
            callback(*history[-1])
    return history


def race(model, train_ids, heldout_ids, vocab, sample_next, *, seconds, checkpoints=6,
         callback=None, clock=time.perf_counter, sample_length=240, windows_scored=400):
    """Train ``model`` for ``seconds`` in ``checkpoints`` equal stretches; after each, measure
    the held-out nats/char (on ``windows_scored`` windows spread over the held-out text) and
    sample a text at temperature 0.8. Measuring is not counted on the clock.

    Returns ``((seconds (k + 1,), nats (k + 1,)), [(seconds, text), ...])``, starting at 0 s.
    """
    if quick():
        checkpoints, sample_length, windows_scored = 2, 60, 32
    opt = Adam(model.params, lr=LR)
    times, nats, texts = [0.0], [heldout_nats(model, heldout_ids, max_windows=windows_scored)], []
    texts.append((0.0, generate(model, sample_next, vocab, "\n", sample_length, 0.8)))
    done, steps = 0.0, 0
    for k in range(checkpoints):
        def progress(step, elapsed, loss, offset=done, before=steps):
            if callback is not None:
                callback(before + step, offset + elapsed, loss)
        history = train(model, train_ids, seconds=seconds / checkpoints, seed=k, clock=clock,
                        optimizer=opt, callback=progress, every=1.0)
        steps += len(history)
        done += history[-1][1] if history else 0.0
        times.append(done)
        nats.append(heldout_nats(model, heldout_ids, max_windows=windows_scored))
        texts.append((done, generate(model, sample_next, vocab, "\n", sample_length, 0.8)))
    return (np.array(times), np.array(nats)), texts


def generate(model, sample_next, vocab, prompt="\n", n=300, temperature=0.8, seed=0):
    """``n`` characters after ``prompt``, each drawn with ``sample_next`` from the model."""
    rng = np.random.default_rng(seed)
    state, logits = model.start(), None
    for c in prompt_ids(prompt, vocab):
        state, logits = model.step(state, c)
    out = []
    for _ in range(n):
        c = sample_next(logits, temperature, rng)
        out.append(vocab[c])
        state, logits = model.step(state, c)
    return "".join(out)


def bigram_nats(train_ids, heldout_ids, V):
    """The add-one bigram baseline's held-out nats per character (every character scored)."""
    counts = np.ones((V, V))
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
    logp = np.log(counts / counts.sum(axis=1, keepdims=True))
    return -logp[heldout_ids[:-1], heldout_ids[1:]].mean()


def learning_results(quick=False, models=("char-RNN", "char-LSTM", "transformer")):
    """Held-out nats/char on the fixed split: the add-one bigram, then each model trained for
    5 minutes (the char-RNN measured at 2 minutes on the way), all with the notebook's batches,
    Adam and clipping. The clock is the process's CPU time with one BLAS thread, so the
    budget means "minutes of one core" whatever else the machine runs; ``quick`` trains each
    for a few seconds. ``seconds`` in a record is that CPU time."""
    from threadpoolctl import threadpool_limits

    from .. import char_rnn_loss_and_grads

    train_ids, heldout_ids, vocab = data.shakespeare()
    V = len(vocab)
    record = {"notebook": "12_language_model", "experiment": "Shakespeare characters",
              "metric": "heldout_nats_per_char"}
    yield {**record, "model": "add-one bigram",
           "value": float(bigram_nats(train_ids, heldout_ids, V)), "seconds": 0.0}
    builders = {"char-RNN": lambda: CharRNN(V, char_rnn_loss_and_grads),
                "char-LSTM": lambda: CharLSTM(V), "transformer": lambda: CharTransformer(V)}
    scale = 1 / 60 if quick else 1.0
    for name in models:
        model = builders[name]()
        opt, done = Adam(model.params, lr=LR), 0.0
        marks = (120, 300) if name == "char-RNN" else (300,)
        with threadpool_limits(1):
            for mark in marks:
                train(model, train_ids, seconds=(mark - done) * scale,
                                clock=time.process_time, optimizer=opt, seed=int(mark))
                done = mark
                yield {**record, "model": f"{name} ({mark // 60:g} min of one core)",
                       "value": float(heldout_nats(model, heldout_ids,
                                                   max_windows=64 if quick else None)),
                       "seconds": round(mark * scale, 1)}
