"""The references of notebook 10 (positional encoding, masks, scaled dot-product attention
and its backward pass, self-attention) against F.scaled_dot_product_attention and autograd
(float64), the formulas written out, finite differences, and hypothesis."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import utils
from utils.exercises.gradcheck import numerical_gradient
from numerics import quiet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the backward passes")
F = torch.nn.functional

sizes = st.integers(1, 5)
seeds = st.integers(0, 2**32 - 1)
batch_shapes = st.lists(st.integers(1, 3), max_size=2).map(tuple)


def _qkv(rng, batch, Tq, Tk, dk, dv, scale=1.0):
    return (scale * rng.standard_normal((*batch, Tq, dk)),
            scale * rng.standard_normal((*batch, Tk, dk)), rng.standard_normal((*batch, Tk, dv)))


def _torch_attention(Q, K, V, mask=None, dout=None):
    """F.scaled_dot_product_attention's output and, given dout, autograd's dQ, dK, dV."""
    tQ, tK, tV = (torch.tensor(a, requires_grad=True) for a in (Q, K, V))
    out = F.scaled_dot_product_attention(
        tQ, tK, tV, attn_mask=None if mask is None else torch.tensor(mask))
    if dout is None:
        return out.detach().numpy()
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), (tQ.grad.numpy(), tK.grad.numpy(), tV.grad.numpy())


# --- positional_encoding and causal_mask ----------------------------------------------------

@pytest.mark.parametrize("T, d_model", [(1, 1), (5, 4), (7, 5), (16, 9), (3, 64)])
def test_positional_encoding_is_the_formula(T, d_model):
    PE = utils.positional_encoding(T, d_model)
    assert PE.shape == (T, d_model) and PE.dtype == np.float64
    for p in range(T):
        for j in range(d_model):
            i = j // 2
            angle = p / 10000 ** (2 * i / d_model)
            assert PE[p, j] == pytest.approx(math.sin(angle) if j % 2 == 0 else math.cos(angle),
                                             rel=1e-12, abs=1e-15)


def test_positional_encoding_columns():
    PE = utils.positional_encoding(50, 7)  # odd d_model: columns sin, cos, sin, cos, sin, cos, sin
    np.testing.assert_allclose(PE[:, 0], np.sin(np.arange(50)), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(PE[:, 1], np.cos(np.arange(50)), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(PE[0], [0, 1, 0, 1, 0, 1, 0])
    pairs = PE[:, :6].reshape(50, 3, 2)  # (sin, cos) of one angle: on the unit circle
    np.testing.assert_allclose((pairs ** 2).sum(axis=-1), 1.0, rtol=1e-13)
    np.testing.assert_allclose(PE[:, 6], np.sin(np.arange(50) / 10000 ** (6 / 7)), rtol=1e-12)


@pytest.mark.parametrize("args, message", [
    ((0, 4), r"T is 0, expected an integer >= 1"),
    ((3.0, 4), r"T is 3.0, expected an integer"),
    ((3, -2), r"d_model is -2"),
    ((True, 4), r"T is True"),
])
def test_positional_encoding_rejects_bad_sizes(args, message):
    with pytest.raises(ValueError, match=message):
        utils.positional_encoding(*args)


@pytest.mark.parametrize("T", [1, 2, 5])
def test_causal_mask_allows_the_past_and_the_present(T):
    mask = utils.causal_mask(T)
    assert mask.shape == (T, T) and mask.dtype == bool
    i, j = np.indices((T, T))
    np.testing.assert_array_equal(mask, j <= i)
    # PyTorch's is_causal means the same thing
    Q, K, V = _qkv(np.random.default_rng(T), (2,), T, T, 3, 2)
    expected = F.scaled_dot_product_attention(*(torch.tensor(a) for a in (Q, K, V)),
                                              is_causal=True).numpy()
    np.testing.assert_allclose(utils.scaled_dot_product_attention(Q, K, V, mask)[0], expected,
                               rtol=1e-12, atol=1e-14)


def test_causal_mask_rejects_bad_sizes():
    with pytest.raises(ValueError, match=r"T is 0"):
        utils.causal_mask(0)


# --- scaled_dot_product_attention -----------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(batch=batch_shapes, Tq=sizes, Tk=sizes, dk=sizes, dv=sizes, seed=seeds,
       masked=st.booleans())
def test_attention_matches_torch(batch, Tq, Tk, dk, dv, seed, masked):
    rng = np.random.default_rng(seed)
    Q, K, V = _qkv(rng, batch, Tq, Tk, dk, dv)
    mask = rng.random((Tq, Tk)) < 0.7 if masked else None  # rows may be blocked entirely
    out, weights = utils.scaled_dot_product_attention(Q, K, V, mask)
    assert out.shape == (*batch, Tq, dv) and weights.shape == (*batch, Tq, Tk)
    np.testing.assert_allclose(out, _torch_attention(Q, K, V, mask), rtol=1e-12, atol=1e-13)
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(dk)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    allowed = np.ones((Tq, 1), bool) if mask is None else mask.any(axis=1, keepdims=True)
    expected = np.where(allowed, utils.softmax(np.where(allowed, scores, 0.0)), 0.0)
    np.testing.assert_allclose(weights, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out, weights @ V, rtol=1e-12, atol=1e-13)


def test_attention_broadcasts_a_per_sequence_mask():
    rng = np.random.default_rng(1)
    Q, K, V = _qkv(rng, (3, 2), 4, 5, 3, 2)
    mask = rng.random((3, 1, 4, 5)) < 0.8
    mask[..., 0] = True
    out, weights = utils.scaled_dot_product_attention(Q, K, V, mask)
    np.testing.assert_allclose(out, _torch_attention(Q, K, V, mask), rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(weights[~np.broadcast_to(mask, weights.shape)], 0.0)


def test_a_row_allowed_one_key_copies_that_value_and_a_blocked_row_gives_zeros():
    rng = np.random.default_rng(2)
    Q, K, V = _qkv(rng, (2,), 3, 4, 3, 2, scale=30.0)
    mask = np.ones((3, 4), dtype=bool)
    mask[0] = [False, False, True, False]  # only key 2
    mask[1] = False  # nothing at all
    out, weights = quiet(utils.scaled_dot_product_attention, Q, K, V, mask)
    np.testing.assert_array_equal(weights[:, 0], [[0, 0, 1, 0]] * 2)
    np.testing.assert_array_equal(out[:, 0], V[:, 2])
    np.testing.assert_array_equal(weights[:, 1], 0.0)
    np.testing.assert_array_equal(out[:, 1], 0.0)
    np.testing.assert_allclose(weights[:, 2].sum(axis=-1), 1.0)
    np.testing.assert_allclose(out, _torch_attention(Q, K, V, mask), rtol=1e-12, atol=1e-13)


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(1.0, 1000.0), seed=seeds)
def test_attention_is_stable_for_huge_scores(scale, seed):
    """Scores up to |s| ~ 1000 * 1000: no warnings, finite, PyTorch's (near one-hot) rows."""
    rng = np.random.default_rng(seed)
    Q, K, V = _qkv(rng, (2,), 3, 4, 2, 3, scale=np.sqrt(scale) * 30)
    dout = rng.standard_normal((2, 3, 3))
    out, weights = quiet(utils.scaled_dot_product_attention, Q, K, V, utils.causal_mask(4)[1:])
    grads = quiet(utils.attention_backward, dout, Q, K, V, weights)
    assert np.all(np.isfinite(out)) and all(np.all(np.isfinite(g)) for g in grads)
    expected, expected_grads = _torch_attention(Q, K, V, utils.causal_mask(4)[1:], dout)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-8, atol=1e-8)


