"""The benchmark's numpy-against-PyTorch training steps of notebook 12 compute the same model:
the first step's loss agrees, and after a few steps both have moved the same way."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from benchmarks import reference  # noqa: E402


@pytest.mark.parametrize("case", [reference.char_rnn_step_case, reference.char_lstm_step_case,
                                  reference.char_transformer_step_case],
                         ids=["rnn", "lstm", "transformer"])
def test_both_sides_train_the_same_model(case):
    ours, theirs = case(np.random.default_rng(0))
    losses = np.array([[ours(), theirs()] for _ in range(3)])  # the same batch, three steps
    np.testing.assert_allclose(losses[:, 0], losses[:, 1], rtol=1e-6)
    assert losses[2, 0] < losses[0, 0]  # Adam moved both down
