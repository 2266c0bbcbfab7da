"""What notebooks 01–06's models learn, measured as the notebooks train them.

Each experiment repeats the training a notebook runs (same data, split, model, loss,
optimiser and length), calling the course's implementations of the notebook's functions
(``utils.<name>``): the benchmark reports what the notebook's model learns, not a student's
code. Where a notebook scores its model only on the data it trained on (01), a held-out part
is kept aside here so that every figure is a test accuracy.

    01  perceptron (Rosenblatt's rule) on two iris species; the same on XOR, which no line
        separates
    02  one sigmoid unit, squared error, gradient descent on the breast-cancer data
    03  a random tanh hidden layer with a least-squares read-out on the digits (and none)
    04  softmax regression, full-batch gradient descent on the digits
    05  softmax regression with mini-batch SGD on the digits (and full batch, as many epochs)
    06  the two-layer ReLU perceptron trained with backpropagation on the digits
"""
import time

import numpy as np

import utils
from utils import data

NOTEBOOKS = ("01_perceptron", "02_activation_functions", "03_multilayer_perceptron",
             "04_loss_functions", "05_gradient_descent", "06_backpropagation")


def _record(notebook, experiment, model, value, seconds, metric="test_accuracy"):
    return {"notebook": notebook, "experiment": experiment, "model": model, "metric": metric,
            "value": float(value), "seconds": round(float(seconds), 3)}


def _split(n, test_fraction, seed):
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_fraction * n))
    return order[n_test:], order[:n_test]


def _step(z):
    return (z >= 0).astype(np.float64)


# --- 01 -----------------------------------------------------------------------------------------

def train_perceptron(X, y, forward, lr=0.1, epochs=20, seed=0):
    """Rosenblatt's rule as notebook 01 runs it: visit the samples in a random order each
    epoch, update on every mistake, stop after an epoch without one. Returns ``(w, w0)``."""
    rng = np.random.default_rng(seed)
    w, w0 = np.zeros(X.shape[1]), 0.0
    for _ in range(epochs):
        mistakes = 0
        for n in rng.permutation(len(y)):
            y_hat = forward(X[n:n + 1], w, w0, _step)[0]
            if y_hat != y[n]:
                w = w + lr * (y[n] - y_hat) * X[n]
                w0 = w0 + lr * (y[n] - y_hat)
                mistakes += 1
        if mistakes == 0:
            break
    return w, w0


def perceptron_results(quick=False):
    epochs = 5 if quick else 20
    X, y, _ = data.iris_two_species()
    train, test = _split(len(y), 0.3, seed=0)
    mean, spread = X[train].mean(axis=0), X[train].std(axis=0)
    X = (X - mean) / spread
    start = time.perf_counter()
    w, w0 = train_perceptron(X[train], y[train], utils.perceptron_forward, epochs=epochs)
    accuracy = np.mean(utils.perceptron_forward(X[test], w, w0, _step) == y[test])
    yield _record("01_perceptron", "iris setosa vs versicolor (sepal length, width), 30% held out",
                  "perceptron", accuracy, time.perf_counter() - start)
    X_train, y_train = data.xor(n=200, seed=1)
    X_test, y_test = data.xor(n=200, seed=2)
    start = time.perf_counter()
    w, w0 = train_perceptron(X_train, y_train, utils.perceptron_forward, epochs=epochs)
    accuracy = np.mean(utils.perceptron_forward(X_test, w, w0, _step) == y_test)
    yield _record("01_perceptron", "XOR (no line separates it), 200 new points",
                  "perceptron", accuracy, time.perf_counter() - start)


# --- 02 -----------------------------------------------------------------------------------------

def breast_cancer():
    """scikit-learn's breast-cancer data, split as notebook 02 splits it (142 held out)."""
    from sklearn.datasets import load_breast_cancer

    cancer = load_breast_cancer()
    X, y = cancer.data.astype(np.float64), cancer.target.astype(np.float64)
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:142], order[142:]
    mean, spread = X[train].mean(axis=0), X[train].std(axis=0)
    return (X[train] - mean) / spread, y[train], (X[test] - mean) / spread, y[test]


def sigmoid_unit_results(quick=False):
    steps = 30 if quick else 300
    X, y, X_test, y_test = breast_cancer()
    start = time.perf_counter()
    w, w0 = 0.01 * np.random.default_rng(0).standard_normal(X.shape[1]), 0.0
    for _ in range(steps):
        z = X @ w + w0
        delta = 2 * (utils.sigmoid(z) - y) * utils.sigmoid_grad(z) / len(y)
        w, w0 = w - 1.0 * (X.T @ delta), w0 - 1.0 * delta.sum()
    accuracy = np.mean((X_test @ w + w0 > 0) == (y_test == 1))
    yield _record("02_activation_functions",
                  f"breast cancer (30 features, 142 held out), {steps} GD steps",
                  "one sigmoid unit, squared error", accuracy, time.perf_counter() - start)


# --- 03 -----------------------------------------------------------------------------------------

def _least_squares(A, T, ridge=1e-6):
    A1 = np.hstack([A, np.ones((len(A), 1))])
    V = np.linalg.solve(A1.T @ A1 + ridge * np.eye(A1.shape[1]), A1.T @ T)
    return V[:-1], V[-1]