# --- attention_backward ---------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(batch=batch_shapes, Tq=sizes, Tk=sizes, dk=sizes, dv=sizes, seed=seeds,
       masked=st.booleans())
def test_attention_backward_matches_autograd(batch, Tq, Tk, dk, dv, seed, masked):
    """With the weights of a masked forward pass the same backward is the masked one."""
    rng = np.random.default_rng(seed)
    Q, K, V = _qkv(rng, batch, Tq, Tk, dk, dv)
    mask = None
    if masked:
        mask = rng.random((Tq, Tk)) < 0.6
        mask[:, 0] = True  # (PyTorch's own backward through a blocked row is nan)
    dout = rng.standard_normal((*batch, Tq, dv))
    _, weights = utils.scaled_dot_product_attention(Q, K, V, mask)
    dQ, dK, dV = utils.attention_backward(dout, Q, K, V, weights)
    _, (eQ, eK, eV) = _torch_attention(Q, K, V, mask, dout)
    assert dQ.shape == Q.shape and dK.shape == K.shape and dV.shape == V.shape
    np.testing.assert_allclose(dQ, eQ, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dK, eK, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dV, eV, rtol=1e-10, atol=1e-12)


def test_attention_backward_against_finite_differences():
    rng = np.random.default_rng(3)
    Q, K, V = _qkv(rng, (2,), 3, 4, 3, 2)
    G = rng.standard_normal((2, 3, 2))
    mask = utils.causal_mask(4)[1:]

    def loss(Q=Q, K=K, V=V):
        return np.sum(G * utils.scaled_dot_product_attention(Q, K, V, mask)[0])

    _, weights = utils.scaled_dot_product_attention(Q, K, V, mask)
    dQ, dK, dV = utils.attention_backward(G, Q, K, V, weights)
    np.testing.assert_allclose(dQ, numerical_gradient(lambda v: loss(Q=v), Q), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dK, numerical_gradient(lambda v: loss(K=v), K), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dV, numerical_gradient(lambda v: loss(V=v), V), rtol=1e-6, atol=1e-8)


