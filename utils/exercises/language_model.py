"""Checks for notebook 12: sampling the next character, and the char-RNN's loss and gradients.

``sample_next`` is checked draw by draw: with the same generator in the same state, the
student's function and the contract's ``rng.choice(V, p=softmax(logits / temperature))`` must
draw the same 40 tokens in a row, so a wrong distribution cannot pass by luck.
``char_rnn_loss_and_grads`` is checked against finite differences of its own loss, one
parameter at a time, then against the named cases. The model is built from earlier notebooks'
functions (``utils.embed``, ``utils.rnn_forward``, ``utils.rnn_backward``, the losses and
``utils.dense_backward`` may be used); the mistakes below reuse them too.
"""
import warnings

import numpy as np

from ..reference import language_model as ref
from ..reference.backprop import dense_backward
from ..reference.rnn import embed, rnn_backward, rnn_forward
from .checking import (Case, ExerciseFailure, Mistake, ReferenceUsed, check_function,
                       check_gradient_against_numeric, diagnose, forbid, refuse_reference)
from .gradcheck import numerical_gradient

DRAWS = 40  # draws compared per case, from one generator


# --- sample_next -----------------------------------------------------------------------------

def _probs(scores):
    z = scores - np.max(scores)
    e = np.exp(z)
    return e / e.sum()


def _draw(p, rng):
    return int(rng.choice(len(p), p=p))


def _repeat(sample):
    """``DRAWS`` calls of ``sample`` with one generator: the sequence of tokens drawn."""
    def draws(logits, temperature, rng):
        return np.array([sample(logits, temperature, rng) for _ in range(DRAWS)])
    draws.__name__ = getattr(sample, "__name__", "sample_next")
    return draws


def _log_probs_as_probs(logits, temperature, rng):
    lp = np.log(_probs(logits / temperature))
    return _draw(lp / lp.sum(), rng)


SAMPLE_MISTAKES = [
    Mistake("the temperature multiplies the logits; it divides them: "
            "p = softmax(logits / temperature), so a low temperature sharpens p.",
            lambda logits, t, rng: _draw(_probs(logits * t), rng)),
    Mistake("the temperature is not used: p = softmax(logits / temperature).",
            lambda logits, t, rng: _draw(_probs(logits), rng)),
    Mistake("you sampled from the logarithms of the probabilities (normalised); draw from the "
            "probabilities themselves, p = softmax(logits / temperature).",
            _log_probs_as_probs),
    Mistake("that is the argmax at every temperature; draw at random with "
            "rng.choice(V, p=p) when temperature > 0 (the argmax is only for temperature 0).",
            lambda logits, t, rng: int(np.argmax(logits))),
]

STABILITY_HINT = ("e^(logits / temperature) overflows for large logits or a small temperature "
                  "(inf / inf = NaN): subtract the largest logit first, "
                  "z = (logits - logits.max()) / temperature; the distribution is the same.")

DRAW_HINT = ("the distribution may be right but the draws differ: draw exactly once per call "
             "with the generator you are given, rng.choice(V, p=p) (np.random's global "
             "functions, rng.random() with a cumulative sum, or several draws give other "
             "tokens from the same generator).")


def sample_cases(seed, n_random):
    rng = np.random.default_rng(seed)

    def gen():
        return np.random.default_rng(int(rng.integers(2 ** 31)))

    out = [
        Case("three tokens at temperature 1", (np.array([1.0, 2.0, 3.0]), 1.0, gen())),
        Case("temperature 0.5 sharpens", (np.array([0.0, 1.0, 0.5, -1.0]), 0.5, gen())),
        Case("temperature 3 flattens", (np.array([2.0, -1.0, 0.0, 1.0, 0.5]), 3.0, gen())),
        Case("huge logits (stability)", (np.array([1000.0, 999.0, -1000.0]), 1.0, gen())),
        Case("tiny temperature 1e-3 (stability)", (np.array([0.3, 0.2999, -5.0]), 1e-3, gen())),
        Case("one token (V = 1)", (np.array([0.7]), 1.0, gen())),
    ]
    for _ in range(n_random):
        V = int(rng.integers(2, 70))
        t = float(rng.choice([0.25, 0.5, 0.8, 1.0, 1.5]))
        out.append(Case(f"random logits, V={V}, temperature {t}",
                        (3 * rng.standard_normal(V), t, gen())))
    return out


