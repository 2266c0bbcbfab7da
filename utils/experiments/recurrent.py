"""Recurrent networks reading the handwritten digits row by row (notebooks 07 and 08).

Each 8x8 digit becomes a sequence of T = 8 steps, one row of D = 8 pixels per step; the network
reads the rows top to bottom and its last state h_T (many-to-one) is read out into 10 class
scores. Same split as notebook 06 (``utils.data.digits()``: 1348 training, 449 test digits).

- Notebook 07: a *random* RNN (H = 64, recurrent weights of a chosen spectral radius), only the
  linear read-out trained, in closed form (ridge regression on one-hot targets).
- Notebook 08: the whole RNN trained with backpropagation through time, mini-batch SGD with
  momentum and clipping by global norm, softmax cross-entropy on the last step.

The functions take the graded functions they run (``rnn_forward``, ``rnn_backward``,
``clip_by_global_norm``, ``dense_backward``) as arguments: the notebooks pass the student's.

Small matrices: one BLAS thread is faster than two fighting for a busy machine's cores (a
training run measured 3x faster), so training and sweeps run under ``one_thread()``.
"""
import contextlib
import os
import time

import numpy as np

from ..data import digits

# Short runs: in the tests (COURSE_QUICK=1), and when nbgrader executes a notebook to grade or
# validate it (the experiments earn no points; a class's submissions are graded faster).
QUICK = (os.environ.get("COURSE_QUICK", "") not in ("", "0")
         or os.environ.get("NBGRADER_EXECUTION") in ("autograde", "validate"))
NOTEBOOKS = ("07_recurrent_neural_networks", "08_backpropagation_through_time")
H = 64  # hidden units, in 07's random network and 08's trained one alike
INPUT_SCALE = 0.25  # the random input weights' standard deviation
RIDGE = 1e-2  # the read-out's ridge penalty (07)
FULL_EPOCHS = 30  # notebook 08's training (and 06's, for comparison)
EPOCHS = 3 if QUICK else FULL_EPOCHS  # what the notebooks run (3 in the tests)
SGD = dict(epochs=EPOCHS, lr=0.05, momentum=0.9, batch_size=32, max_norm=1.0)  # 08's recipe


def one_thread():
    """A context in which numpy's BLAS uses one thread (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def progress_bar(total, description="training"):
    """Show a progress bar with a live text (an ipywidgets row) and return a callback
    ``progress(done, total, loss=None, accuracy=None)`` that moves it."""
    import ipywidgets as widgets
    from IPython.display import display

    bar = widgets.IntProgress(value=0, min=0, max=total, description=description)
    text = widgets.Label(value="")
    display(widgets.HBox([bar, text]))
    start = time.perf_counter()

    def progress(done, total=total, loss=None, accuracy=None):
        bar.value = done
        parts = [f"{done}/{total}", f"{time.perf_counter() - start:.1f} s"]
        if loss is not None:
            parts.append(f"loss {loss:.4f}")
        if accuracy is not None:
            parts.append(f"test accuracy {accuracy:.1%}")
        text.value = "   ".join(parts)

    return progress


def digit_rows():
    """``(S_train (1348, 8, 8), y_train, S_test (449, 8, 8), y_test)``: every digit as a
    sequence of its 8 rows (step t = row t, top first), pixels in [0, 1]."""
    X_train, y_train, X_test, y_test = digits()
    return X_train.reshape(-1, 8, 8), y_train, X_test.reshape(-1, 8, 8), y_test


# --- notebook 07: a random network and a trained read-out -------------------------------------

def random_rnn(rho, rng, D=8, H=H, K=10, input_scale=INPUT_SCALE):
    """Random RNN parameters whose recurrent matrix has spectral radius ``rho``.

    W_hh = rho * V / max|eig(V)| for a Gaussian V (its eigenvalues then fill a disc of radius
    rho); W_xh ~ N(0, input_scale^2); b_h = 0; the read-out W_hy, b_y zeros (to be trained).
    """
    V = rng.standard_normal((H, H))
    V /= np.max(np.abs(np.linalg.eigvals(V)))
    return {"W_xh": input_scale * rng.standard_normal((D, H)), "W_hh": rho * V,
            "b_h": np.zeros(H), "W_hy": np.zeros((H, K)), "b_y": np.zeros(K)}


def last_states(rnn_forward, S, params):
    """h_T for every sequence, (N, H): the network's summary of the whole digit."""
    H_all, _ = rnn_forward(S, np.zeros((len(S), params["W_hh"].shape[0])), params)
    return np.asarray(H_all)[:, -1]


def ridge_readout(F, y, lam=RIDGE, K=10):
    """The linear read-out scores = F @ W + b closest to one-hot targets, in closed form:

        [W; b] = (A^T A + lam I)^-1 A^T Y,    A = [F 1]  (N, H + 1),  Y = onehot(y) (N, K)

    (the bias is penalised too; with lam small it hardly matters). Returns ``(W, b)``.
    """
    A = np.hstack([F, np.ones((len(F), 1))])
    Y = np.eye(K)[y]
    Wb = np.linalg.solve(A.T @ A + lam * np.eye(A.shape[1]), A.T @ Y)
    return Wb[:-1], Wb[-1]


