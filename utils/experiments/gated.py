"""Notebook 09's experiment: the adding problem, an LSTM against a tanh RNN.

The task (Hochreiter & Schmidhuber, 1997): each input step carries two numbers, a value
drawn uniformly from [0, 1] and a marker that is 1 at exactly two steps (one in each half of
the sequence) and 0 elsewhere. The target, read after the last step, is the sum of the two
marked values, in [0, 2]. Guessing the mean, 1, scores an MSE of Var(u1 + u2) = 2/12 = 0.167:
a model only beats that by carrying the first marked value across half the sequence.

Both models read the last hidden state with a linear layer, ``y = h_T @ W_y + b_y``, and
train on the mean squared error with Adam and gradient clipping by global norm, on fresh
batches every step (the task has unlimited data; the test set is a fixed held-out draw).

The LSTM runs on the graded functions passed in (``lstm_forward``, ``lstm_backward``: a
student's, or the reference through ``yours_or_reference``); the RNN on notebook 07/08's
``utils.rnn_forward`` / ``utils.rnn_backward``; clipping is 08's ``utils.clip_by_global_norm``.

Full size (``learning_results``): T = 200, H = 32, batches of 64, the same number of Adam
steps for both models. Shortened runs honour ``COURSE_QUICK=1`` (the tests set it).
"""
import os
import time

import numpy as np

import utils

from .adam import Adam

NOTEBOOKS = ("09_lstm_gru",)
BASELINE = 1.0 / 6.0  # MSE of always answering 1: Var(u1 + u2) = 2 * (1/12)

# the full-size run of the learning goals; see learning_results
FULL = {"T": 200, "hidden": 32, "batch": 64, "steps": 1500, "lr": 1e-2, "clip": 1.0}


def quick():
    """True when the environment asks for shortened runs (COURSE_QUICK=1, set by the tests)."""
    return os.environ.get("COURSE_QUICK", "") not in ("", "0")


