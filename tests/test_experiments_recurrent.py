"""The row-by-row digits experiments of notebooks 07 and 08, shortened: they learn."""
import numpy as np
import pytest

import utils
from utils.experiments import recurrent as ex


@pytest.fixture(scope="module")
def data():
    return ex.digit_rows()


def test_digits_become_sequences_of_rows(data):
    S_train, y_train, S_test, y_test = data
    X_train, _, X_test, _ = utils.data.digits()
    assert S_train.shape == (1348, 8, 8) and S_test.shape == (449, 8, 8)
    np.testing.assert_array_equal(S_train[5, 2], X_train[5, 16:24])  # step 3 is row 3


def test_random_rnn_has_the_spectral_radius_asked_for():
    for rho in (0.3, 1.0, 2.5):
        p = ex.random_rnn(rho, np.random.default_rng(0))
        assert np.max(np.abs(np.linalg.eigvals(p["W_hh"]))) == pytest.approx(rho, rel=1e-9)


def test_ridge_readout_solves_the_normal_equations():
    rng = np.random.default_rng(0)
    F, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    W, b = ex.ridge_readout(F, y, lam=0.5, K=3)
    A, Y = np.hstack([F, np.ones((50, 1))]), np.eye(3)[y]
    grad = A.T @ (A @ np.vstack([W, b]) - Y) + 0.5 * np.vstack([W, b])  # zero at the optimum
    np.testing.assert_allclose(grad, 0, atol=1e-10)


def test_a_random_rnn_reads_digits_far_above_chance_and_memory_matters(data):
    sweep = ex.spectral_sweep(utils.rnn_forward, [0.2, 1.0, 3.0], seeds=(0,), data=data)[:, 0]
    assert sweep[1] > 0.85  # measured 0.94 (chance: 0.10)
    assert sweep[0] < sweep[1] and sweep[2] < sweep[1]


def test_classifier_gradients_match_finite_differences(data):
    from utils.exercises.gradcheck import compare_gradients, numerical_gradient

    S, y = data[0][:6, :4, :5], data[1][:6]  # a small slice: 4 steps of 5 pixels
    rng = np.random.default_rng(1)
    p = ex.init_rnn(rng, D=5, H=6, K=10)
    _, grads = ex.rnn_classifier_loss_and_grads(utils.rnn_forward, utils.rnn_backward, S, y, p)
    for key in p:
        numeric = numerical_gradient(lambda v, key=key: ex.rnn_classifier_loss_and_grads(
            utils.rnn_forward, utils.rnn_backward, S, y, {**p, key: v})[0], p[key])
        assert compare_gradients(grads[key], numeric, key).passed


def test_a_short_bptt_training_learns(data):
    calls = []
    _, history = ex.train_rnn(utils.rnn_forward, utils.rnn_backward, utils.clip_by_global_norm,
                              data, epochs=2, progress=lambda *a: calls.append(a))
    assert history["test_accuracy"][-1] > 0.6  # chance 0.10; full training reaches about 0.97
    assert len(history["grad_norm"]) == 2 * history["steps_per_epoch"] == 2 * 43
    assert [c[0] for c in calls] == [1, 2]
    assert history["epoch_loss"][1] < history["epoch_loss"][0]


def test_learning_results_records(data):
    records = list(ex.learning_results(quick=True))
    assert {r["notebook"] for r in records} == {"07_recurrent_neural_networks",
                                                "08_backpropagation_through_time"}
    for r in records:
        assert set(r) == {"notebook", "experiment", "model", "metric", "value", "seconds"}
        assert r["metric"] == "test_accuracy" and 0.1 < r["value"] <= 1.0
