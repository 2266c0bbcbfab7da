"""Notebook 10's experiment: a short run of each model learns, and the records are complete."""
import numpy as np

import utils
from utils.experiments import attention as ea


def test_data_is_reversal():
    tokens, targets = ea.reversal_batch(5, np.random.default_rng(0))
    np.testing.assert_array_equal(targets, tokens[:, ::-1])
    test_a, _ = ea.test_set()
    test_b, _ = ea.test_set()
    np.testing.assert_array_equal(test_a, test_b)  # fixed held-out set


def test_attention_gradients_match_finite_differences():
    from utils.exercises.gradcheck import compare_gradients, numerical_gradient

    rng = np.random.default_rng(3)
    params = ea.init_attention(rng, V=4, D=6)
    tokens = rng.integers(0, 4, size=(3, 5))
    targets = tokens[:, ::-1].copy()
    PE = utils.positional_encoding(5, 6)
    args = (utils.scaled_dot_product_attention, utils.attention_backward, PE)
    _, grads = ea.attention_loss_and_grads(params, tokens, targets, *args)
    for key in params:
        def loss(v, key=key):
            return ea.attention_loss_and_grads({**params, key: v}, tokens, targets, *args)[0]
        assert compare_gradients(grads[key], numerical_gradient(loss, params[key]), key).passed


def test_rnn_gradients_match_finite_differences():
    from utils.exercises.gradcheck import compare_gradients, numerical_gradient

    rng = np.random.default_rng(4)
    params = ea.init_rnn(rng, V=ea.V_SYMBOLS, H=5)
    tokens = rng.integers(0, ea.V_SYMBOLS, size=(2, 3))
    _, grads = ea.rnn_loss_and_grads(params, tokens, tokens[:, ::-1].copy())
    for key in params:
        def loss(v, key=key):
            return ea.rnn_loss_and_grads({**params, key: v}, tokens, tokens[:, ::-1].copy())[0]
        assert compare_gradients(grads[key], numerical_gradient(loss, params[key]), key).passed


def test_quick_run_learns():
    records = list(ea.learning_results(quick=True))
    assert [r["model"] for r in records] == ["attention", "rnn"]
    for r in records:
        assert set(r) == {"notebook", "experiment", "model", "metric", "value", "seconds"}
        assert r["notebook"] == "10_attention" and r["metric"] == "test_accuracy"
        print(r)
    attention, rnn = (r["value"] for r in records)
    assert attention > 0.95  # 150 steps: the attention model has solved reversal
    assert 0.15 < rnn < attention  # the RNN learns something (chance: 0.1), less