def test_attention_functions_leave_their_inputs_alone():
    rng = np.random.default_rng(4)
    Q, K, V = _qkv(rng, (2,), 3, 3, 2, 2)
    mask, dout = utils.causal_mask(3), rng.standard_normal((2, 3, 2))
    W = [rng.standard_normal((2, 2)) for _ in range(3)]
    _, weights = utils.scaled_dot_product_attention(Q, K, V, mask)
    arrays = (Q, K, V, mask, dout, weights, *W)
    before = [a.copy() for a in arrays]
    utils.scaled_dot_product_attention(Q, K, V, mask)
    utils.attention_backward(dout, Q, K, V, weights)
    utils.self_attention(Q, *W, mask)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


# --- self_attention -------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(N=sizes, T=sizes, D=sizes, dk=sizes, dv=sizes, seed=seeds, masked=st.booleans())
def test_self_attention_projects_then_attends(N, T, D, dk, dv, seed, masked):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, T, D))
    W_q, W_k, W_v = (rng.standard_normal(s) for s in ((D, dk), (D, dk), (D, dv)))
    mask = utils.causal_mask(T) if masked else None
    out, weights = utils.self_attention(X, W_q, W_k, W_v, mask)
    assert out.shape == (N, T, dv) and weights.shape == (N, T, T)
    expected = _torch_attention(X @ W_q, X @ W_k, X @ W_v, mask)
    np.testing.assert_allclose(out, expected, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-13)
    # a single sequence (T, D) works too
    single, _ = utils.self_attention(X[0], W_q, W_k, W_v, mask)
    np.testing.assert_allclose(single, out[0], rtol=1e-12, atol=1e-13)


# --- shape errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda Q, K, V: utils.scaled_dot_product_attention(Q, K[..., :2], V),
     r"K has shape \(2, 5, 2\), expected \(\.\.\., Tk, dk\) = \(2, Tk, 3\)"),
    (lambda Q, K, V: utils.scaled_dot_product_attention(Q, K, V[:, :4]),
     r"V has shape \(2, 4, 6\), expected \(\.\.\., Tk, dv\) = \(2, 5, dv\)"),
    (lambda Q, K, V: utils.scaled_dot_product_attention(Q, K[:1], V),
     r"K has shape \(1, 5, 3\), expected \(\.\.\., Tk, dk\) = \(2, Tk, 3\)"),
    (lambda Q, K, V: utils.scaled_dot_product_attention(Q[0, 0], K, V),
     r"Q has shape \(3,\), expected \(\.\.\., Tq, dk\)"),
    (lambda Q, K, V: utils.scaled_dot_product_attention(Q, K, V, np.ones((5, 4), bool)),
     r"mask has shape \(5, 4\), expected a shape broadcastable to \(\.\.\., Tq, Tk\) = "
     r"\(2, 4, 5\)"),
    (lambda Q, K, V: utils.scaled_dot_product_attention(Q, K, V, np.ones((4, 5))),
     r"mask must be boolean \(True = may attend\), got dtype float64"),
    (lambda Q, K, V: utils.attention_backward(np.ones((2, 4, 5)), Q, K, V, np.ones((2, 4, 5))),
     r"dout has shape \(2, 4, 5\), expected \(\.\.\., Tq, dv\) = \(2, 4, 6\)"),
    (lambda Q, K, V: utils.attention_backward(np.ones((2, 4, 6)), Q, K, V, np.ones((2, 5, 4))),
     r"weights has shape \(2, 5, 4\), expected \(\.\.\., Tq, Tk\) = \(2, 4, 5\)"),
    (lambda Q, K, V: utils.self_attention(Q, np.ones((3, 2)), np.ones((3, 3)), np.ones((3, 2))),
     r"W_k has shape \(3, 3\), expected \(D, dk\) = \(3, 2\)"),
])
def test_attention_shape_errors(call, message):
    Q, K, V = _qkv(np.random.default_rng(0), (2,), 4, 5, 3, 6)
    with pytest.raises(ValueError, match=message):
        call(Q, K, V)
