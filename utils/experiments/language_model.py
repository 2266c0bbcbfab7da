"""Notebook 12's experiment: character-level language models of Shakespeare, trained in numpy.

Three models read the same characters and predict the next one at every position:

    char-RNN      E -> tanh RNN (notebook 07/08) -> logits       the student's loss and gradients
    char-LSTM     E -> LSTM (notebook 09) -> logits              utils' references
    transformer   E + positions -> pre-norm blocks (notebook 11) with the causal mask -> logits

The recurrent models read the training text (the first 90%) as streams, batches that continue
each other (:func:`streams`), and carry their state from one batch to the next, as truncated
backpropagation through time does (notebook 08), so they learn from more context than a window
holds; the transformer, which sees one window at a time (its context), trains on random
windows (:func:`random_windows`). All are trained by Adam with global-norm clipping and a
learning rate that decays along a cosine over the budget (each model's batch shape and step
size in ``model.training``), and measured on the held-out text (the last 10%) in nats per
character with one protocol for all: windows of ``T`` characters read from a zero state, scoring
the second half of each window, so every scored character has at least ``T/2`` characters of
context (:func:`heldout_nats`).
"""
import os
import time

import numpy as np

from .. import data
from ..reference.attention import positional_encoding
from ..reference.gated import lstm_backward, lstm_states
from ..reference.losses import cross_entropy_grad, cross_entropy_loss
from ..reference.transformer import transformer_block, transformer_block_backward
from .adam import Adam

# What every figure of the notebook and the benchmark uses (see the notebook's section 5).
NOTEBOOKS = ("12_language_model",)
BATCH, CONTEXT = 32, 64


# --- data ------------------------------------------------------------------------------------

def streams(ids, batch, length, rng):
    """Batches that continue each other: the text cut into ``batch`` equal parts read side by
    side, ``length`` characters a batch, so row k of a batch goes on where row k of the one
    before stopped, and a model's last state is the right start for the next batch.

    Yields ``(inputs, targets, fresh)`` for ever: (batch, length) ids, the targets shifted by
    one, and whether the batch starts a pass through the text (continues nothing: start from a
    zero state). Each pass starts at a random offset below ``length``, so that the cuts between
    batches move from pass to pass.
    """
    while True:
        offset = int(rng.integers(0, length))
        part = (len(ids) - offset - 1) // batch
        starts = offset + part * np.arange(batch)
        for pos in range(0, part - length, length):
            chunk = ids[starts[:, None] + pos + np.arange(length + 1)]
            yield chunk[:, :-1], chunk[:, 1:], pos == 0


def random_windows(ids, batch, length, rng):
    """Batches of ``batch`` windows of ``length`` characters from anywhere in the text, for a
    model that carries no state: every batch mixes places far apart. Yields ``(inputs, targets,
    True)`` for ever, as :func:`streams` does (each batch continues nothing)."""
    while True:
        starts = rng.integers(0, len(ids) - length - 1, size=batch)
        chunk = ids[starts[:, None] + np.arange(length + 1)]
        yield chunk[:, :-1], chunk[:, 1:], True


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

def cosine(lr, fraction):
    """The step size ``fraction`` of the way through training: ``lr`` at the start, decaying
    along half a cosine to 2% of it at the end. Large steps early cover ground; small steps
    late settle into a minimum instead of rattling around it."""
    return lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * min(1.0, fraction))))


def clipped(grads, max_norm):
    """Gradients scaled to global L2 norm ``max_norm`` at most (notebook 08), and the norm."""
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
    scale = min(1.0, max_norm / (norm + 1e-6))  # PyTorch's clip_grad_norm_ adds 1e-6 too
    return ({k: g * scale for k, g in grads.items()} if scale < 1 else grads), norm


# --- models ----------------------------------------------------------------------------------

# How the recurrent models train: streams of 64 rows of 32 characters, the state carried (it
# brings the longer context), a larger step, and Adam's average of g^2 over ~100 steps.
# Measured on 5 minutes of one core: the LSTM 1.60 nats, where 32 rows of 64 at 2e-3 with
# PyTorch's betas reached 1.74; the char-RNN at 2 minutes 1.63 against 1.72.
RECURRENT = {"batches": streams, "batch": 64, "length": 32, "lr": 4e-3, "betas": (0.9, 0.99)}


def _normal(rng, shape, std):
    return std * rng.standard_normal(shape)


