"""The references of notebook 11 (layer norm, multi-head attention, the pre-norm transformer
block) and their backward passes against nn.LayerNorm, nn.MultiheadAttention,
nn.TransformerEncoderLayer(norm_first=True) and autograd (float64), finite differences, and
hypothesis; and the speed benchmark's PyTorch layer against utils (the same computation)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import utils
from benchmarks import reference
from utils.reference import transformer
from utils.exercises.gradcheck import numerical_gradient
from numerics import quiet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the backward passes")
F = torch.nn.functional

MHA_KEYS = tuple(transformer.MHA_SPECS)
FFN_KEYS = tuple(transformer.FFN_SPECS)
BLOCK_KEYS = tuple(transformer.BLOCK_SPECS)
seeds = st.integers(0, 2**32 - 1)


def _block_params(rng, D, F_, scale=1.0):
    p = {k: scale * rng.standard_normal(s) / np.sqrt(s[0]) for k, s in
         {**{f"W_{k}": (D, D) for k in "qkvo"}, "W1": (D, F_), "W2": (F_, D)}.items()}
    p.update({f"b_{k}": rng.standard_normal(D) for k in "qkvo"})
    p.update(b1=rng.standard_normal(F_), b2=rng.standard_normal(D))
    for k in ("ln1", "ln2"):
        p[f"{k}_gamma"] = 1.0 + 0.5 * rng.standard_normal(D)
        p[f"{k}_beta"] = rng.standard_normal(D)
    return p


def _torch_grads(layer, p):
    """The gradients held by a torch_block layer, under utils' keys and shapes."""
    attn, D = layer.self_attn, p["W_q"].shape[0]
    W, b = attn.in_proj_weight.grad.numpy().T, attn.in_proj_bias.grad.numpy()
    grads = {f"W_{k}": W[:, i * D:(i + 1) * D] for i, k in enumerate("qkv")}
    grads.update({f"b_{k}": b[i * D:(i + 1) * D] for i, k in enumerate("qkv")})
    grads.update(W_o=attn.out_proj.weight.grad.numpy().T, b_o=attn.out_proj.bias.grad.numpy(),
                 W1=layer.linear1.weight.grad.numpy().T, b1=layer.linear1.bias.grad.numpy(),
                 W2=layer.linear2.weight.grad.numpy().T, b2=layer.linear2.bias.grad.numpy(),
                 ln1_gamma=layer.norm1.weight.grad.numpy(), ln1_beta=layer.norm1.bias.grad.numpy(),
                 ln2_gamma=layer.norm2.weight.grad.numpy(), ln2_beta=layer.norm2.bias.grad.numpy())
    return grads


def _torch_block(X, p, n_heads, mask=None, dout=None):
    """nn.TransformerEncoderLayer(norm_first=True) with p copied in: output (and gradients)."""
    layer = reference.torch_block(p, n_heads)
    tX = torch.tensor(X, requires_grad=True)
    out = layer(tX, src_mask=None if mask is None else ~torch.tensor(mask))
    if dout is None:
        return out.detach().numpy()
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), {**_torch_grads(layer, p), "X": tX.grad.numpy()}


def _assert_grads(grads, expected, keys, rtol=1e-9, atol=1e-11):
    assert set(grads) == set(keys)
    for k in keys:
        assert grads[k].shape == expected[k].shape, k
        np.testing.assert_allclose(grads[k], expected[k], rtol=rtol, atol=atol, err_msg=k)


@st.composite
def block_sizes(draw):
    n_heads = draw(st.integers(1, 3))
    return (draw(st.integers(1, 3)), draw(st.integers(1, 5)), n_heads * draw(st.integers(1, 3)),
            n_heads, draw(st.integers(1, 6)))


# --- layer norm -----------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple), seed=seeds,
       scale=st.floats(0.01, 1000.0))
