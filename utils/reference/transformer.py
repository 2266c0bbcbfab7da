"""The transformer block (notebook 11): layer norm, multi-head attention, the feed-forward
network, and a pre-norm encoder block built from them, with their backward passes.

The block is PyTorch's ``nn.TransformerEncoderLayer(norm_first=True, activation="relu",
dropout=0)`` in the course's row-vector form (``x @ W`` is PyTorch's ``W x``):

    A = X + MHA(LN1(X))                  attention: every position gathers from the others
    Y = A + FFN(LN2(A))                  feed-forward: every position on its own
    FFN(x) = relu(x @ W1 + b1) @ W2 + b2

The residual connections (the "X +" and "A +") give the gradient a path around every
sublayer, which is what lets deep stacks of blocks train.

Parameter keys: W_q, W_k, W_v, W_o (D, D) and b_q, b_k, b_v, b_o (D,) for the attention;
ln1_gamma, ln1_beta, ln2_gamma, ln2_beta (D,) for the norms; W1 (D, F), b1 (F,), W2 (F, D),
b2 (D,) for the feed-forward network (PyTorch's dim_feedforward is F). Every backward pass
returns a dict with the keys of the parameters it uses plus "X" for its input.

Beyond the notebook's graded functions (layer_norm, multi_head_attention, transformer_block)
this module has their backward passes, ``layer_norm_backward``, ``feed_forward`` and
``feed_forward_backward``, ``multi_head_attention_backward`` and
``transformer_block_backward``. Internally every pass works on (N*T, D) rows, so that each
dense layer is one 2-D matmul, and the forward passes keep what the backward passes need.
"""
import numpy as np

from .attention import attention_grads, attention_weights, check_mask
from .backprop import dense_backward
from .shapes import check_int, check_params, check_scalar, check_shape

MHA_SPECS = {**{f"W_{k}": ("D", "D") for k in "qkvo"}, **{f"b_{k}": ("D",) for k in "qkvo"}}
LN_SPECS = {"ln1_gamma": ("D",), "ln1_beta": ("D",), "ln2_gamma": ("D",), "ln2_beta": ("D",)}
FFN_SPECS = {"W1": ("D", "F"), "b1": ("F",), "W2": ("F", "D"), "b2": ("D",)}
BLOCK_SPECS = {**MHA_SPECS, **LN_SPECS, **FFN_SPECS}


# --- layer norm ---------------------------------------------------------------------------

def layer_norm(x, gamma, beta, eps=1e-5):
    """Layer normalisation over the last axis (``nn.LayerNorm(D)``).

        mu = mean_d x_d,   var = mean_d (x_d - mu)^2        biased variance, per row
        xhat = (x - mu) / sqrt(var + eps)                   mean 0, variance ~1 per row
        y = gamma * xhat + beta                             a learned scale and shift

    Args:
        x: (..., D).  gamma, beta: (D,).  eps: added to the variance (keeps 1/sqrt finite
        for a constant row).
    Returns:
        (..., D), like x.
    """
    x, gamma, beta, eps = _check_layer_norm(x, gamma, beta, eps)
    y = _layer_norm(x.reshape(-1, x.shape[-1]), gamma, beta, eps, keep=False)[0]
    return y.reshape(x.shape)


def _check_layer_norm(x, gamma, beta, eps, dims=None):
    dims = {} if dims is None else dims
    x = check_shape("x", x, (..., "D"), dims)
    gamma = check_shape("gamma", gamma, ("D",), dims)
    beta = check_shape("beta", beta, ("D",), dims)
    eps = check_scalar("eps", eps)
    if not eps > 0:
        raise ValueError(f"eps is {eps}, expected a number > 0")
    return x, gamma, beta, eps


