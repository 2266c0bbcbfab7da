"""Notebook 11's experiment: a small transformer (pre-norm blocks) learns to sort.

The task: read T symbols (digits 0..V-1) and write them back in increasing order,
``target = sort(tokens)``. Unlike reversal (notebook 10), where every output position reads a
fixed input position, sorting needs *content*: output position i must find the symbol whose
rank is i, comparing symbols with each other. Sequences are drawn uniformly at random,
training batches fresh at every step, held-out sequences from a generator of their own.

The model:

    X = E[tokens] + PE                          (N, T, D)
    X = transformer_block(X, params_l, n_heads)  for each block l
    logits = X @ W_out + b_out                   (N, T, V), cross-entropy against the sorted tokens

The forward pass uses the ``transformer_block`` it is given (the student's); the gradients come
from ``utils.reference.transformer.transformer_block_backward`` (the block's backward pass,
not an exercise), then Adam.
"""
import time

import numpy as np

from ..reference.optim import init_weights
from ..reference.transformer import transformer_block_backward
from .adam import Adam
from .attention import Progress, _cross_entropy, _dense3, _dW, one_thread

NOTEBOOKS = ("11_transformer",)  # what the learning benchmark runs this module for

V_SYMBOLS = 10
T_SEQ = 8
D_MODEL = 32
N_HEADS = 4
D_FF = 64
N_BLOCKS = 1
STEPS = 1000
BATCH = 64
N_TEST = 2000


def sorting_batch(n, rng, T=T_SEQ, V=V_SYMBOLS):
    """(tokens, targets), both (n, T) ints: random symbols and the same sorted."""
    tokens = rng.integers(0, V, size=(n, T))
    return tokens, np.sort(tokens, axis=1)


def test_set(n=N_TEST, T=T_SEQ, V=V_SYMBOLS, seed=54321):
    return sorting_batch(n, np.random.default_rng(seed), T, V)


def init_block(rng, D=D_MODEL, F=D_FF):
    """Weights ~ N(0, 1/fan_in), biases 0, layer norms gamma 1, beta 0 (PyTorch's defaults
    for the norms)."""
    p = {f"W_{k}": init_weights((D, D), D ** -0.5, rng) for k in "qkvo"}
    p.update({f"b_{k}": np.zeros(D) for k in "qkvo"})
    p.update(W1=init_weights((D, F), (2 / D) ** 0.5, rng), b1=np.zeros(F),
             W2=init_weights((F, D), F ** -0.5, rng), b2=np.zeros(D))
    for k in ("ln1", "ln2"):
        p[f"{k}_gamma"], p[f"{k}_beta"] = np.ones(D), np.zeros(D)
    return p


def init_model(rng, V=V_SYMBOLS, D=D_MODEL, F=D_FF, n_blocks=N_BLOCKS):
    """A flat dict: E, W_out, b_out, and each block's keys prefixed ``"l<i>."``."""
    params = {"E": init_weights((V, D), 1.0, rng), "W_out": init_weights((D, V), D ** -0.5, rng),
              "b_out": np.zeros(V)}
    for i in range(n_blocks):
        params.update({f"l{i}.{k}": v for k, v in init_block(rng, D, F).items()})
    return params


def _blocks(params):
    n = len({k.split(".")[0] for k in params if k.startswith("l")})
    return [{k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(f"l{i}.")}
            for i in range(n)]


def forward(params, tokens, block, PE, n_heads=N_HEADS):
    """Logits (N, T, V) and each block's input."""
    X = params["E"][tokens] + PE
    inputs = []
    for p in _blocks(params):
        inputs.append(X)
        X = block(X, p, n_heads)
    return _dense3(X, params["W_out"]) + params["b_out"], inputs, X


def loss_and_grads(params, tokens, targets, block, PE, n_heads=N_HEADS):
    logits, inputs, X = forward(params, tokens, block, PE, n_heads)
    loss, dlogits = _cross_entropy(logits, targets)
    grads = {"W_out": _dW(X, dlogits), "b_out": dlogits.sum(axis=(0, 1))}
    dX = _dense3(dlogits, params["W_out"].T)
    for i, (p, X_in) in reversed(list(enumerate(zip(_blocks(params), inputs)))):
        g = transformer_block_backward(dX, X_in, p, n_heads)
        dX = g.pop("X")
        grads.update({f"l{i}.{k}": v for k, v in g.items()})
    dE = np.zeros_like(params["E"])
    np.add.at(dE, tokens.reshape(-1), dX.reshape(-1, dX.shape[-1]))
    grads["E"] = dE
    return loss, grads


def train(block, positional_encoding, steps=STEPS, batch=BATCH, lr=3e-3, n_blocks=N_BLOCKS,
          seed=0, show=True, label="transformer"):
    """Train on sorting; returns (params, losses, predict, weights_of).

    ``predict(tokens)`` gives the predicted symbols (N, T).
    """
    rng = np.random.default_rng(seed)
    PE = positional_encoding(T_SEQ, D_MODEL)
    params = init_model(rng, n_blocks=n_blocks)
    adam = Adam(params, lr)
    losses = []
    progress = Progress(steps, label, show)
    with one_thread():
        for step in range(1, steps + 1):
            tokens, targets = sorting_batch(batch, rng)
            loss, grads = loss_and_grads(params, tokens, targets, block, PE)
            adam.step(grads)
            losses.append(loss)
            progress(step, np.mean(losses[-50:]))

    def predict(tokens):
        return forward(params, tokens, block, PE)[0].argmax(axis=-1)

    return params, np.array(losses), predict, PE


def accuracy(predict, tokens, targets):
    right = predict(tokens) == targets
    return float(right.mean()), float(right.all(axis=1).mean())


def learning_results(quick=False):
    """Held-out symbol accuracy of the transformer (trained with the references)."""
    from ..reference.attention import positional_encoding
    from ..reference.transformer import transformer_block

    steps = 150 if quick else STEPS
    tokens, targets = test_set()
    start = time.perf_counter()
    _, _, predict, _ = train(transformer_block, positional_encoding, steps=steps, show=False)
    yield {"notebook": "11_transformer", "experiment": "sorting", "model": "transformer",
           "metric": "test_accuracy", "value": accuracy(predict, tokens, targets)[0],
           "seconds": time.perf_counter() - start}