class CharRNN:
    """The char-RNN of notebook 12, trained with a ``char_rnn_loss_and_grads`` passed in.
    Its state is h (N, H), carried from batch to batch."""

    name = "char-RNN"
    training = RECURRENT

    def __init__(self, V, loss_and_grads, H=256, D=32, seed=0, **training):
        rng = np.random.default_rng(seed)
        self.loss_and_grads_fn = loss_and_grads
        self.params = {"E": _normal(rng, (V, D), 1.0), "W_xh": _normal(rng, (D, H), D ** -0.5),
                       "W_hh": np.linalg.qr(rng.standard_normal((H, H)))[0],
                       "b_h": np.zeros(H), "W_hy": _normal(rng, (H, V), H ** -0.5),
                       "b_y": np.zeros(V)}
        self.H = H
        self.training = {**self.training, **training}

    def loss_and_grads(self, inputs, targets, state=None):
        """(loss, grads, h_T) on a batch, from ``state`` (zeros if None)."""
        h0 = np.zeros((len(inputs), self.H)) if state is None else state
        return self.loss_and_grads_fn(inputs, targets, h0, self.params)

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
    """Embedding -> LSTM (utils' reference of notebook 09) -> logits. Its state is (h, c),
    carried from batch to batch."""

    name = "char-LSTM"
    training = RECURRENT

    def __init__(self, V, H=192, D=32, seed=0, **training):
        rng = np.random.default_rng(seed)
        b = np.zeros(4 * H)
        b[H:2 * H] = 1.0  # forget gate open at the start: remember by default
        self.params = {"E": _normal(rng, (V, D), 1.0), "W_x": _normal(rng, (D, 4 * H), D ** -0.5),
                       "W_h": _normal(rng, (H, 4 * H), H ** -0.5), "b": b,
                       "W_hy": _normal(rng, (H, V), H ** -0.5), "b_y": np.zeros(V)}
        self.H = H
        self.training = {**self.training, **training}

    def _forward(self, inputs, state=None):
        p = self.params
        X = p["E"][inputs]
        zeros = np.zeros((len(inputs), self.H))
        h0, c0 = (zeros, zeros) if state is None else state
        return (X, h0, c0, *lstm_states(X, h0, c0, p))

    def loss_and_grads(self, inputs, targets, state=None):
        """(loss, grads, (h_T, c_T)) on a batch, from ``state`` (zeros if None)."""
        p = self.params
        N, T = inputs.shape
        X, h0, c0, H_all, h_last, c_last = self._forward(inputs, state)
        rows = H_all.reshape(N * T, self.H)
        loss, dZ = _softmax_xent(rows @ p["W_hy"] + p["b_y"], targets.reshape(-1))
        dH = (dZ @ p["W_hy"].T).reshape(N, T, self.H)
        g = lstm_backward(dH, X, h0, c0, p)
        dE = np.zeros_like(p["E"])
        np.add.at(dE, inputs, g["X"])
        return loss, {"E": dE, "W_x": g["W_x"], "W_h": g["W_h"], "b": g["b"],
                      "W_hy": rows.T @ dZ, "b_y": dZ.sum(axis=0)}, (h_last, c_last)

    def logits(self, inputs):
        H_all = self._forward(inputs)[3]
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
    # measured on 5 minutes of one core: 1.73 nats; 1.78 at 2e-3 with PyTorch's betas
    training = {"batches": random_windows, "batch": BATCH, "length": CONTEXT, "lr": 3e-3,
                "betas": (0.9, 0.99)}

    def __init__(self, V, D=96, n_blocks=2, n_heads=4, F=384, T=CONTEXT, seed=0, **training):
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
        self.training = {**self.training, **training}

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

    def loss_and_grads(self, inputs, targets, state=None):
        """(loss, grads, None) on a batch: a window is all the context it has, so it carries
        no state (``state`` is ignored)."""
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
        return loss, grads, None

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


def train(model, ids, *, seconds=None, steps=None, clip=5.0, seed=0, every=None,
          callback=None, clock=time.perf_counter, optimizer=None, batches=None, schedule=None):
    """Adam with global-norm clipping until ``seconds`` or ``steps`` run out, on the model's
    batches (``model.training``: :func:`streams` for the recurrent models, whose state is
    carried from each batch to the next, from zeros at the start of this call and of each pass;
    :func:`random_windows` for the transformer).

    The step size follows ``schedule(fraction)`` over this call's budget (``fraction`` from 0
    to 1 of ``seconds`` or ``steps``); by default :func:`cosine` from the model's ``lr``.
    ``seconds`` are read on ``clock``: the wall clock in the notebook, the process's CPU time
    in the benchmark (``time.process_time``, which a busy machine does not stretch).
    ``callback(step, elapsed, loss)`` is called every ``every`` seconds (a progress bar and a
    live loss curve in the notebook). ``optimizer`` and ``batches`` (an earlier call's) carry
    Adam's state and the place in the text over (new ones otherwise). Returns the list of
    (step, elapsed seconds, loss).
    """
    settings = model.training
    if schedule is None:
        schedule = lambda fraction: cosine(settings["lr"], fraction)  # noqa: E731
    if batches is None:
        batches = _batches(model, ids, seed)
    opt = _adam(model) if optimizer is None else optimizer
    history, start, last, state = [], clock(), -np.inf, None
    step = 0
    while True:
        elapsed = clock() - start
        if (seconds is not None and elapsed >= seconds) or (steps is not None and step >= steps):
            break
        opt.lr = schedule(elapsed / seconds if seconds is not None else step / steps)
        inputs, targets, fresh = next(batches)
        loss, grads, state = model.loss_and_grads(inputs, targets, None if fresh else state)
        grads, _ = clipped(grads, clip)
        opt.step(grads)
        step += 1
        history.append((step, clock() - start, float(loss)))
        if callback is not None and (every is None or history[-1][1] - last >= every):
            last = history[-1][1]
            callback(*history[-1])
    return history