def _layer_norm(x, gamma, beta, eps=1e-5, keep=True):
    """Layer norm of (M, D) rows; returns (y, xhat, rstd) with rstd = 1 / sqrt(var + eps).

    With ``keep=False`` (no backward pass to come) y is made in xhat's place and xhat is not
    returned: one (M, D) array fewer.
    """
    xhat = x - x.mean(axis=1, keepdims=True)
    var = np.einsum("md,md->m", xhat, xhat)[:, None] / x.shape[1]  # no (M, D) square kept
    rstd = 1.0 / np.sqrt(var + eps)
    xhat *= rstd
    y = xhat * gamma if keep else np.multiply(xhat, gamma, out=xhat)
    y += beta
    return (y, xhat, rstd) if keep else (y, None, rstd)


def layer_norm_backward(dy, x, gamma, eps=1e-5):
    """The backward pass of :func:`layer_norm` (runs the forward pass itself).

        y = gamma * xhat + beta         dgamma = sum over rows of dy * xhat,  dbeta = sum dy
                                        dxhat = dy * gamma
        xhat = (x - mu) * rstd          dx = rstd * (dxhat - mean(dxhat)
                                                     - xhat * mean(dxhat * xhat))

    The second line collects three paths from x to xhat in one row (means over that row):
    directly, through mu (d mu / dx_d = 1/D, hence - mean(dxhat)), and through var
    (d var / dx_d = 2 (x_d - mu) / D, hence - xhat * mean(dxhat * xhat)).

    Args:
        dy: (..., D) gradient of the loss with respect to y.  x: (..., D) the input.
        gamma: (D,).  eps: as in the forward pass.
    Returns:
        (dx (..., D), dgamma (D,), dbeta (D,)).
    """
    dims = {}
    x, gamma, _, eps = _check_layer_norm(x, gamma, np.zeros(np.shape(gamma)), eps, dims)
    dy = check_shape("dy", dy, (..., "D"), dims)
    D = x.shape[-1]
    _, xhat, rstd = _layer_norm(x.reshape(-1, D), gamma, 0.0, eps)
    dx, dgamma, dbeta = _layer_norm_backward(dy.reshape(-1, D), xhat, rstd, gamma)
    return dx.reshape(x.shape), dgamma, dbeta


def _layer_norm_backward(dy, xhat, rstd, gamma):
    """(dx, dgamma, dbeta) for (M, D) rows, from the forward's xhat and rstd."""
    D = xhat.shape[1]
    dgamma = np.einsum("md,md->d", dy, xhat)
    dbeta = dy.sum(axis=0)
    dxhat = dy * gamma
    dx = dxhat - dxhat.mean(axis=1, keepdims=True)
    dx -= xhat * (np.einsum("md,md->m", dxhat, xhat)[:, None] / D)
    dx *= rstd
    return dx, dgamma, dbeta


# --- feed-forward network -----------------------------------------------------------------

def feed_forward(X, params):
    """The position-wise feed-forward network: FFN(x) = relu(x @ W1 + b1) @ W2 + b2.

    Args:
        X: (..., D), each row on its own.  params: dict with W1 (D, F), b1 (F,), W2 (F, D),
        b2 (D,).
    Returns:
        (..., D).
    """
    X, W1, b1, W2, b2 = _check_ffn(X, params)
    return _ffn_forward(X.reshape(-1, X.shape[-1]), W1, b1, W2, b2)[0].reshape(X.shape)


def _check_ffn(X, params, dims=None):
    dims = {} if dims is None else dims
    X = check_shape("X", X, (..., "D"), dims)
    return (X, *check_params(params, FFN_SPECS, dims))


def _ffn_forward(x, W1, b1, W2, b2):
    """FFN of (M, D) rows; returns (out, R) with R = relu(x @ W1 + b1), kept for backward."""
    R = x @ W1
    R += b1
    np.maximum(R, 0.0, out=R)  # relu (utils.relu), in place: the pre-activations are not needed
    out = R @ W2
    out += b2
    return out, R


