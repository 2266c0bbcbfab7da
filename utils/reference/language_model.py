"""A character-level language model (notebook 12): the course's parts trained end to end.

Characters are integer ids in [0, V). The model reads a batch of sequences and, at every
position, predicts the next character:

    x_t = E[c_t]                                   embedding (notebook 07)
    h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h)  the RNN (notebook 07)
    z_t = h_t @ W_hy + b_y                         logits over the V characters
    J = mean over all N*T positions of -log softmax(z_t)[c_{t+1}]    cross-entropy (notebook 04)

trained by backpropagation through time (notebook 08) with clipped gradients, then sampled
one character at a time with :func:`sample_next`.
"""
import numpy as np

from .backprop import dense_backward
from .losses import cross_entropy_grad, cross_entropy_loss, softmax
from .optim import _check_rng
from .rnn import check_indices, embed, rnn_backward, rnn_forward
from .shapes import check_params, check_scalar, check_shape

CHAR_RNN_SPECS = {"E": ("V", "D"), "W_xh": ("D", "H"), "W_hh": ("H", "H"), "b_h": ("H",),
                  "W_hy": ("H", "V"), "b_y": ("V",)}


def sample_next(logits, temperature, rng):
    """Draw the next token from the model's scores.

        p = softmax(logits / temperature),   next ~ p      (rng.choice(V, p=p))
        temperature == 0: the argmax (the limit of temperature -> 0)

    Temperature reshapes the distribution: below 1 it sharpens it towards the likeliest
    tokens, above 1 it flattens it towards uniform. The maximum is subtracted before the
    division, so every scaled score is <= 0 and a tiny temperature sends the others to -inf
    (probability 0) instead of overflowing.

    Args:
        logits: (V,) scores.  temperature: scalar >= 0.
        rng: a ``numpy.random.Generator``; one ``rng.choice`` draw when temperature > 0.
    Returns:
        int, a token id in [0, V).
    """
    logits = check_shape("logits", logits, ("V",))
    temperature = check_scalar("temperature", temperature)
    if not temperature >= 0:
        raise ValueError(f"temperature is {temperature}, expected a number >= 0")
    rng = _check_rng(rng)
    if logits.size == 0:
        raise ValueError("logits has shape (0,), expected at least one score")
    if temperature == 0:
        return int(np.argmax(logits))
    with np.errstate(over="ignore"):  # (z - max) / tiny temperature -> -inf: probability 0
        scaled = (logits - logits.max()) / temperature
    return int(rng.choice(logits.shape[0], p=softmax(scaled)))


def char_rnn_loss_and_grads(inputs, targets, h0, params):
    """Loss of the character RNN on a batch, its gradients, and the last hidden state.

    Forward, then backward line by line in reverse:

        X = embed(inputs, E)               dE[c] += dX[n, t] for every (n, t) with inputs = c
        H_all = rnn(X, h0)                 dW_xh, dW_hh, db_h, dX, dh0 = rnn_backward(dH, ...)
        Z = H_all @ W_hy + b_y             dH, dW_hy, db_y = dense_backward(dZ, H_all, W_hy)
        J = cross_entropy(Z, targets)      dZ = (softmax(Z) - onehot(targets)) / (N T)

    An embedding row used at several positions collects all their gradients (np.add.at adds
    repeated indices; fancy-index assignment would keep only the last).

    Args:
        inputs: (N, T) integer character ids in [0, V).
        targets: (N, T) the ids to predict (usually the inputs shifted by one position).
        h0: (N, H) initial hidden state (zeros, or the previous batch's h_last).
        params: dict with E (V, D), W_xh (D, H), W_hh (H, H), b_h (H,), W_hy (H, V), b_y (V,).
    Returns:
        (loss, grads, h_last): the float mean cross-entropy over all N*T positions, a dict
        with the keys of ``params``, and the final hidden state h_T (N, H) to carry on to the
        next batch (truncated backpropagation through time).
    """
    dims = {}
    E, *_, W_hy, _ = check_params(params, CHAR_RNN_SPECS, dims)
    V, H = E.shape[0], W_hy.shape[0]
    inputs = check_indices("inputs", inputs, V, dims)
    targets = check_indices("targets", targets, V, dims)
    h0 = check_shape("h0", h0, ("N", "H"), dims)
    N, T = inputs.shape

    X = embed(inputs, E)
    H_all, Z = rnn_forward(X, h0, params)
    Z, labels, H_rows = Z.reshape(N * T, V), targets.reshape(N * T), H_all.reshape(N * T, H)
    loss = cross_entropy_loss(Z, labels)

    dZ = cross_entropy_grad(Z, labels)
    dH, dW_hy, db_y = dense_backward(dZ, H_rows, W_hy)
    grads = rnn_backward(dH.reshape(N, T, H), X, h0, H_all, params)
    dE = np.zeros_like(E)
    np.add.at(dE, inputs, grads.pop("X"))
    del grads["h0"]
    grads.update(E=dE, W_hy=dW_hy, b_y=db_y)
    return loss, {k: grads[k] for k in CHAR_RNN_SPECS}, H_all[:, -1].copy()