def _batches(model, ids, seed):
    """The model's batches (``model.training``: :func:`streams` or :func:`random_windows`)."""
    settings = model.training
    return settings["batches"](ids, settings["batch"], settings["length"],
                               np.random.default_rng(seed))


def _adam(model):
    """Adam on the model's weights with its own step size and betas."""
    return Adam(model.params, lr=model.training["lr"], betas=model.training["betas"])


def contenders(V, char_rnn_loss_and_grads):
    """The three models of the race. The char-RNN is section 5's with the size that trained
    best in 5 minutes of one core among those tried (H 256-512, D 32-192): wider, and with a
    larger embedding."""
    return [CharRNN(V, char_rnn_loss_and_grads, H=448, D=128), CharLSTM(V), CharTransformer(V)]


def race(model, train_ids, heldout_ids, vocab, sample_next, *, seconds, checkpoints=6,
         callback=None, clock=time.perf_counter, sample_length=240, windows_scored=400):
    """Train ``model`` for ``seconds`` in ``checkpoints`` equal stretches (one step-size
    schedule over the whole budget, the place in the text kept); after each, measure the
    held-out nats/char (on ``windows_scored`` windows spread over the held-out text) and sample
    a text at temperature 0.8. Measuring is not counted on the clock.

    Returns ``((seconds (k + 1,), nats (k + 1,)), [(seconds, text), ...])``, starting at 0 s.
    """
    if quick():
        checkpoints, sample_length, windows_scored = 2, 60, 32
    settings = model.training
    opt = _adam(model)
    batches = _batches(model, train_ids, 0)
    times, nats, texts = [0.0], [heldout_nats(model, heldout_ids, max_windows=windows_scored)], []
    texts.append((0.0, generate(model, sample_next, vocab, "\n", sample_length, 0.8)))
    done, steps, stretch = 0.0, 0, seconds / checkpoints
    for k in range(checkpoints):
        def progress(step, elapsed, loss, offset=done, before=steps):
            if callback is not None:
                callback(before + step, offset + elapsed, loss)
        history = train(model, train_ids, seconds=stretch, clock=clock, optimizer=opt,
                        batches=batches, callback=progress, every=1.0,
                        schedule=lambda f, k=k: cosine(settings["lr"], (k + f) / checkpoints))
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


def learning_results(quick=False):
    """Held-out nats/char on the fixed split: the add-one bigram; notebook 12's section 5
    (the char-RNN as the student trains it, 2 minutes); then the race's three models
    (:func:`contenders`), 5 minutes each. The clock is the process's CPU time with one BLAS
    thread, so a budget means "minutes of one core" whatever else the machine runs; ``quick``
    trains each for a few seconds. ``seconds`` in a record is that CPU time."""
    from threadpoolctl import threadpool_limits

    from .. import char_rnn_loss_and_grads

    train_ids, heldout_ids, vocab = data.shakespeare()
    V = len(vocab)
    record = {"notebook": "12_language_model", "experiment": "Shakespeare characters",
              "metric": "heldout_nats_per_char"}
    yield {**record, "model": "add-one bigram",
           "value": float(bigram_nats(train_ids, heldout_ids, V)), "seconds": 0.0}
    scale = 1 / 60 if quick else 1.0
    runs = [("char-RNN, section 5", CharRNN(V, char_rnn_loss_and_grads), 120)]
    runs += [(model.name, model, 300) for model in contenders(V, char_rnn_loss_and_grads)]
    for label, model, budget in runs:
        with threadpool_limits(1):
            train(model, train_ids, seconds=budget * scale, clock=time.process_time)
            nats = heldout_nats(model, heldout_ids, max_windows=64 if quick else None)
        yield {**record, "model": f"{label} ({budget // 60:g} min of one core)",
               "value": float(nats), "seconds": round(budget * scale, 1)}