def random_features_results(quick=False):
    X, y, X_test, y_test = data.digits()
    T = np.eye(10)[y]
    start = time.perf_counter()
    W, b = _least_squares(X, T)
    accuracy = np.mean(np.argmax(utils.dense_forward(X_test, W, b), axis=1) == y_test)
    yield _record("03_multilayer_perceptron", "digits, least-squares read-out",
                  "no hidden layer (linear)", accuracy, time.perf_counter() - start)
    for H in ((64,) if quick else (64, 256)):
        start = time.perf_counter()
        rng = np.random.default_rng(0)
        W1, b1 = 0.5 * rng.standard_normal((64, H)), 0.5 * rng.standard_normal(H)
        W2, b2 = _least_squares(utils.tanh(utils.dense_forward(X, W1, b1)), T)
        params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        scores = utils.mlp_forward(X_test, params, utils.tanh)
        yield _record("03_multilayer_perceptron", "digits, least-squares read-out",
                      f"random tanh hidden layer, H = {H}",
                      np.mean(scores.argmax(axis=1) == y_test), time.perf_counter() - start)


# --- 04 -----------------------------------------------------------------------------------------

def softmax_gd_results(quick=False):
    steps = 30 if quick else 300
    X, y, X_test, y_test = data.digits()
    start = time.perf_counter()
    W, b = np.zeros((64, 10)), np.zeros(10)
    for _ in range(steps):
        G = utils.cross_entropy_grad(X @ W + b, y)
        W, b = W - 1.0 * (X.T @ G), b - 1.0 * G.sum(axis=0)
    accuracy = np.mean((X_test @ W + b).argmax(axis=1) == y_test)
    yield _record("04_loss_functions", f"digits, {steps} full-batch GD steps",
                  "softmax regression (cross-entropy)", accuracy, time.perf_counter() - start)


# --- 05 -----------------------------------------------------------------------------------------

def _softmax_regression(W, X, y):
    Z = X @ W
    return utils.cross_entropy_loss(Z, y), X.T @ utils.cross_entropy_grad(Z, y)


def softmax_sgd_results(quick=False):
    epochs = 3 if quick else 30
    X, y, X_test, y_test = data.digits()
    X = np.column_stack([X, np.ones(len(X))])
    X_test = np.column_stack([X_test, np.ones(len(X_test))])
    rng = np.random.default_rng(0)
    W0 = utils.init_weights((65, 10), 0.01, rng)
    start = time.perf_counter()
    W, _ = utils.minibatch_sgd(_softmax_regression, W0, X, y, 0.5, 32, epochs, rng)
    yield _record("05_gradient_descent", f"digits, {epochs} epochs",
                  "softmax regression, mini-batch SGD (B = 32)",
                  np.mean((X_test @ W).argmax(axis=1) == y_test), time.perf_counter() - start)
    start = time.perf_counter()
    path = utils.gradient_descent(lambda W: _softmax_regression(W, X, y)[1], W0, 0.5, epochs)
    yield _record("05_gradient_descent", f"digits, {epochs} epochs",
                  "softmax regression, full-batch GD (one step per epoch)",
                  np.mean((X_test @ path[-1]).argmax(axis=1) == y_test),
                  time.perf_counter() - start)


# --- 06 -----------------------------------------------------------------------------------------

def _ce_loss_and_grads(X, labels, params, activation="relu"):
    """Softmax cross-entropy of the 03 network's logits, gradients by dense_backward."""
    Z1 = X @ params["W1"] + params["b1"]
    A = utils.relu(Z1)
    Y = A @ params["W2"] + params["b2"]
    dA, dW2, db2 = utils.dense_backward(utils.cross_entropy_grad(Y, labels), A, params["W2"])
    _, dW1, db1 = utils.dense_backward(dA * utils.relu_grad(Z1), X, params["W1"])
    return utils.cross_entropy_loss(Y, labels), {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def train_mlp(loss_and_grads, X, targets, lr, epochs=30, batch_size=32, hidden=64, seed=0):
    """Notebook 06's loop: He-initialised 64-H-10 ReLU network, mini-batch SGD."""
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    params = {"W1": utils.init_weights((D, hidden), np.sqrt(2 / D), rng), "b1": np.zeros(hidden),
              "W2": utils.init_weights((hidden, 10), np.sqrt(1 / hidden), rng),
              "b2": np.zeros(10)}
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for begin in range(0, len(order), batch_size):
            batch = order[begin:begin + batch_size]
            _, grads = loss_and_grads(X[batch], targets[batch], params, "relu")
            params = {k: params[k] - lr * grads[k] for k in params}
    return params


def backprop_results(quick=False):
    epochs = 3 if quick else 30
    X, y, X_test, y_test = data.digits()
    mean, std = X.mean(axis=0), X.std()
    X, X_test = (X - mean) / std, (X_test - mean) / std
    for model, loss_and_grads, targets, lr in (
            ("MLP 64-64-10 ReLU, cross-entropy", _ce_loss_and_grads, y, 0.1),
            ("MLP 64-64-10 ReLU, MSE on one-hot", utils.mlp_loss_and_grads, np.eye(10)[y], 0.5)):
        start = time.perf_counter()
        params = train_mlp(loss_and_grads, X, targets, lr, epochs=epochs)
        predicted = utils.mlp_forward(X_test, params, utils.relu).argmax(axis=1)
        yield _record("06_backpropagation", f"digits, {epochs} epochs of SGD (B = 32)", model,
                      np.mean(predicted == y_test), time.perf_counter() - start)


def learning_results(quick=False):
    """Every experiment of notebooks 01–06, in notebook order (see the module's docstring)."""
    for results in (perceptron_results, sigmoid_unit_results, random_features_results,
                    softmax_gd_results, softmax_sgd_results, backprop_results):
        yield from results(quick)