def accuracy(scores, y):
    return float(np.mean(np.argmax(scores, axis=1) == y))


def reservoir_accuracy(rnn_forward, rho, seed=0, data=None, lam=RIDGE):
    """Test accuracy of a random RNN (spectral radius ``rho``) with a ridge read-out of h_T."""
    S_train, y_train, S_test, y_test = digit_rows() if data is None else data
    params = random_rnn(rho, np.random.default_rng(seed))
    with one_thread():
        F_train = last_states(rnn_forward, S_train, params)
        F_test = last_states(rnn_forward, S_test, params)
        W, b = ridge_readout(F_train, y_train, lam)
        return accuracy(F_test @ W + b, y_test)


def spectral_sweep(rnn_forward, rhos, seeds=(0, 1, 2), data=None, progress=None):
    """``reservoir_accuracy`` for every spectral radius and seed: (len(rhos), len(seeds)).
    ``progress(done, total)`` is called after each spectral radius."""
    data = digit_rows() if data is None else data
    table = []
    for i, rho in enumerate(rhos):
        table.append([reservoir_accuracy(rnn_forward, rho, seed, data) for seed in seeds])
        if progress is not None:
            progress(i + 1, len(rhos))
    return np.array(table)


def pixel_ridge_accuracy(data=None, lam=RIDGE):
    """The same closed-form read-out on the 64 raw pixels: a linear classifier, no RNN."""
    S_train, y_train, S_test, y_test = digit_rows() if data is None else data
    with one_thread():
        W, b = ridge_readout(S_train.reshape(len(S_train), -1), y_train, lam)
        return accuracy(S_test.reshape(len(S_test), -1) @ W + b, y_test)


# --- notebook 08: the whole network trained with BPTT -----------------------------------------

def cross_entropy(logits, y):
    """Mean softmax cross-entropy over the rows and its gradient dJ/dlogits (notebook 04's
    functions, from the course)."""
    import utils

    return utils.cross_entropy_loss(logits, y), utils.cross_entropy_grad(logits, y)


def rnn_classifier_loss_and_grads(rnn_forward, rnn_backward, S, y, params):
    """Cross-entropy of the last step's scores y_T = h_T @ W_hy + b_y, and every gradient.

    Only step T has a loss, so dH is zero except dH[:, T-1] = dlogits @ W_hy.T; BPTT carries
    it back through the earlier steps.
    """
    h0 = np.zeros((len(S), params["W_hh"].shape[0]))
    H_all, Y = rnn_forward(S, h0, params)
    H_all, Y = np.asarray(H_all), np.asarray(Y)
    loss, dlogits = cross_entropy(Y[:, -1], y)
    dH = np.zeros_like(H_all)
    dH[:, -1] = dlogits @ params["W_hy"].T
    g = rnn_backward(dH, S, h0, H_all, params)
    grads = {k: g[k] for k in ("W_xh", "W_hh", "b_h")}
    grads["W_hy"] = H_all[:, -1].T @ dlogits
    grads["b_y"] = dlogits.sum(axis=0)
    return loss, grads


def global_norm(grads):
    return float(np.sqrt(sum(np.sum(np.square(g)) for g in grads.values())))


def init_rnn(rng, D=8, H=H, K=10):
    """The starting point of training: 07's random network at spectral radius 1, and a small
    random read-out (so that the recurrent weights get a gradient from the first step)."""
    params = random_rnn(1.0, rng, D, H, K)
    params["W_hy"] = rng.standard_normal((H, K)) / np.sqrt(H)
    return params


