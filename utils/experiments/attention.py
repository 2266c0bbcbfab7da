"""Notebook 10's experiment: reversing a sequence, with attention and with a plain RNN.

The task: read T symbols from an alphabet of V and write them back in reverse order,
``target[t] = tokens[T - 1 - t]``. Every sequence is drawn uniformly at random, training
batches fresh at every step, the held-out sequences from a generator of their own.

Two models of about the same size (about 3,700 parameters) learn it with Adam:

- **attention**: one self-attention layer over the tokens' embeddings plus positional
  encodings, read out at every position (notebook 10's four steps, then a dense layer):

      X = E[tokens] + PE              (N, T, D)
      Q, K, V = X @ W_q, X @ W_k, X @ W_v
      out, A = attention(Q, K, V)     output position i gathers from input position j by A[i, j]
      logits = out @ W_o + b_o        (N, T, V), cross-entropy against the reversed tokens

  trained with the student's ``scaled_dot_product_attention`` and ``attention_backward``:
  to solve the task, position i has to attend to position T - 1 - i (an anti-diagonal map).
- **rnn**: the vanilla RNN of notebook 07 (``utils.rnn_forward`` / ``utils.rnn_backward``)
  reads the T symbols, then T steps of a blank symbol during which it writes the reversed
  sequence: everything it needs must pass through its one hidden state (the encoding
  bottleneck), and the first symbol read is the last one written.
"""
import time
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from ..reference.losses import softmax
from ..reference.optim import init_weights
from ..reference.rnn import clip_by_global_norm, rnn_backward, rnn_forward
from .adam import Adam

NOTEBOOKS = ("10_attention",)  # what the learning benchmark runs this module for

V_SYMBOLS = 10  # the alphabet
T_SEQ = 8  # sequence length
D_MODEL = 32  # attention model's width
H_RNN = 48  # the RNN's hidden size: about the attention model's number of parameters
STEPS = 1500  # full size; quick runs use fewer
BATCH = 64
N_TEST = 2000


def reversal_batch(n, rng, T=T_SEQ, V=V_SYMBOLS):
    """(tokens, targets), both (n, T) ints: random symbols and the same reversed."""
    tokens = rng.integers(0, V, size=(n, T))
    return tokens, tokens[:, ::-1].copy()


def test_set(n=N_TEST, T=T_SEQ, V=V_SYMBOLS, seed=12345):
    """The held-out sequences: their own generator, never used for training."""
    return reversal_batch(n, np.random.default_rng(seed), T, V)


# --- shared pieces -----------------------------------------------------------------------------

def _cross_entropy(logits, targets):
    """Mean cross-entropy over every position and its gradient; logits (N, T, V)."""
    P = softmax(logits, axis=-1)
    N, T, V = logits.shape
    picked = np.take_along_axis(P, targets[..., None], axis=-1)[..., 0]
    loss = float(-np.mean(np.log(np.maximum(picked, 1e-300))))
    dlogits = P.copy()
    np.put_along_axis(dlogits, targets[..., None], picked[..., None] - 1.0, axis=-1)
    return loss, dlogits / (N * T)


def _dense3(X, W):
    """X @ W over the last axis as one 2-D matmul."""
    return (X.reshape(-1, X.shape[-1]) @ W).reshape(*X.shape[:-1], W.shape[1])


def _dW(X, dZ):
    """X^T dZ summed over every (n, t) row."""
    return X.reshape(-1, X.shape[-1]).T @ dZ.reshape(-1, dZ.shape[-1])


@contextmanager
def one_thread():
    """Run numpy's matrix products on one thread. The experiments' matrices are tiny (tens of
    rows): a second BLAS thread has nothing to do but wait, and on a busy machine that
    waiting made training many times slower."""
    with threadpool_limits(1, user_api="blas"):
        yield


class Progress:
    """One line, rewritten in place: step, running loss, elapsed seconds (a text progress bar)."""

    def __init__(self, total, label, show=True, every=50):
        self.total, self.label, self.show, self.every = total, label, show, every
        self.start = time.perf_counter()

    def __call__(self, step, loss):
        if self.show and (step % self.every == 0 or step == self.total):
            done = step / self.total
            bar = "#" * int(30 * done) + "." * (30 - int(30 * done))
            print(f"\r{self.label} [{bar}] {step}/{self.total}  loss {loss:.3f}  "
                  f"{time.perf_counter() - self.start:.1f} s", end="", flush=True)
            if step == self.total:
                print()


# --- the attention model ---------------------------------------------------------------------

def init_attention(rng, V=V_SYMBOLS, D=D_MODEL):
    return {"E": init_weights((V, D), 1.0, rng),
            "W_q": init_weights((D, D), D ** -0.5, rng),
            "W_k": init_weights((D, D), D ** -0.5, rng),
            "W_v": init_weights((D, D), D ** -0.5, rng),
            "W_o": init_weights((D, V), D ** -0.5, rng), "b_o": np.zeros(V)}


def attention_forward(params, tokens, attention, PE):
    """Logits (N, T, V) and what the backward pass needs."""
    X = params["E"][tokens] + PE
    Q, K, Vv = (_dense3(X, params[k]) for k in ("W_q", "W_k", "W_v"))
    out, A = attention(Q, K, Vv)
    logits = _dense3(out, params["W_o"]) + params["b_o"]
    return logits, (tokens, X, Q, K, Vv, out, A)