def _check_temperature_zero(student):
    """Temperature 0 is the argmax, without dividing by zero."""
    logits = np.array([0.5, 3.0, -1.0, 2.9])
    try:
        with warnings.catch_warnings(), forbid(ref.sample_next), \
                np.errstate(divide="raise", invalid="raise", over="raise"):
            warnings.simplefilter("error")
            got = student(logits.copy(), 0.0, np.random.default_rng(0))
    except (ReferenceUsed, NotImplementedError):
        return  # the cases say so, with the engine's message
    except Exception as error:
        raise ExerciseFailure(
            "sample_next: temperature 0\n"
            f"  inputs:   logits (4,) {logits}, temperature = 0.0, rng\n"
            f"  raised {type(error).__name__}: {error}\n"
            "  likely mistake: temperature 0 means the argmax: return int(np.argmax(logits)) "
            "before dividing by the temperature.") from None
    if np.ndim(got) != 0 or got != 1:
        raise ExerciseFailure(
            "sample_next: temperature 0\n"
            f"  inputs:   logits (4,) {logits}, temperature = 0.0, rng\n"
            f"  expected: 1 (the argmax)\n  got:      {got!r}\n"
            "  likely mistake: temperature 0 means the argmax: return int(np.argmax(logits)).")


def _check_returns_int(student):
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), forbid(ref.sample_next):
            warnings.simplefilter("ignore")
            got = student(np.array([0.0, 1.0]), 1.0, np.random.default_rng(0))
    except (Exception, ReferenceUsed):
        return  # the cases report it
    if not isinstance(got, (int, np.integer)) or isinstance(got, bool):
        raise ExerciseFailure(
            f"sample_next should return one token id, an int; got {type(got).__name__} "
            f"{got!r}.\n  likely mistake: return int(rng.choice(V, p=p)) (not p, not an "
            "array of draws).")


def check_sample_next(student, *, seed=0, n_random=3, quiet=False):
    """Check sample_next(logits, temperature, rng): 40 draws in a row per case."""
    if not callable(student):
        raise ExerciseFailure(f"sample_next should be a function, got {type(student).__name__}")
    refuse_reference(student, ref.sample_next)  # before the wrapper below hides it
    _check_returns_int(student)
    _check_temperature_zero(student)
    mistakes = [Mistake(m.hint, _repeat(m.fn)) for m in SAMPLE_MISTAKES]
    try:
        # the reference's own wrapper (a different code object than the student's wrapper)
        def reference(logits, temperature, rng):
            return np.array([ref.sample_next(logits, temperature, rng) for _ in range(DRAWS)])

        return check_function(_repeat(student), reference,
                              sample_cases(seed, n_random), name="sample_next",
                              mistakes=mistakes, forbidden=[ref.sample_next], quiet=quiet)
    except ExerciseFailure as failure:
        text = str(failure)
        if "likely mistake" in text:
            raise
        if "NaN" in text or "overflow" in text or "stability" in text:
            raise ExerciseFailure(f"{text}\n  likely mistake: {STABILITY_HINT}") from None
        if "differs" in text:
            raise ExerciseFailure(f"{text}\n  likely mistake: {DRAW_HINT}") from None
        raise


# --- char_rnn_loss_and_grads -----------------------------------------------------------------

KEYS = ("E", "W_xh", "W_hh", "b_h", "W_hy", "b_y")


def _lm(inputs, targets, h0, p, *, sum_loss=False, no_mean_grad=False, assign_dE=False,
        first_h=False):
    """The char-RNN's (loss, grads, h_last), with one of the usual mistakes switched on."""
    N, T = inputs.shape
    V, H = p["E"].shape[0], p["W_hh"].shape[0]
    X = embed(inputs, p["E"])
    H_all, Z = rnn_forward(X, h0, p)
    Z = Z.reshape(N * T, V)
    z = Z - Z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.arange(N * T)
    picked = -logp[rows, targets.reshape(-1)]
    loss = picked.sum() if sum_loss else picked.mean()
    dZ = np.exp(logp)
    dZ[rows, targets.reshape(-1)] -= 1
    if not no_mean_grad:
        dZ /= N * T
    dH, dW_hy, db_y = dense_backward(dZ, H_all.reshape(N * T, H), p["W_hy"])
    g = rnn_backward(dH.reshape(N, T, H), X, h0, H_all, p)
    dE = np.zeros_like(p["E"])
    if assign_dE:
        dE[inputs] = g["X"]
    else:
        np.add.at(dE, inputs, g["X"])
    grads = {"E": dE, "W_xh": g["W_xh"], "W_hh": g["W_hh"], "b_h": g["b_h"],
             "W_hy": dW_hy, "b_y": db_y}
    return float(loss), grads, (H_all[:, 0] if first_h else H_all[:, -1]).copy()


