"""Notebook 09's experiment: the adding problem's data, the models' gradients, and a short
run that learns."""
import numpy as np
import pytest

import utils
from utils.exercises.gradcheck import numerical_gradient
from utils.experiments import gated as ex


def test_adding_problem():
    X, y = ex.adding_problem(500, 10, np.random.default_rng(0))
    assert X.shape == (500, 10, 2) and y.shape == (500, 1)
    assert np.all(X[:, :, 1].sum(axis=1) == 2)
    assert np.all(X[:, :5, 1].sum(axis=1) == 1)  # one mark in each half
    np.testing.assert_allclose(y[:, 0], np.sum(X[:, :, 0] * X[:, :, 1], axis=1))
    assert np.mean((y - 1) ** 2) == pytest.approx(ex.BASELINE, abs=0.03)


@pytest.mark.parametrize("which", ["lstm", "rnn"])
def test_model_gradients_against_finite_differences(which):
    rng = np.random.default_rng(1)
    model = ex.lstm_model(utils.lstm_forward, utils.lstm_backward) if which == "lstm" \
        else ex.rnn_model()
    params = (ex.init_lstm if which == "lstm" else ex.init_rnn)(2, 3, rng)
    X, y = ex.adding_problem(4, 5, rng)
    _, grads = model[1](params, X, y)
    assert set(grads) == set(params)
    for key in params:
        numeric = numerical_gradient(
            lambda v: model[1]({**params, key: v}, X, y)[0], params[key])
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.slow
def test_a_short_run_learns_and_records():
    runs, (X_test, y_test) = ex.compare(utils.lstm_forward, utils.lstm_backward, T=10,
                                        steps=250, hidden=8, batch=32, lr=1e-2, n_test=300,
                                        eval_every=50)
    for name in ("lstm", "rnn"):
        params, history = runs[name]
        assert history["step"] == [50, 100, 150, 200, 250] and len(history["grad_norm"]) == 250
        assert history["seconds"] > 0
    # at T = 10 the LSTM leaves the baseline's plateau within 250 steps (seed 0: about 0.01)
    assert runs["lstm"][1]["test_mse"][-1] < 0.2 * ex.BASELINE
    assert np.all(np.isfinite(runs["rnn"][1]["test_mse"]))
    assert max(runs["lstm"][1]["grad_norm"]) > 1.0  # clipping had something to do


def test_learning_results_quick_records():
    records = list(ex.learning_results(quick=True))
    assert [r["model"] for r in records][0] == "constant guess 1"
    assert {r["notebook"] for r in records} == {"09_lstm_gru"}
    assert all(r["metric"] == "test_mse" and np.isfinite(r["value"]) for r in records)


def test_quick_follows_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert ex.quick()
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert not ex.quick()