def feed_forward_backward(dout, X, params):
    """The backward pass of :func:`feed_forward` (runs the forward pass itself).

        Z = x @ W1 + b1        dx, dW1, db1 = dense_backward(dZ, x, W1)
        R = relu(Z)            dZ = dR * relu'(Z) = dR * [R > 0]      (R > 0 exactly where Z > 0)
        out = R @ W2 + b2      dR, dW2, db2 = dense_backward(dout, R, W2)

    Args:
        dout: (..., D) gradient of the loss with respect to the output.  X: (..., D) input.
        params: dict with W1 (D, F), b1 (F,), W2 (F, D), b2 (D,).
    Returns:
        dict with W1, b1, W2, b2 and X (shaped like X).
    """
    dims = {}
    X, W1, b1, W2, b2 = _check_ffn(X, params, dims)
    dout = check_shape("dout", dout, (..., "D"), dims)
    x = X.reshape(-1, X.shape[-1])
    _, R = _ffn_forward(x, W1, b1, W2, b2)
    grads = _ffn_backward(dout.reshape(x.shape), x, R, W1, W2)
    grads["X"] = grads["X"].reshape(X.shape)
    return grads


def _ffn_backward(dout, x, R, W1, W2):
    dR, dW2, db2 = dense_backward(dout, R, W2)
    dR *= R > 0  # relu'(z) = 1 where z > 0, else 0 (utils.relu_grad)
    dx, dW1, db1 = dense_backward(dR, x, W1)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "X": dx}


# --- multi-head attention -----------------------------------------------------------------

def multi_head_attention(X, params, n_heads, mask=None):
    """Multi-head self-attention (``nn.MultiheadAttention`` on (X, X, X), batch first).

        Q = X @ W_q + b_q,   K = X @ W_k + b_k,   V = X @ W_v + b_v            (N, T, D)
        head_h = attention(Q_h, K_h, V_h, mask)    Q_h: the h-th block of D / n_heads columns
        out = concat(head_1, ..., head_n) @ W_o + b_o                          (N, T, D)

    Each head attends with its own slice of the projections (dk = D / n_heads), so the heads
    can look for different things at the cost of one head of size D.

    Args:
        X: (N, T, D) sequences.  params: dict with W_q, W_k, W_v, W_o (D, D) and b_q, b_k,
        b_v, b_o (D,).  n_heads: a divisor of D.
        mask: optional bool broadcastable to (N, n_heads, T, T) (e.g. (T, T) for every
        sequence and head), True = may attend.
    Returns:
        (N, T, D).
    """
    X, p, mask = _check_mha(X, params, n_heads, mask)
    N, T, D = X.shape
    return _mha_forward(X.reshape(N * T, D), N, p, n_heads, mask)[0].reshape(N, T, D)


def _check_mha(X, params, n_heads, mask, specs=MHA_SPECS, dims=None):
    """Validate X (N, T, D), params against ``specs``, n_heads and the mask."""
    dims = {} if dims is None else dims
    X = check_shape("X", X, ("N", "T", "D"), dims)
    p = dict(zip(specs, check_params(params, specs, dims)))
    n_heads = check_int("n_heads", n_heads, 1)
    N, T, D = X.shape
    if D % n_heads:
        raise ValueError(f"n_heads is {n_heads}, expected a divisor of D = {D}")
    return X, p, check_mask(mask, (N, n_heads, T, T))


