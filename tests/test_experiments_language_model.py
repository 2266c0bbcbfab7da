"""Notebook 12's experiment: the three models' gradients are right, training learns, and the
held-out protocol and baselines are what the notebook says."""
import numpy as np
import pytest

import utils
from utils.data import shakespeare
from utils.exercises.gradcheck import numerical_gradient
from utils.experiments import language_model as lm


@pytest.fixture(scope="module")
def text():
    return shakespeare()


def test_the_split_and_vocabulary(text):
    train, heldout, vocab = text
    assert len(vocab) == 65 and vocab == "".join(sorted(vocab))
    assert len(train) + len(heldout) == 1_115_394
    assert len(heldout) == 1_115_394 - int(1_115_394 * 0.9)
    assert "".join(vocab[i] for i in train[:10]) == "First Citi"


def test_baselines_match_the_figures_the_notebook_quotes(text):
    train, heldout, vocab = text
    assert lm.bigram_nats(train, heldout, len(vocab)) == pytest.approx(2.48, abs=0.01)


def small_models(V):
    return [lm.CharRNN(V, utils.char_rnn_loss_and_grads, H=5, D=3, seed=1),
            lm.CharLSTM(V, H=4, D=3, seed=2),
            lm.CharTransformer(V, D=8, n_blocks=2, n_heads=2, F=12, T=6, seed=3)]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["rnn", "lstm", "transformer"])
def test_every_models_gradients_match_finite_differences(index):
    V = 7
    model = small_models(V)[index]
    rng = np.random.default_rng(index)
    inputs = rng.integers(0, V, size=(2, 5))
    inputs[0, :3] = 1  # a character repeated: its embedding row adds up several positions
    targets = rng.integers(0, V, size=(2, 5))
    loss, grads, _ = model.loss_and_grads(inputs, targets)
    assert set(grads) == set(model.params)
    for k, w in model.params.items():
        def f(value, k=k):
            saved = model.params[k]
            model.params[k] = value
            try:
                return model.loss_and_grads(inputs, targets)[0]
            finally:
                model.params[k] = saved
        numeric = numerical_gradient(f, w.copy())
        scale = max(1e-8, np.abs(numeric).max())
        np.testing.assert_allclose(grads[k], numeric, atol=1e-6 * scale + 1e-9, err_msg=k)