LM_MISTAKES = [
    Mistake("dE is written with dE[inputs] = dX, which keeps only the last of the positions "
            "that share a character; they must add up: np.add.at(dE, inputs, dX).",
            lambda *a: _lm(*a, assign_dE=True)),
    Mistake("the loss is summed over the N*T positions; the contract's loss is their mean "
            "(and its gradient carries the 1/(N*T)).", lambda *a: _lm(*a, sum_loss=True)),
    Mistake("the gradients are N*T times too large: the loss is a mean over N*T positions, so "
            "dJ/dZ = (softmax(Z) - onehot(targets)) / (N*T).",
            lambda *a: _lm(*a, no_mean_grad=True)),
    Mistake("h_last is the first hidden state h_1; return the last one, H_all[:, -1] (the "
            "state the next batch starts from).", lambda *a: _lm(*a, first_h=True)),
]

LM_GRAD_HINTS = {
    "E": "dE collects dJ/dX at every position of each character: np.add.at(dE, inputs, dX).",
    "W_xh": "dW_xh comes from rnn_backward(dH, X, h0, H_all, params) with dH = dZ @ W_hy.T.",
    "W_hh": "dW_hh comes from rnn_backward, which adds the paths through later steps.",
    "b_h": "db_h comes from rnn_backward.",
    "W_hy": "dW_hy = H_rows.T @ dZ over all N*T positions (dense_backward of the read-out).",
    "b_y": "db_y = dZ.sum(axis=0) over all N*T positions.",
}


def _params(rng, V, D, H):
    return {"E": rng.standard_normal((V, D)), "W_xh": 0.5 * rng.standard_normal((D, H)),
            "W_hh": 0.5 * rng.standard_normal((H, H)), "b_h": 0.1 * rng.standard_normal(H),
            "W_hy": 0.5 * rng.standard_normal((H, V)), "b_y": 0.1 * rng.standard_normal(V)}


def _batch(rng, N, T, V, D, H, repeat=False):
    inputs = rng.integers(0, 2 if repeat else V, size=(N, T))
    targets = rng.integers(0, V, size=(N, T))
    return inputs, targets, 0.3 * rng.standard_normal((N, H)), _params(rng, V, D, H)


def lm_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("N=2, T=3, V=5, D=3, H=4, characters repeated", _batch(rng, 2, 3, 5, 3, 4, True)),
        Case("one sequence of one character (N = T = 1)", _batch(rng, 1, 1, 4, 2, 3)),
        Case("N=3, T=5, V=7, D=4, H=6", _batch(rng, 3, 5, 7, 4, 6)),
    ]
    for _ in range(n_random):
        N, T, V, D, H = (int(s) for s in rng.integers(1, 7, size=5))
        V += 1
        out.append(Case(f"random N={N}, T={T}, V={V}, D={D}, H={H}",
                        _batch(rng, N, T, V, D, H, repeat=bool(rng.integers(2)))))
    return out


def _against_numeric(student, seed):
    """Each gradient against finite differences of the student's own loss' true formula."""
    rng = np.random.default_rng(seed + 1)
    inputs, targets, h0, p = _batch(rng, 2, 4, 5, 3, 4, repeat=True)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), \
                forbid(ref.char_rnn_loss_and_grads):
            warnings.simplefilter("ignore")
            got = student(inputs.copy(), targets.copy(), h0.copy(),
                          {k: v.copy() for k, v in p.items()})
        grads = got[1]
        grads = {k: np.asarray(grads[k], dtype=float) for k in KEYS}
    except (Exception, ReferenceUsed):
        return  # the cases say what went wrong
    if any(grads[k].shape != p[k].shape for k in KEYS):
        return  # the cases report shapes
    case = Case("", (inputs, targets, h0, p))
    for k in KEYS:
        def loss(w, k=k):
            return _lm(inputs, targets, h0, {**p, k: w})[0]
        picked = [Mistake(m.hint, lambda *a, f=m.fn, k=k: f(*a)[1][k]) for m in LM_MISTAKES]
        hint = diagnose(picked, case, grads[k]) or LM_GRAD_HINTS[k]
        check_gradient_against_numeric(f"char_rnn_loss_and_grads: d{k} against finite "
                                       "differences", grads[k], numerical_gradient(loss, p[k]),
                                       hint=hint)


def check_char_rnn_loss_and_grads(student, *, seed=0, n_random=3, quiet=False):
    """Check char_rnn_loss_and_grads(inputs, targets, h0, params) -> (loss, grads, h_last)."""
    if not callable(student):
        raise ExerciseFailure("char_rnn_loss_and_grads should be a function, got "
                              f"{type(student).__name__}")
    _against_numeric(student, seed)
    return check_function(student, ref.char_rnn_loss_and_grads, lm_cases(seed, n_random),
                          name="char_rnn_loss_and_grads", mistakes=LM_MISTAKES,
                          rtol=1e-6, atol=1e-9, quiet=quiet)