def attention_loss_and_grads(params, tokens, targets, attention, backward, PE):
    logits, (tokens, X, Q, K, Vv, out, A) = attention_forward(params, tokens, attention, PE)
    loss, dlogits = _cross_entropy(logits, targets)
    grads = {"W_o": _dW(out, dlogits), "b_o": dlogits.sum(axis=(0, 1))}
    dout = _dense3(dlogits, params["W_o"].T)
    dQ, dK, dV = backward(dout, Q, K, Vv, A)
    dX = 0.0
    for key, d in (("W_q", dQ), ("W_k", dK), ("W_v", dV)):
        grads[key] = _dW(X, d)
        dX = dX + _dense3(d, params[key].T)
    dE = np.zeros_like(params["E"])
    np.add.at(dE, tokens.reshape(-1), dX.reshape(-1, dX.shape[-1]))  # each token's rows add up
    grads["E"] = dE
    return loss, grads


def train_attention(attention, backward, positional_encoding, steps=STEPS, batch=BATCH,
                    lr=1e-2, seed=0, show=True):
    """Train the attention model on reversal; returns (params, losses, predict, attend).

    ``predict(tokens)`` gives the predicted symbols (N, T); ``attend(tokens)`` the attention
    weights (N, T, T).
    """
    rng = np.random.default_rng(seed)
    PE = positional_encoding(T_SEQ, D_MODEL)
    params = init_attention(rng)
    adam = Adam(params, lr)
    losses = []
    progress = Progress(steps, "attention", show)
    with one_thread():
        for step in range(1, steps + 1):
            tokens, targets = reversal_batch(batch, rng)
            loss, grads = attention_loss_and_grads(params, tokens, targets, attention,
                                                   backward, PE)
            adam.step(grads)
            losses.append(loss)
            progress(step, np.mean(losses[-50:]))

    def predict(tokens):
        return attention_forward(params, tokens, attention, PE)[0].argmax(axis=-1)

    def attend(tokens):
        return attention_forward(params, tokens, attention, PE)[1][-1]

    return params, np.array(losses), predict, attend


# --- the RNN baseline ------------------------------------------------------------------------

def _rnn_inputs(tokens, V=V_SYMBOLS):
    """One-hot symbols, then T blank steps (symbol V): (N, 2T, V + 1)."""
    N, T = tokens.shape
    X = np.zeros((N, 2 * T, V + 1))
    X[np.arange(N)[:, None], np.arange(T), tokens] = 1.0
    X[:, T:, V] = 1.0
    return X


def init_rnn(rng, V=V_SYMBOLS, H=H_RNN):
    return {"W_xh": init_weights((V + 1, H), 1.0, rng),
            "W_hh": init_weights((H, H), H ** -0.5, rng), "b_h": np.zeros(H),
            "W_hy": init_weights((H, V), H ** -0.5, rng), "b_y": np.zeros(V)}


def rnn_loss_and_grads(params, tokens, targets):
    T = tokens.shape[1]
    X = _rnn_inputs(tokens)
    h0 = np.zeros((len(tokens), params["W_hh"].shape[0]))
    H_all, Y = rnn_forward(X, h0, params)
    loss, dY_out = _cross_entropy(Y[:, T:], targets)  # only the writing half is scored
    dY = np.zeros_like(Y)
    dY[:, T:] = dY_out
    grads = rnn_backward(_dense3(dY, params["W_hy"].T), X, h0, H_all, params)
    grads = {k: grads[k] for k in ("W_xh", "W_hh", "b_h")}
    grads["W_hy"] = _dW(H_all, dY)
    grads["b_y"] = dY.sum(axis=(0, 1))
    return loss, grads


def train_rnn(steps=STEPS, batch=BATCH, lr=1e-2, clip=5.0, seed=0, show=True):
    """Train the RNN on reversal (Adam, gradients clipped); returns (params, losses, predict)."""
    rng = np.random.default_rng(seed)
    params = init_rnn(rng)
    adam = Adam(params, lr)
    losses = []
    progress = Progress(steps, "RNN      ", show)
    with one_thread():
        for step in range(1, steps + 1):
            tokens, targets = reversal_batch(batch, rng)
            loss, grads = rnn_loss_and_grads(params, tokens, targets)
            grads, _ = clip_by_global_norm(grads, clip)
            adam.step(grads)
            losses.append(loss)
            progress(step, np.mean(losses[-50:]))

    def predict(tokens):
        X = _rnn_inputs(tokens)
        _, Y = rnn_forward(X, np.zeros((len(tokens), params["W_hh"].shape[0])), params)
        return Y[:, tokens.shape[1]:].argmax(axis=-1)

    return params, np.array(losses), predict


def accuracy(predict, tokens, targets):
    """(share of symbols right, share of whole sequences right)."""
    right = predict(tokens) == targets
    return float(right.mean()), float(right.all(axis=1).mean())


def n_params(params):
    return int(sum(v.size for v in params.values()))


def learning_results(quick=False):
    """Held-out symbol accuracy of both models (attention trained with the references)."""
    from ..reference.attention import (attention_backward, positional_encoding,
                                       scaled_dot_product_attention)

    steps = 150 if quick else STEPS
    tokens, targets = test_set()
    start = time.perf_counter()
    _, _, predict, _ = train_attention(scaled_dot_product_attention, attention_backward,
                                       positional_encoding, steps=steps, show=False)
    yield {"notebook": "10_attention", "experiment": "reversal", "model": "attention",
           "metric": "test_accuracy", "value": accuracy(predict, tokens, targets)[0],
           "seconds": time.perf_counter() - start}
    start = time.perf_counter()
    _, _, predict = train_rnn(steps=steps, show=False)
    yield {"notebook": "10_attention", "experiment": "reversal", "model": "rnn",
           "metric": "test_accuracy", "value": accuracy(predict, tokens, targets)[0],
           "seconds": time.perf_counter() - start}