@pytest.mark.parametrize("index", [0, 1, 2], ids=["rnn", "lstm", "transformer"])
def test_stepping_one_character_at_a_time_agrees_with_whole_windows(index):
    V = 7
    model = small_models(V)[index]
    ids = np.random.default_rng(5).integers(0, V, size=6)
    whole = model.logits(ids[None])[0]
    state = model.start()
    for t, c in enumerate(ids):
        state, z = model.step(state, c)
        np.testing.assert_allclose(z, whole[t], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("index", [0, 1], ids=["rnn", "lstm"])
def test_a_carried_state_continues_the_sequence(index):
    """Two halves read one after the other, the first's state carried into the second, score
    exactly as the whole window does: the state is the recurrent models' memory."""
    V = 7
    model = small_models(V)[index]
    rng = np.random.default_rng(9)
    inputs, targets = rng.integers(0, V, size=(3, 8)), rng.integers(0, V, size=(3, 8))
    whole, _, _ = model.loss_and_grads(inputs, targets)
    first, _, state = model.loss_and_grads(inputs[:, :4], targets[:, :4])
    second, _, _ = model.loss_and_grads(inputs[:, 4:], targets[:, 4:], state)
    assert whole == pytest.approx((first + second) / 2, rel=1e-12)
    cold, _, _ = model.loss_and_grads(inputs[:, 4:], targets[:, 4:])
    assert cold != pytest.approx(second, rel=1e-6)  # so the state did change something


def test_the_transformer_carries_no_state():
    model = small_models(7)[2]
    inputs = np.random.default_rng(2).integers(0, 7, size=(2, 6))
    assert model.loss_and_grads(inputs, inputs)[2] is None


def test_streams_read_the_text_as_rows_that_continue_each_other():
    ids = np.arange(1000)  # each id is its position: where a row reads is plain to see
    batches = lm.streams(ids, 4, 10, np.random.default_rng(0))
    first = [next(batches) for _ in range(30)]
    inputs, targets, fresh = first[0]
    assert fresh and inputs.shape == targets.shape == (4, 10)
    assert 0 <= inputs[0, 0] < 10  # a pass starts at a random offset below the length
    for (x, y, _), (x_next, _, f_next) in zip(first, first[1:]):
        np.testing.assert_array_equal(y, x + 1)  # the targets are the next characters
        if not f_next:
            np.testing.assert_array_equal(x_next[:, 0], x[:, -1] + 1)  # row k goes on
    passes = [k for k, (_, _, f) in enumerate(first) if f]
    assert passes[0] == 0 and len(passes) >= 2  # 249 positions a row: 24 batches a pass
    one_pass = np.concatenate([x for x, _, _ in first[:passes[1]]], axis=1)
    assert len(np.unique(one_pass)) == one_pass.size  # the rows read different parts


def test_random_windows_come_from_anywhere_and_continue_nothing():
    ids = np.arange(10_000)
    batches = lm.random_windows(ids, 8, 16, np.random.default_rng(1))
    starts = []
    for _ in range(20):
        x, y, fresh = next(batches)
        assert fresh and x.shape == y.shape == (8, 16)
        np.testing.assert_array_equal(y, x + 1)
        np.testing.assert_array_equal(np.diff(x, axis=1), 1)  # each row a window of the text
        starts.extend(x[:, 0])
    assert max(starts) - min(starts) > 5_000 and max(starts) <= 10_000 - 17


def test_the_step_size_decays_along_a_cosine():
    lrs = [lm.cosine(1e-3, f) for f in np.linspace(0, 1, 11)]
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(2e-5)
    assert lrs[5] == pytest.approx(0.51e-3) and all(np.diff(lrs) < 0)


def test_training_carries_the_state_and_follows_the_schedule():
    """A stand-in model records what ``train`` hands it: its own batch shape, the state it
    returned one batch earlier (None at the start of a pass), and the decaying step size."""
    class Recorder:
        training = {"batches": lm.streams, "batch": 3, "length": 5, "lr": 0.1,
                    "betas": (0.9, 0.999)}

        def __init__(self):
            self.params, self.seen = {"w": np.zeros(1)}, []

        def loss_and_grads(self, inputs, targets, state=None):
            self.seen.append((inputs.shape, state))
            return 1.0, {"w": np.ones(1)}, len(self.seen)

    model = Recorder()
    opt = lm.Adam(model.params)
    lm.train(model, np.arange(200), steps=40, optimizer=opt)
    shapes, states = zip(*model.seen)
    assert set(shapes) == {(3, 5)}
    restarts = [k for k, s in enumerate(states) if s is None]
    assert restarts[0] == 0 and len(restarts) >= 2  # 12 batches a pass
    assert all(s == k for k, s in enumerate(states) if k not in restarts)  # the last state
    assert opt.lr == pytest.approx(lm.cosine(0.1, 39 / 40))  # the last step's size


def test_adam_finds_a_quadratics_minimum():
    params = {"w": np.array([3.0, -2.0])}
    opt = lm.Adam(params, lr=0.05)
    for _ in range(2000):
        opt.step({"w": 2 * (params["w"] - np.array([1.0, 0.5]))})
    np.testing.assert_allclose(params["w"], [1.0, 0.5], atol=1e-3)


def test_clipping_scales_to_the_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    clipped, norm = lm.clipped(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(clipped["b"], [[0.8]], rtol=1e-6)
    same, _ = lm.clipped(grads, 10.0)
    assert same["a"] is grads["a"]


def test_a_short_training_learns_the_text(text):
    train, heldout, vocab = text
    model = lm.CharRNN(len(vocab), utils.char_rnn_loss_and_grads, H=64, D=16)
    before = lm.heldout_nats(model, heldout, max_windows=64)
    history = lm.train(model, train, steps=150, seed=0)
    after = lm.heldout_nats(model, heldout, max_windows=64)
    assert before > 4.0 and after < 3.0, (before, after)
    assert history[-1][0] == 150


def test_heldout_scores_the_second_half_of_each_window():
    """A model that knows the text exactly scores 0; a uniform one ln V, whatever the text."""
    class Uniform:
        def logits(self, inputs):
            return np.zeros((*inputs.shape, 5))
    ids = np.random.default_rng(0).integers(0, 5, size=1000)
    assert lm.heldout_nats(Uniform(), ids) == pytest.approx(np.log(5))

    class Oracle:  # knows that 0, 1, 2, 3, 4 repeat: sure of the next id at every position
        def logits(self, inputs):
            return 50.0 * np.eye(5)[(inputs + 1) % 5]
    steady = np.tile(np.arange(5), 200)
    assert lm.heldout_nats(Oracle(), steady) < 1e-12  # so positions and targets line up


def test_generate_is_reproducible_and_stays_in_the_vocabulary(text):
    _, _, vocab = text
    model = lm.CharRNN(len(vocab), utils.char_rnn_loss_and_grads, H=16, D=4)
    a = lm.generate(model, utils.sample_next, vocab, "KING:\n", n=50, temperature=0.8, seed=3)
    b = lm.generate(model, utils.sample_next, vocab, "KING:\n", n=50, temperature=0.8, seed=3)
    assert a == b and len(a) == 50 and set(a) <= set(vocab)
