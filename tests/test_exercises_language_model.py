"""The checks of notebook 12 accept right answers written any way and explain wrong ones."""
import numpy as np
import pytest

import utils
from exercise_helpers import assert_each_mistake_is_diagnosed
from utils.exercises import language_model as ex
from utils.exercises.checking import ExerciseFailure
from utils.exercises.language_model import check_char_rnn_loss_and_grads, check_sample_next


def failure(check, fn):
    with pytest.raises(ExerciseFailure) as info:
        check(fn, quiet=True)
    return str(info.value)


# --- sample_next ------------------------------------------------------------------------------

def sample_plain(logits, temperature, rng):
    if temperature == 0:
        return int(np.argmax(logits))
    z = (np.asarray(logits) - np.max(logits)) / temperature
    p = np.exp(z) / np.exp(z).sum()
    return int(rng.choice(len(p), p=p))


def sample_logsumexp(logits, temperature, rng):
    """The same distribution by another road: log-probabilities through logsumexp."""
    if not temperature:
        return int(logits.argmax())
    s = logits / temperature
    logp = s - (s.max() + np.log(np.sum(np.exp(s - s.max()))))
    return int(rng.choice(logits.shape[0], p=np.exp(logp)))


def sample_inverse_cdf(logits, temperature, rng):
    """rng.choice's own method spelled out: one uniform draw against the cumulative sum."""
    if temperature == 0:
        return int(np.argmax(logits))
    p = np.exp((logits - logits.max()) / temperature)
    cdf = np.cumsum(p / p.sum())
    return int(np.searchsorted(cdf / cdf[-1], rng.random(), side="right"))


@pytest.mark.parametrize("fn", [sample_plain, sample_logsumexp, sample_inverse_cdf])
def test_right_samplers_pass(fn):
    check_sample_next(fn, quiet=True)
    check_sample_next(fn, seed=9, n_random=10, quiet=True)


def test_every_sampling_mistake_is_named():
    mistakes = [m for m in ex.SAMPLE_MISTAKES]
    for m in mistakes:
        def wrong(logits, t, rng, f=m.fn):
            return int(np.argmax(logits)) if t == 0 else f(logits, t, rng)
        assert m.hint in failure(check_sample_next, wrong)


@pytest.mark.parametrize("wrong, words", [
    (lambda l, t, r: sample_plain(l, 1 if t == 0 else t, r), "temperature 0 means the argmax"),
    (lambda l, t, r: int(np.argmax(l)) if t == 0 else int(r.choice(len(l), p=np.exp(l / t) /
                                                              np.exp(l / t).sum())),
     "subtract the largest logit first"),
    (lambda l, t, r: int(np.argmax(l)) if t == 0 else int(r.multinomial(
        1, np.exp((l - l.max()) / t) / np.exp((l - l.max()) / t).sum()).argmax()),
     "draw exactly once per call"),
    (lambda l, t, r: np.exp(l) / np.exp(l).sum(), "should return one token id"),
    (utils.sample_next, "reference"),
])
def test_typical_wrong_samplers_get_their_hint(wrong, words):
    assert words in failure(check_sample_next, wrong)


def test_a_wrong_distribution_cannot_pass_by_luck():
    """40 draws in a row per case: sampling from a slightly wrong p fails."""
    def tilted(logits, t, rng):
        return sample_plain(logits, t * 1.1 if t else 0, rng)
    assert "differs" in failure(check_sample_next, tilted)


# --- char_rnn_loss_and_grads ------------------------------------------------------------------

def lm_from_parts(inputs, targets, h0, params):
    """Built from earlier notebooks' references, as the notebook suggests."""
    N, T = inputs.shape
    X = utils.embed(inputs, params["E"])
    H_all, Z = utils.rnn_forward(X, h0, params)
    V, H = Z.shape[-1], H_all.shape[-1]
    loss = utils.cross_entropy_loss(Z.reshape(-1, V), targets.reshape(-1))
    dZ = utils.cross_entropy_grad(Z.reshape(-1, V), targets.reshape(-1))
    dH, dW_hy, db_y = utils.dense_backward(dZ, H_all.reshape(-1, H), params["W_hy"])
    g = utils.rnn_backward(dH.reshape(N, T, H), X, h0, H_all, params)
    dE = np.zeros_like(params["E"])
    np.add.at(dE, inputs, g["X"])
    return loss, dict(E=dE, W_xh=g["W_xh"], W_hh=g["W_hh"], b_h=g["b_h"], W_hy=dW_hy,
                      b_y=db_y), H_all[:, -1]


def lm_one_hot(inputs, targets, h0, params):
    """The embedding as a one-hot matrix product, its gradient as the transposed product."""
    V = params["E"].shape[0]
    onehot = np.eye(V)[inputs]
    out = lm_from_parts(inputs, targets, h0, params)
    X = onehot @ params["E"]
    H_all, Z = utils.rnn_forward(X, h0, params)
    N, T = inputs.shape
    H = H_all.shape[-1]
    dZ = utils.cross_entropy_grad(Z.reshape(-1, V), targets.reshape(-1))
    dH = (dZ @ params["W_hy"].T).reshape(N, T, H)
    g = utils.rnn_backward(dH, X, h0, H_all, params)
    out[1]["E"] = np.einsum("ntv,ntd->vd", onehot, g["X"])
    return out


@pytest.mark.parametrize("fn", [lm_from_parts, lm_one_hot])
def test_right_models_pass(fn):
    check_char_rnn_loss_and_grads(fn, quiet=True)


def test_every_model_mistake_is_diagnosed():
    cases = ex.lm_cases(0, 3)
    assert_each_mistake_is_diagnosed(ex.LM_MISTAKES, cases)
    for m in ex.LM_MISTAKES:
        assert m.hint in failure(check_char_rnn_loss_and_grads, m.fn)


def test_the_reference_under_another_name_earns_nothing():
    renamed = utils.char_rnn_loss_and_grads
    assert "reference" in failure(check_char_rnn_loss_and_grads, renamed)

    def wrapper(*args):
        return utils.reference.language_model.char_rnn_loss_and_grads(*args)
    assert "reference" in failure(check_char_rnn_loss_and_grads, wrapper)