def test_layer_norm_matches_torch(shape, seed, scale):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal(shape) + rng.uniform(-scale, scale)
    gamma, beta = rng.standard_normal(shape[-1]), rng.standard_normal(shape[-1])
    dy = rng.standard_normal(shape)
    tx = torch.tensor(x, requires_grad=True)
    tg, tb = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    y_ref = F.layer_norm(tx, shape[-1:], tg, tb, eps=1e-5)
    y_ref.backward(torch.tensor(dy))
    y = quiet(utils.layer_norm, x, gamma, beta)
    dx, dgamma, dbeta = quiet(transformer.layer_norm_backward, dy, x, gamma)
    assert y.shape == shape
    np.testing.assert_allclose(y, y_ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    # atol: x - mean(x) carries rounding ~ eps * |x| that 1 / sqrt(var + eps) can magnify
    # (D = 1: ours is exactly 0, PyTorch's ~1e-11)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(dgamma, tg.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(dbeta, tb.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_layer_norm_normalises_each_row_and_survives_constant_rows():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6)) * 50 + 7
    x[1] = 3.0  # variance 0: eps keeps it finite
    y = quiet(utils.layer_norm, x, np.ones(6), np.zeros(6))
    np.testing.assert_allclose(y[[0, 2, 3]].mean(axis=1), 0.0, atol=1e-14)
    np.testing.assert_allclose(y[[0, 2, 3]].var(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(y[1], 0.0)
    np.testing.assert_allclose(utils.layer_norm(x, np.full(6, 2.0), np.full(6, -1.0)), 2 * y - 1)
    gamma = rng.standard_normal(6)
    ref = torch.nn.LayerNorm(6, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        np.testing.assert_allclose(utils.layer_norm(x, gamma, ref.bias.numpy()),
                                   ref(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-13)


def test_layer_norm_backward_against_finite_differences():
    rng = np.random.default_rng(1)
    x, gamma, beta, G = (rng.standard_normal(s) for s in ((2, 3, 4), 4, 4, (2, 3, 4)))
    dx, dgamma, dbeta = transformer.layer_norm_backward(G, x, gamma)
    for value, arg, grad in ((x, 0, dx), (gamma, 1, dgamma), (beta, 2, dbeta)):
        def loss(v, arg=arg):
            args = [x, gamma, beta]
            args[arg] = v
            return np.sum(G * utils.layer_norm(*args))
        np.testing.assert_allclose(grad, numerical_gradient(loss, value), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("args, message", [
    ((np.ones((2, 3)), np.ones(4), np.ones(3)),
     r"gamma has shape \(4,\), expected \(D,\) = \(3,\)"),
    ((np.ones((2, 3)), np.ones(3), np.ones((3, 1))), r"beta has shape \(3, 1\), expected \(D,\)"),
    ((np.ones((2, 3)), np.ones(3), np.ones(3), 0.0), r"eps is 0.0, expected a number > 0"),
])
def test_layer_norm_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        utils.layer_norm(*args)


# --- feed-forward network -------------------------------------------------------------------

def test_feed_forward_and_its_backward():
    rng = np.random.default_rng(2)
    p = _block_params(rng, 3, 5)
    x, G = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    out = transformer.feed_forward(x, p)
    np.testing.assert_allclose(out, np.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"],
                               rtol=1e-13)
    grads = transformer.feed_forward_backward(G, x, p)
    assert set(grads) == {*FFN_KEYS, "X"} and grads["X"].shape == x.shape
    assert np.abs(x @ p["W1"] + p["b1"]).min() > 1e-4  # away from relu's kink
    for k in FFN_KEYS:
        numeric = numerical_gradient(lambda v: np.sum(G * transformer.feed_forward(x, {**p, k: v})),
                                     p[k])
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-8, err_msg=k)
    numeric = numerical_gradient(lambda v: np.sum(G * transformer.feed_forward(v, p)), x)
    np.testing.assert_allclose(grads["X"], numeric, rtol=1e-6, atol=1e-8)


# --- multi-head attention -------------------------------------------------------------------

def _torch_mha(X, p, n_heads, mask=None, dout=None):
    D = X.shape[-1]
    mha = torch.nn.MultiheadAttention(D, n_heads, batch_first=True, dtype=torch.float64)
    layer = reference.torch_block({**_block_params(np.random.default_rng(0), D, 1), **p}, n_heads)
    mha.load_state_dict(layer.self_attn.state_dict())
    tX = torch.tensor(X, requires_grad=True)
    out, _ = mha(tX, tX, tX, attn_mask=None if mask is None else ~torch.tensor(mask),
                 need_weights=False)
    if dout is None:
        return out.detach().numpy()
    out.backward(torch.tensor(dout))
    layer.self_attn.load_state_dict(mha.state_dict())
    W, b = mha.in_proj_weight.grad.numpy().T, mha.in_proj_bias.grad.numpy()
    grads = {f"W_{k}": W[:, i * D:(i + 1) * D] for i, k in enumerate("qkv")}
    grads.update({f"b_{k}": b[i * D:(i + 1) * D] for i, k in enumerate("qkv")})
    grads.update(W_o=mha.out_proj.weight.grad.numpy().T, b_o=mha.out_proj.bias.grad.numpy(),
                 X=tX.grad.numpy())
    return out.detach().numpy(), grads


@settings(max_examples=30, deadline=None)
@given(sizes=block_sizes(), seed=seeds, masked=st.booleans())
def test_multi_head_attention_matches_torch(sizes, seed, masked):
    N, T, D, n_heads, _ = sizes
    rng = np.random.default_rng(seed)
    X, dout = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, D))
    p = {k: v for k, v in _block_params(rng, D, 1).items() if k in MHA_KEYS}
    mask = utils.causal_mask(T) if masked else None
    out = utils.multi_head_attention(X, p, n_heads, mask)
    expected_out, expected = _torch_mha(X, p, n_heads, mask, dout)
    assert out.shape == (N, T, D)
    np.testing.assert_allclose(out, expected_out, rtol=1e-10, atol=1e-12)
    grads = transformer.multi_head_attention_backward(dout, X, p, n_heads, mask)
    _assert_grads(grads, expected, (*MHA_KEYS, "X"))


def test_multi_head_attention_heads_are_contiguous_column_blocks():
    """Two heads = self-attention on each half of the projections, then W_o on the concat."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2, 4, 6))
    p = {k: v for k, v in _block_params(rng, 6, 1).items() if k in MHA_KEYS}
    Q, K, V = (X @ p[f"W_{k}"] + p[f"b_{k}"] for k in "qkv")
    halves = [utils.scaled_dot_product_attention(Q[..., s], K[..., s], V[..., s])[0]
              for s in (slice(0, 3), slice(3, 6))]
    np.testing.assert_allclose(utils.multi_head_attention(X, p, 2),
                               np.concatenate(halves, axis=-1) @ p["W_o"] + p["b_o"], rtol=1e-12)


def test_multi_head_attention_backward_against_finite_differences():
    rng = np.random.default_rng(4)
    X, G = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    p = {k: v for k, v in _block_params(rng, 4, 1).items() if k in MHA_KEYS}
    mask = utils.causal_mask(3)
    grads = transformer.multi_head_attention_backward(G, X, p, 2, mask)
    for k in MHA_KEYS:
        numeric = numerical_gradient(
            lambda v: np.sum(G * utils.multi_head_attention(X, {**p, k: v}, 2, mask)), p[k])
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-8, err_msg=k)
    numeric = numerical_gradient(lambda v: np.sum(G * utils.multi_head_attention(v, p, 2, mask)), X)
    np.testing.assert_allclose(grads["X"], numeric, rtol=1e-6, atol=1e-8)


# --- the transformer block ------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(sizes=block_sizes(), seed=seeds, masked=st.booleans())
def test_transformer_block_matches_torch(sizes, seed, masked):
    N, T, D, n_heads, F_ = sizes
    rng = np.random.default_rng(seed)
    X, dout = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, D))
    p = _block_params(rng, D, F_)
    mask = utils.causal_mask(T) if masked else None
    expected_out, expected = _torch_block(X, p, n_heads, mask, dout)
    out = utils.transformer_block(X, p, n_heads, mask)
    assert out.shape == (N, T, D)
    np.testing.assert_allclose(out, expected_out, rtol=1e-10, atol=1e-11)
    grads = transformer.transformer_block_backward(dout, X, p, n_heads, mask)
    _assert_grads(grads, expected, (*BLOCK_KEYS, "X"), rtol=1e-8, atol=1e-10)


def test_transformer_block_is_pre_norm_with_two_residuals():
    rng = np.random.default_rng(5)
    X, p = rng.standard_normal((2, 3, 4)), _block_params(rng, 4, 6)
    mask = utils.causal_mask(3)
    A = X + utils.multi_head_attention(utils.layer_norm(X, p["ln1_gamma"], p["ln1_beta"]), p, 2,
                                       mask)
    Y = A + transformer.feed_forward(utils.layer_norm(A, p["ln2_gamma"], p["ln2_beta"]), p)
    np.testing.assert_allclose(utils.transformer_block(X, p, 2, mask), Y, rtol=1e-12, atol=1e-13)


def test_transformer_block_backward_against_finite_differences():
    rng = np.random.default_rng(6)
    X, G = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    p, mask = _block_params(rng, 4, 5), utils.causal_mask(3)
    grads = transformer.transformer_block_backward(G, X, p, 2, mask)

    def loss(X=X, **changed):
        return np.sum(G * utils.transformer_block(X, {**p, **changed}, 2, mask))

    for k in BLOCK_KEYS:
        numeric = numerical_gradient(lambda v: loss(**{k: v}), p[k])
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-5, atol=1e-7, err_msg=k)
    np.testing.assert_allclose(grads["X"], numerical_gradient(lambda v: loss(X=v), X),
                               rtol=1e-5, atol=1e-7)


def test_transformer_block_is_stable_for_huge_inputs():
    rng = np.random.default_rng(7)
    X, dout = 1000.0 * rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 4))
    p, mask = _block_params(rng, 4, 6, scale=30.0), utils.causal_mask(4)
    out = quiet(utils.transformer_block, X, p, 2, mask)
    grads = quiet(transformer.transformer_block_backward, dout, X, p, 2, mask)
    assert np.all(np.isfinite(out)) and all(np.all(np.isfinite(g)) for g in grads.values())
    expected_out, expected = _torch_block(X, p, 2, mask, dout)
    np.testing.assert_allclose(out, expected_out, rtol=1e-8, atol=1e-8)
    # Near-saturated softmax rows make some gradients (W_q's, ~1e-60 here) pure rounding noise
    # in float64 (PyTorch's come out ~1e-11 on some machines): compare every key on the scale
    # of the block's largest gradient, which is what a wrong formula would disturb.
    scale = max(np.abs(g).max() for g in expected.values())
    for k in expected:
        np.testing.assert_allclose(grads[k], expected[k], rtol=1e-6, atol=1e-9 * scale, err_msg=k)


def test_transformer_functions_leave_their_inputs_alone():
    rng = np.random.default_rng(8)
    X, dout = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    p = _block_params(rng, 4, 5)
    mask = utils.causal_mask(3)
    arrays = (X, dout, mask, *p.values())
    before = [a.copy() for a in arrays]
    utils.layer_norm(X, p["ln1_gamma"], p["ln1_beta"])
    transformer.layer_norm_backward(dout, X, p["ln1_gamma"])
    utils.multi_head_attention(X, p, 2, mask)
    transformer.multi_head_attention_backward(dout, X, p, 2, mask)
    transformer.feed_forward_backward(dout, X, p)
    utils.transformer_block(X, p, 2, mask)
    transformer.transformer_block_backward(dout, X, p, 2, mask)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call, message", [
    (lambda X, p: utils.transformer_block(X, p, 3), r"n_heads is 3, expected a divisor of D = 4"),
    (lambda X, p: utils.transformer_block(X, p, 0), r"n_heads is 0, expected an integer >= 1"),
    (lambda X, p: utils.transformer_block(X, p, 2, np.ones((3, 2), bool)),
     r"mask has shape \(3, 2\), expected a shape broadcastable to \(\.\.\., Tq, Tk\) = "
     r"\(2, 2, 3, 3\)"),
    (lambda X, p: utils.transformer_block(X, {**p, "W1": np.ones((5, 4))}, 2),
     r"params\['W1'\] has shape \(5, 4\), expected \(D, F\) = \(4, F\)"),
    (lambda X, p: utils.transformer_block(X, {**p, "b2": np.ones(5)}, 2),
     r"params\['b2'\] has shape \(5,\), expected \(D,\) = \(4,\)"),
    (lambda X, p: utils.transformer_block(X, {k: v for k, v in p.items() if "ln2" not in k}, 2),
     r"missing key\(s\) \['ln2_gamma', 'ln2_beta'\]"),
    (lambda X, p: utils.multi_head_attention(X[0], p, 2),
     r"X has shape \(3, 4\), expected \(N, T, D\)"),
    (lambda X, p: transformer.transformer_block_backward(X[:, :2], X, p, 2),
     r"dout has shape \(2, 2, 4\), expected \(N, T, D\) = \(2, 3, 4\)"),
])
def test_transformer_shape_errors(call, message):
    rng = np.random.default_rng(0)
    X, p = rng.standard_normal((2, 3, 4)), _block_params(rng, 4, 5)
    with pytest.raises(ValueError, match=message):
        call(X, p)


# --- the speed benchmark computes the same thing on both sides --------------------------------

def test_benchmark_transformer_cases_compare_the_same_computation():
    """benchmarks/reference.py: PyTorch's layer holds utils' weights, forward and backward."""
    X, p, mask, layer = reference.block_inputs(np.random.default_rng(0))
    ours, theirs = reference.transformer_forward_case(np.random.default_rng(0))
    np.testing.assert_allclose(ours(), theirs().numpy(), rtol=1e-9, atol=1e-10)

    rng = np.random.default_rng(0)
    X, p, mask, layer = reference.block_inputs(rng)
    dout = rng.standard_normal(X.shape)  # the backward case's next draw
    ours, _ = reference.transformer_backward_case(np.random.default_rng(0))
    tX = torch.tensor(X, requires_grad=True)
    layer(tX, src_mask=~torch.tensor(mask)).backward(torch.tensor(dout))
    _assert_grads(ours(), {**_torch_grads(layer, p), "X": tX.grad.numpy()}, (*BLOCK_KEYS, "X"),
                  rtol=1e-7, atol=1e-9)
