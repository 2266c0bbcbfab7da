"""Notebook 11's experiment: the model's gradients are right, and a short run learns to sort."""
import numpy as np

import utils
from utils.experiments import transformer as et
from utils.exercises.gradcheck import compare_gradients, numerical_gradient


def test_data_is_sorting():
    tokens, targets = et.sorting_batch(4, np.random.default_rng(0))
    np.testing.assert_array_equal(targets, np.sort(tokens, axis=1))


def test_model_gradients_match_finite_differences():
    rng = np.random.default_rng(5)
    params = et.init_model(rng, V=5, D=4, F=6, n_blocks=2)
    tokens = rng.integers(0, 5, size=(2, 3))
    targets = np.sort(tokens, axis=1)
    PE = utils.positional_encoding(3, 4)

    def loss(p):
        return et.loss_and_grads(p, tokens, targets, utils.transformer_block, PE, n_heads=2)

    _, grads = loss(params)
    assert set(grads) == set(params)
    for key in ("E", "W_out", "l0.W_q", "l0.ln1_gamma", "l1.W1", "l1.b_o"):
        numeric = numerical_gradient(lambda v, key=key: loss({**params, key: v})[0],
                                     params[key])
        assert compare_gradients(grads[key], numeric, key).passed, key


def test_quick_run_learns():
    records = list(et.learning_results(quick=True))
    assert len(records) == 1
    r = records[0]
    assert set(r) == {"notebook", "experiment", "model", "metric", "value", "seconds"}
    assert r["notebook"] == "11_transformer" and r["metric"] == "test_accuracy"
    print(r)
    tokens, targets = et.test_set()
    # the best guess that ignores the input: each position's most common sorted digit
    mode = np.array([np.bincount(targets[:, i], minlength=10).argmax() for i in range(8)])
    prior = (targets == mode).mean()  # about 0.34
    assert r["value"] > prior + 0.15
