"""The course's reference implementations and the helpers its notebooks share.

Every graded function of the course has a reference of the same name and signature here,
importable as ``utils.<name>``. Submodules load on first use, so ``import utils`` is instant
and pulls in neither matplotlib nor ipywidgets.

    utils.perceptron_forward, utils.sigmoid, ...   reference implementations
    utils.gradcheck                                 finite-difference gradient checks
    utils.checking                                  the engine behind every exercise check
    utils.exercises.<topic>                         the checks each notebook's tests call
    utils.widgets, utils.plotting, utils.data       interactive figures and data sets
"""
from importlib import import_module

# name -> submodule holding its reference implementation (the curriculum's graded functions)
_REFERENCES = {
    "perceptron_forward": "perceptron",
    **dict.fromkeys(
        ["sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad"], "activations"
    ),
    **dict.fromkeys(["dense_forward", "mlp_forward"], "mlp"),
    **dict.fromkeys(
        ["mse_loss", "mse_grad", "bce_loss", "bce_grad", "bce_with_logits_loss",
         "bce_with_logits_grad", "softmax", "cross_entropy_loss", "cross_entropy_grad"],
        "losses",
    ),
    **dict.fromkeys(["init_weights", "gradient_descent", "minibatch_sgd"], "optim"),
    **dict.fromkeys(["dense_backward", "mlp_loss_and_grads"], "backprop"),
    **dict.fromkeys(
        ["rnn_step", "rnn_forward", "embed", "rnn_backward", "clip_by_global_norm"], "rnn"
    ),
    **dict.fromkeys(["lstm_step", "lstm_forward", "lstm_backward", "gru_step"], "gated"),
    **dict.fromkeys(
        ["positional_encoding", "causal_mask", "scaled_dot_product_attention",
         "attention_backward", "self_attention"],
        "attention",
    ),
    **dict.fromkeys(["layer_norm", "multi_head_attention", "transformer_block"], "transformer"),
    **dict.fromkeys(["sample_next", "char_rnn_loss_and_grads"], "language_model"),
}
_SUBMODULES = {"checking", "data", "exercises", "gradcheck", "plotting", "shapes", "widgets"}

__all__ = sorted(_REFERENCES)


def __getattr__(name):
    if name in _REFERENCES:
        value = getattr(import_module(f"{__name__}.{_REFERENCES[name]}"), name)
    elif name in _SUBMODULES:
        value = import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'utils' has no attribute {name!r}")
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_REFERENCES) | _SUBMODULES)