def adding_problem(N, T, rng):
    """N sequences of the adding problem of length T.

    Returns ``X (N, T, 2)``: column 0 the values u_t ~ U[0, 1], column 1 the markers (1 at one
    step of the first half and one of the second, else 0); and ``y (N, 1)``, the sum of the
    two marked values.
    """
    if T < 2:
        raise ValueError(f"T is {T}: the adding problem needs T >= 2")
    X = np.zeros((N, T, 2))
    X[:, :, 0] = rng.uniform(0.0, 1.0, (N, T))
    rows = np.arange(N)
    first = rng.integers(0, T // 2, N)
    second = rng.integers(T // 2, T, N)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = X[rows, first, 0] + X[rows, second, 0]
    return X, y[:, None]


def _orthogonal(n, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def init_lstm(D, H, rng, forget_bias=1.0):
    """LSTM weights (PyTorch's uniform(-1/sqrt(H), 1/sqrt(H)) init), the forget gate's bias
    raised to ``forget_bias`` so that the cell keeps its contents from the start, and a
    linear read-out ``W_y (H, 1)``, ``b_y (1,)``."""
    k = 1.0 / np.sqrt(H)
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias
    return {"W_x": rng.uniform(-k, k, (D, 4 * H)), "W_h": rng.uniform(-k, k, (H, 4 * H)),
            "b": b, "W_y": rng.uniform(-k, k, (H, 1)), "b_y": np.zeros(1)}


def init_rnn(D, H, rng):
    """tanh RNN weights: orthogonal W_hh (spectral radius 1, the best start for long
    sequences), small W_xh, zero biases, a linear read-out W_hy (H, 1)."""
    k = 1.0 / np.sqrt(H)
    return {"W_xh": rng.uniform(-k, k, (D, H)), "W_hh": _orthogonal(H, rng),
            "b_h": np.zeros(H), "W_hy": rng.uniform(-k, k, (H, 1)), "b_y": np.zeros(1)}


def lstm_model(lstm_forward, lstm_backward):
    """``(predict, loss_and_grads)`` of an LSTM with a read-out of h_T, on the given functions."""
    core_keys = ("W_x", "W_h", "b")

    def predict(params, X):
        zeros = np.zeros((len(X), params["W_h"].shape[0]))
        core = {k: params[k] for k in core_keys}
        h_T = lstm_forward(X, zeros, zeros, core)[:, -1]
        return h_T @ params["W_y"] + params["b_y"], h_T

    def loss_and_grads(params, X, y):
        pred, h_T = predict(params, X)
        dpred = 2.0 * (pred - y) / y.size
        dH = np.zeros((len(X), X.shape[1], h_T.shape[1]))
        dH[:, -1] = dpred @ params["W_y"].T  # only the last step is read out
        zeros = np.zeros_like(h_T)
        grads = lstm_backward(dH, X, zeros, zeros, {k: params[k] for k in core_keys})
        grads = {k: grads[k] for k in core_keys}
        grads.update(W_y=h_T.T @ dpred, b_y=dpred.sum(axis=0))
        return float(np.mean((pred - y) ** 2)), grads

    return predict, loss_and_grads


def rnn_model():
    """``(predict, loss_and_grads)`` of notebook 07's tanh RNN read out at h_T."""

    def forward(params, X):
        h0 = np.zeros((len(X), params["W_hh"].shape[0]))
        H_all, Y = utils.rnn_forward(X, h0, params)
        return Y[:, -1], H_all, h0

    def predict(params, X):
        return forward(params, X)[0], None

    def loss_and_grads(params, X, y):
        pred, H_all, h0 = forward(params, X)
        dpred = 2.0 * (pred - y) / y.size
        dH = np.zeros_like(H_all)
        dH[:, -1] = dpred @ params["W_hy"].T
        grads = utils.rnn_backward(dH, X, h0, H_all, params)
        grads = {k: grads[k] for k in ("W_xh", "W_hh", "b_h")}
        grads.update(W_hy=H_all[:, -1].T @ dpred, b_y=dpred.sum(axis=0))
        return float(np.mean((pred - y) ** 2)), grads

    return predict, loss_and_grads


def mse(predict, params, X, y):
    return float(np.mean((predict(params, X)[0] - y) ** 2))


def train(model, params, T, steps, batch=64, lr=1e-2, clip=1.0, seed=0, test=None,
          eval_every=50, seconds=None, progress=None):
    """Train ``model = (predict, loss_and_grads)`` on fresh adding-problem batches.

    Each step: a batch of ``batch`` sequences of length T, the loss and gradients, clipping
    to global norm ``clip`` (08's ``utils.clip_by_global_norm``), one Adam step. Every
    ``eval_every`` steps the MSE on ``test = (X, y)`` is recorded. Stops after ``steps``
    steps or ``seconds`` of training, whichever comes first. ``progress(step, steps, loss,
    test_mse)`` is called at every evaluation (for a live display).

    Returns ``(params, history)``, history with lists ``step``, ``loss`` (the training loss,
    averaged since the previous evaluation), ``test_mse``, ``grad_norm`` (the norm before
    clipping, every step) and ``seconds`` (the training time).
    """
    predict, loss_and_grads = model
    rng = np.random.default_rng(seed)
    params = {k: np.array(v, dtype=float) for k, v in params.items()}  # the caller's stay
    optimiser = Adam(params, lr)
    history = {"step": [], "loss": [], "test_mse": [], "grad_norm": [], "seconds": 0.0}
    losses = []
    start = time.perf_counter()
    step = 0
    while step < steps:
        X, y = adding_problem(batch, T, rng)
        loss, grads = loss_and_grads(params, X, y)
        grads, norm = utils.clip_by_global_norm(grads, clip)
        optimiser.step(grads)
        losses.append(loss)
        history["grad_norm"].append(norm)
        step += 1
        out_of_time = seconds is not None and time.perf_counter() - start > seconds
        if step % eval_every == 0 or step == steps or out_of_time:
            history["step"].append(step)
            history["loss"].append(float(np.mean(losses)))
            history["test_mse"].append(mse(predict, params, *test) if test else float("nan"))
            losses = []
            if progress is not None:
                progress(step, steps, history["loss"][-1], history["test_mse"][-1])
        if out_of_time:
            break
    history["seconds"] = time.perf_counter() - start
    return params, history


def compare(lstm_forward, lstm_backward, T, steps, hidden=32, batch=64, lr=1e-2, clip=1.0,
            n_test=1000, seed=0, eval_every=50, seconds=None, progress=None):
    """Train an LSTM (on the functions given) and a tanh RNN with the same length, data,
    steps and optimiser; returns ``{"lstm": (params, history), "rnn": (...)}`` and the test
    set. ``progress(name, step, steps, loss, test_mse)`` reports both runs."""
    test = adding_problem(n_test, T, np.random.default_rng(10_000 + seed))
    runs = {}
    for name, model, init in (("lstm", lstm_model(lstm_forward, lstm_backward), init_lstm),
                              ("rnn", rnn_model(), init_rnn)):
        params = init(2, hidden, np.random.default_rng(seed))
        report = None if progress is None else (
            lambda *a, name=name: progress(name, *a))
        runs[name] = train(model, params, T, steps, batch, lr, clip, seed, test, eval_every,
                           seconds, report)
    return runs, test


class ProgressBar:
    """A progress bar with the live loss, for a notebook: ``bar = ProgressBar(); display(bar)``
    shows it; pass ``bar.update`` as ``compare``'s ``progress``. Text in a terminal."""

    def __init__(self):
        import ipywidgets as widgets

        self.bar = widgets.FloatProgress(min=0.0, max=1.0, description="",
                                         layout=widgets.Layout(width="300px"))
        self.label = widgets.Label("")
        self.widget = widgets.HBox([self.bar, self.label])
        self.started = time.perf_counter()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def update(self, name, step, steps, loss, test_mse):
        self.bar.description = name.upper()
        self.bar.value = step / steps
        self.label.value = (f"step {step}/{steps}   training loss {loss:.4f}   "
                            f"test MSE {test_mse:.4f}   "
                            f"({time.perf_counter() - self.started:.0f} s)")


def learning_results(quick=False):
    """The learning goal of notebook 09: the LSTM's and the RNN's test MSE on the adding
    problem at T = 200 after the same number of Adam steps (``FULL``), and the constant
    guess. ``quick``: T = 10, H = 8, batches of 32, 100 steps (seconds): the machinery only."""
    import sys

    size = dict(FULL, T=10, hidden=8, batch=32, steps=100) if quick else FULL

    def log(name, step, steps, loss, test_mse):  # a long run says how far it got
        if step % 250 == 0 or step == steps:
            print(f"  09 {name}: step {step}/{steps}, test MSE {test_mse:.4f}", file=sys.stderr,
                  flush=True)

    runs, (X_test, y_test) = compare(utils.lstm_forward, utils.lstm_backward, size["T"],
                                     size["steps"], size["hidden"], size["batch"], size["lr"],
                                     size["clip"], progress=log)
    experiment = (f"adding problem, T = {size['T']}, H = {size['hidden']}, batch "
                  f"{size['batch']}, {size['steps']} Adam steps (lr {size['lr']:g}, clip "
                  f"{size['clip']:g})")
    yield {"notebook": "09_lstm_gru", "experiment": experiment, "model": "constant guess 1",
           "metric": "test_mse", "value": float(np.mean((y_test - 1.0) ** 2)), "seconds": 0.0}
    for name, model in (("lstm", "LSTM"), ("rnn", "tanh RNN (orthogonal W_hh)")):
        _, history = runs[name]
        yield {"notebook": "09_lstm_gru", "experiment": experiment, "model": model,
               "metric": "test_mse", "value": history["test_mse"][-1],
               "seconds": round(history["seconds"], 3)}
