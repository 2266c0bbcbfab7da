"""The curriculum's graded functions per notebook (../shared/curriculum.md), as tests see them."""
GRADED = {
    "01_perceptron": ["perceptron_forward"],
    "02_activation_functions": ["sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu",
                                "relu_grad"],
    "03_multilayer_perceptron": ["dense_forward", "mlp_forward"],
    "04_loss_functions": ["mse_loss", "mse_grad", "bce_loss", "bce_grad", "bce_with_logits_loss",
                          "bce_with_logits_grad", "softmax", "cross_entropy_loss",
                          "cross_entropy_grad"],
    "05_gradient_descent": ["init_weights", "gradient_descent", "minibatch_sgd"],
    "06_backpropagation": ["dense_backward", "mlp_loss_and_grads"],
    "07_recurrent_neural_networks": ["rnn_step", "rnn_forward", "embed"],
    "08_backpropagation_through_time": ["rnn_backward", "clip_by_global_norm"],
    "09_lstm_gru": ["lstm_step", "lstm_forward", "lstm_backward", "gru_step"],
    "10_attention": ["positional_encoding", "causal_mask", "scaled_dot_product_attention",
                     "attention_backward", "self_attention"],
    "11_transformer": ["layer_norm", "multi_head_attention", "transformer_block"],
    "12_language_model": ["sample_next", "char_rnn_loss_and_grads"],
}