def train_rnn(rnn_forward, rnn_backward, clip_by_global_norm=None, data=None, *, seed=0,
              epochs=SGD["epochs"], lr=SGD["lr"], momentum=SGD["momentum"],
              batch_size=SGD["batch_size"], max_norm=SGD["max_norm"], progress=None):
    """Mini-batch SGD with momentum on every parameter, gradients by BPTT.

    Each step: gradients of the batch's loss, clipped to global norm ``max_norm`` when
    ``clip_by_global_norm`` is given (None trains without clipping), then
    v <- momentum * v - lr * g,  W <- W + v.

    Returns ``(params, history)``: history has per step ``loss`` and ``grad_norm`` (the global
    norm before clipping), per epoch ``test_accuracy``, and ``seconds``.
    ``progress(epoch, epochs, loss, accuracy)`` is called after every epoch.
    """
    S_train, y_train, S_test, y_test = digit_rows() if data is None else data
    rng = np.random.default_rng(seed)
    params = init_rnn(rng, S_train.shape[2], K=int(y_train.max()) + 1)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    history = {"loss": [], "grad_norm": [], "test_accuracy": [], "epoch_loss": []}
    start = time.perf_counter()
    with one_thread():
        for epoch in range(epochs):
            order = rng.permutation(len(S_train))
            losses = []
            for first in range(0, len(order), batch_size):
                batch = order[first:first + batch_size]
                loss, grads = rnn_classifier_loss_and_grads(
                    rnn_forward, rnn_backward, S_train[batch], y_train[batch], params)
                if clip_by_global_norm is not None:
                    grads, norm = clip_by_global_norm(grads, max_norm)
                else:
                    norm = global_norm(grads)
                for k in params:
                    velocity[k] = momentum * velocity[k] - lr * grads[k]
                    params[k] = params[k] + velocity[k]
                history["loss"].append(float(loss))
                history["grad_norm"].append(float(norm))
                losses.append(float(loss))
            history["epoch_loss"].append(float(np.mean(losses)))
            history["test_accuracy"].append(rnn_accuracy(rnn_forward, params, S_test, y_test))
            if progress is not None:
                progress(epoch + 1, epochs, history["epoch_loss"][-1],
                         history["test_accuracy"][-1])
    history["seconds"] = time.perf_counter() - start
    history["steps_per_epoch"] = -(-len(S_train) // batch_size)
    return params, history


def rnn_accuracy(rnn_forward, params, S, y):
    """Share of sequences whose last-step score is highest for the right class."""
    _, Y = rnn_forward(S, np.zeros((len(S), params["W_hh"].shape[0])), params)
    return accuracy(np.asarray(Y)[:, -1], y)


# --- notebook 06's network on the same split, for comparison ---------------------------------

def train_mlp(dense_backward, data=None, *, seed=0, epochs=EPOCHS, lr=0.1, batch_size=32,
              hidden=64):
    """Notebook 06's experiment: the 64-64-10 ReLU network on the flattened pixels (centred
    and scaled by the training statistics), softmax cross-entropy, plain mini-batch SGD.
    Returns the test accuracy after the last epoch."""
    S_train, y_train, S_test, y_test = digit_rows() if data is None else data
    X_train, X_test = S_train.reshape(len(S_train), -1), S_test.reshape(len(S_test), -1)
    mean, std = X_train.mean(axis=0), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    rng = np.random.default_rng(seed)
    D, K = X_train.shape[1], 10
    p = {"W1": np.sqrt(2 / D) * rng.standard_normal((D, hidden)), "b1": np.zeros(hidden),
         "W2": np.sqrt(1 / hidden) * rng.standard_normal((hidden, K)), "b2": np.zeros(K)}
    with one_thread():
        for _ in range(epochs):
            order = rng.permutation(len(X_train))
            for first in range(0, len(order), batch_size):
                batch = order[first:first + batch_size]
                X, Z1 = X_train[batch], X_train[batch] @ p["W1"] + p["b1"]
                A = np.maximum(Z1, 0.0)
                _, dY = cross_entropy(A @ p["W2"] + p["b2"], y_train[batch])
                dA, dW2, db2 = dense_backward(dY, A, p["W2"])
                _, dW1, db1 = dense_backward(dA * (Z1 > 0), X, p["W1"])
                for k, g in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
                    p[k] = p[k] - lr * g
    scores = np.maximum(X_test @ p["W1"] + p["b1"], 0.0) @ p["W2"] + p["b2"]
    return accuracy(scores, y_test)


# --- the benchmark's records -------------------------------------------------------------------

def learning_results(quick=False):
    """The experiments of notebooks 07 and 08 at full size (``quick``: a few seconds), with the
    course's reference implementations, as records for ``python -m benchmarks learning``."""
    import utils

    data = digit_rows()
    task = "digits read row by row (8 steps of 8 pixels), 449 held-out digits"

    start = time.perf_counter()
    value = reservoir_accuracy(utils.rnn_forward, 1.0, seed=0, data=data)
    yield {"notebook": "07_recurrent_neural_networks", "experiment": task,
           "model": f"random RNN (H={H}, spectral radius 1), ridge read-out of h_T",
           "metric": "test_accuracy", "value": value, "seconds": time.perf_counter() - start}

    epochs = 3 if quick else FULL_EPOCHS
    for clip in (utils.clip_by_global_norm, None):
        _, history = train_rnn(utils.rnn_forward, utils.rnn_backward, clip, data, epochs=epochs)
        how = f"clipped at global norm {SGD['max_norm']:g}" if clip else "no clipping"
        yield {"notebook": "08_backpropagation_through_time", "experiment": task,
               "model": f"RNN (H={H}) trained by BPTT, SGD with momentum, {epochs} epochs, "
                        f"{how}",
               "metric": "test_accuracy", "value": history["test_accuracy"][-1],
               "seconds": history["seconds"]}

    start = time.perf_counter()
    value = train_mlp(utils.dense_backward, data, epochs=epochs)
    yield {"notebook": "08_backpropagation_through_time", "experiment": task,
           "model": "notebook 06's MLP (64-64-10, ReLU) on the same split, for comparison",
           "metric": "test_accuracy", "value": value, "seconds": time.perf_counter() - start}