def _split_heads(Z, N, n_heads):
    """(N*T, D) rows -> (N, n_heads, T, dk) with dk = D / n_heads, a view: head h is the
    column block h*dk:(h+1)*dk. Writing into the view joins the heads back side by side."""
    NT, D = Z.shape
    return Z.reshape(N, NT // N, n_heads, D // n_heads).transpose(0, 2, 1, 3)


def _mha_forward(x, N, p, n_heads, mask):
    """MHA of (N*T, D) rows; returns (out, cache) for :func:`_mha_backward`."""
    D = x.shape[1]
    W_qkv = np.concatenate([p["W_q"], p["W_k"], p["W_v"]], axis=1)  # one matmul, not three
    qkv = x @ W_qkv
    qkv += np.concatenate([p["b_q"], p["b_k"], p["b_v"]])
    Q, K, V = (_split_heads(qkv[:, k * D:(k + 1) * D], N, n_heads) for k in range(3))
    weights = attention_weights(Q, K, mask)  # scaled_dot_product_attention, head by head
    concat = np.empty_like(x)  # each head's output goes straight into its block of columns
    np.matmul(weights, V, out=_split_heads(concat, N, n_heads))
    out = concat @ p["W_o"]
    out += p["b_o"]
    return out, (x, W_qkv, Q, K, V, weights, concat)


def multi_head_attention_backward(dout, X, params, n_heads, mask=None):
    """The backward pass of :func:`multi_head_attention` (runs the forward pass itself).

        [Q K V] = X @ [W_q W_k W_v] + [b_q b_k b_v]    dX, d[W_q W_k W_v], d[b_q b_k b_v]
                                                           = dense_backward(d[Q K V], X, ...)
        head_h = attention(Q_h, K_h, V_h)               dQ_h, dK_h, dV_h = attention_backward(
                                                           dhead_h, Q_h, K_h, V_h, weights_h)
        out = concat(heads) @ W_o + b_o                 dconcat, dW_o, db_o
                                                           = dense_backward(dout, concat, W_o)

    The heads are column blocks, so splitting dconcat into dhead_h and joining dQ_h into dQ
    are the same reshapes as in the forward pass.

    Args:
        dout: (N, T, D) gradient of the loss with respect to the output.
        X, params, n_heads, mask: as in :func:`multi_head_attention`.
    Returns:
        dict with W_q, W_k, W_v, W_o (D, D), b_q, b_k, b_v, b_o (D,) and X (N, T, D).
    """
    dims = {}
    X, p, mask = _check_mha(X, params, n_heads, mask, dims=dims)
    dout = check_shape("dout", dout, ("N", "T", "D"), dims)
    N, T, D = X.shape
    _, cache = _mha_forward(X.reshape(N * T, D), N, p, n_heads, mask)
    grads = _mha_backward(dout.reshape(N * T, D), cache, p["W_o"])
    grads["X"] = grads["X"].reshape(N, T, D)
    return grads


def _mha_backward(dout, cache, W_o):
    x, W_qkv, Q, K, V, weights, concat = cache
    N, n_heads, T, dk = Q.shape
    D = n_heads * dk
    dconcat, dW_o, db_o = dense_backward(dout, concat, W_o)
    dqkv = np.empty((N * T, 3 * D))  # attention_backward writes dQ, dK, dV into its blocks
    attention_grads(_split_heads(dconcat, N, n_heads), Q, K, V, weights,
                    out=[_split_heads(dqkv[:, k * D:(k + 1) * D], N, n_heads) for k in range(3)])
    dx, dW_qkv, db_qkv = dense_backward(dqkv, x, W_qkv)
    grads = {"W_o": dW_o, "b_o": db_o, "X": dx}
    for k, name in enumerate("qkv"):
        grads[f"W_{name}"] = dW_qkv[:, k * D:(k + 1) * D]
        grads[f"b_{name}"] = db_qkv[k * D:(k + 1) * D]
    return grads


# --- the block ----------------------------------------------------------------------------

def transformer_block(X, params, n_heads, mask=None):
    """A pre-norm transformer encoder block.

        A = X + MHA(LN1(X))
        Y = A + FFN(LN2(A)),   FFN(x) = relu(x @ W1 + b1) @ W2 + b2

    The same computation as PyTorch's ``nn.TransformerEncoderLayer(D, n_heads, F,
    dropout=0, activation="relu", batch_first=True, norm_first=True)`` with
    ``src_mask=~mask`` (PyTorch's mask marks what may *not* attend).

    Args:
        X: (N, T, D) sequences.
        params: dict with W_q, W_k, W_v, W_o (D, D), b_q, b_k, b_v, b_o (D,), ln1_gamma,
        ln1_beta, ln2_gamma, ln2_beta (D,), W1 (D, F), b1 (F,), W2 (F, D), b2 (D,).
        n_heads: a divisor of D.
        mask: optional bool broadcastable to (N, n_heads, T, T), True = may attend (e.g.
        ``causal_mask(T)``).
    Returns:
        (N, T, D).
    """
    X, p, mask = _check_mha(X, params, n_heads, mask, specs=BLOCK_SPECS)
    return _block_forward(X, p, n_heads, mask, keep=False)[0]


def _block_forward(X, p, n_heads, mask, keep=True):
    """The block on validated inputs; returns (Y, cache).

    Without ``keep`` (no backward pass to come) the cache is None and each intermediate is
    let go as soon as it has been used, so that the memory allocator hands its pages to the
    next one: fresh pages cost a page fault each, which at the benchmark's sizes can be a
    third of the forward pass's time.
    """
    N, T, D = X.shape
    x = X.reshape(N * T, D)
    ln1, xhat1, rstd1 = _layer_norm(x, p["ln1_gamma"], p["ln1_beta"], keep=keep)
    A, mha_cache = _mha_forward(ln1, N, p, n_heads, mask)
    A += x
    if not keep:
        ln1 = mha_cache = None
    ln2, xhat2, rstd2 = _layer_norm(A, p["ln2_gamma"], p["ln2_beta"], keep=keep)
    Y, R = _ffn_forward(ln2, p["W1"], p["b1"], p["W2"], p["b2"])
    Y += A
    if not keep:
        return Y.reshape(N, T, D), None
    return Y.reshape(N, T, D), (xhat1, rstd1, mha_cache, xhat2, rstd2, ln2, R)


def transformer_block_backward(dout, X, params, n_heads, mask=None):
    """The backward pass of :func:`transformer_block` (runs the forward pass itself).

    The forward lines, each next to the backward line that reverses it:

        x1 = LN1(X)                dX = dA + LN1 backward of dx1      (residual: dA goes on)
        A = X + MHA(x1)            dx1, dW_q.., db_q.. = MHA backward of dA
        x2 = LN2(A)                dA = dY + LN2 backward of dx2      (residual: dY goes on)
        Y = A + FFN(x2)            dx2, dW1, db1, dW2, db2 = FFN backward of dY

    Each residual connection adds its input to a sublayer's output, so its gradient is the
    sum of the gradient passed straight on and the one through the sublayer.

    Args:
        dout: (N, T, D) gradient of the loss with respect to the block's output Y.
        X, params, n_heads, mask: as in :func:`transformer_block`.
    Returns:
        dict with the keys of ``params`` (each shaped like its parameter) and X (N, T, D).
    """
    dims = {}
    X, p, mask = _check_mha(X, params, n_heads, mask, specs=BLOCK_SPECS, dims=dims)
    dout = check_shape("dout", dout, ("N", "T", "D"), dims)
    N, T, D = X.shape
    _, (xhat1, rstd1, mha_cache, xhat2, rstd2, ln2, R) = _block_forward(X, p, n_heads, mask)

    # each cached array is let go once used (see _block_forward: reused pages cost no faults)
    dY = dout.reshape(N * T, D)
    grads = _ffn_backward(dY, ln2, R, p["W1"], p["W2"])
    del ln2, R
    dA, grads["ln2_gamma"], grads["ln2_beta"] = _layer_norm_backward(
        grads.pop("X"), xhat2, rstd2, p["ln2_gamma"])
    del xhat2
    dA += dY
    grads.update(_mha_backward(dA, mha_cache, p["W_o"]))
    del mha_cache
    dX, grads["ln1_gamma"], grads["ln1_beta"] = _layer_norm_backward(
        grads.pop("X"), xhat1, rstd1, p["ln1_gamma"])
    dX += dA
    grads["X"] = dX.reshape(N, T, D)
    return grads
