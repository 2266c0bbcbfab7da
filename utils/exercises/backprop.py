"""Checks for notebook 06: the backward pass of a dense layer and of the two-layer perceptron.

Each check first compares the student's gradients with finite differences of the true loss
(one gradient at a time, with a hint when the wrong one matches a typical mistake), then runs
the named cases against the reference.
"""
import warnings

import numpy as np

from ..reference import backprop as ref
from .checking import (Case, Mistake, ReferenceUsed, check_function,
                        check_gradient_against_numeric, diagnose, difference, forbid)
from .gradcheck import numerical_gradient
from ..reference.mlp import MLP_KEYS

# --- dense_backward ---------------------------------------------------------------------------


def _dense(dZ, X, W, dX=None, dW=None, db=None):
    """The right (dX, dW, db), with any of them replaced by a wrong version."""
    return (dZ @ W.T if dX is None else dX, X.T @ dZ if dW is None else dW,
            dZ.sum(axis=0) if db is None else db)


DENSE_MISTAKES = [
    Mistake("dW = X @ dZ misses a transpose: dJ/dw_ij = sum_n x_ni dz_nj, i.e. dW = X.T @ dZ "
            "(shape (D, H), like W).", lambda dZ, X, W: _dense(dZ, X, W, dW=X @ dZ)),
    Mistake("dW = dZ @ X multiplies in the wrong order: dW = X.T @ dZ (shape (D, H), like W).",
            lambda dZ, X, W: _dense(dZ, X, W, dW=dZ @ X)),
    Mistake("dW is transposed: dZ.T @ X has shape (H, D); dW = X.T @ dZ has W's shape (D, H).",
            lambda dZ, X, W: _dense(dZ, X, W, dW=dZ.T @ X)),
    Mistake("dX needs W transposed: dJ/dx_ni = sum_j dz_nj w_ij, i.e. dX = dZ @ W.T.",
            lambda dZ, X, W: _dense(dZ, X, W, dX=dZ @ W)),
    Mistake("dX is transposed: W @ dZ.T has shape (D, N); dX = dZ @ W.T has X's shape (N, D).",
            lambda dZ, X, W: _dense(dZ, X, W, dX=W @ dZ.T)),
    Mistake("db is not summed over the batch: b is added to every row, so its gradient adds "
            "up the rows' contributions, db = dZ.sum(axis=0) (shape (H,)).",
            lambda dZ, X, W: _dense(dZ, X, W, db=dZ)),
    Mistake("db is summed over the wrong axis: sum over the batch (axis 0), db = dZ.sum(axis=0).",
            lambda dZ, X, W: _dense(dZ, X, W, db=dZ.sum(axis=1))),
    Mistake("db has shape (1, H): sum without keepdims, db = dZ.sum(axis=0), shape (H,) like b.",
            lambda dZ, X, W: _dense(dZ, X, W, db=dZ.sum(axis=0, keepdims=True))),
    Mistake("db is averaged over the batch; it is a sum, db = dZ.sum(axis=0) (any averaging "
            "already happened in the loss, so it is inside dZ).",
            lambda dZ, X, W: _dense(dZ, X, W, db=dZ.mean(axis=0))),
    Mistake("dW is divided by N; it is a sum over the rows, dW = X.T @ dZ (the loss's 1/N is "
            "already inside dZ).", lambda dZ, X, W: _dense(dZ, X, W, dW=X.T @ dZ / len(X))),
    Mistake("every sign is flipped: the gradients are dZ @ W.T, X.T @ dZ and dZ.sum(axis=0), "
            "with no minus (the minus belongs to the update W <- W - lr * dW).",
            lambda dZ, X, W: tuple(-g for g in _dense(dZ, X, W))),
    Mistake("the results come in the wrong order: return (dX, dW, db).",
            lambda dZ, X, W: _dense(dZ, X, W)[1::-1] + (dZ.sum(axis=0),)),
    Mistake("the results come in the wrong order: return (dX, dW, db).",
            lambda dZ, X, W: _dense(dZ, X, W)[1:] + (dZ @ W.T,)),
]

DENSE_GRAD_HINTS = {
    "dX": "dX = dZ @ W.T: row n of X reaches every z_nj through w_ij.",
    "dW": "dW = X.T @ dZ: w_ij meets x_ni in every row n, so the rows' terms add up.",
    "db": "db = dZ.sum(axis=0): b_j is added to every row's z_nj.",
}


def _layer(rng, N, D, H):
    return rng.standard_normal((N, H)), rng.standard_normal((N, D)), rng.standard_normal((D, H))


def dense_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    # The square layer comes first: there every transposition mistake still fits the shapes,
    # so it shows up as a value with a hint instead of a matmul error.
    out = [
        Case("a square layer (N = D = H = 3)", _layer(rng, 3, 3, 3)),
        Case("a small layer N=2, D=3, H=2", (
            np.array([[1.0, -1.0], [0.5, 2.0]]),
            np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]]),
            np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]))),
        Case("one row (N = 1)", _layer(rng, 1, 4, 3)),
        Case("one output unit (H = 1)", _layer(rng, 5, 3, 1)),
        Case("dZ = 0 gives zero gradients", (np.zeros((4, 2)), *_layer(rng, 4, 3, 2)[1:])),
    ]
    for _ in range(n_random):
        N, D, H = (int(s) for s in rng.integers(1, 7, size=3))
        out.append(Case(f"random shapes N={N}, D={D}, H={H}", _layer(rng, N, D, H)))
    return out


def _dense_against_numeric(student, seed):
    """dX, dW, db against finite differences of J = sum(G * (X @ W + b)), whose dJ/dZ is G."""
    rng = np.random.default_rng(seed + 1)
    N, D, H = 5, 3, 4  # all different: a wrong transpose cannot hide behind a square shape
    G, X, W = _layer(rng, N, D, H)
    b = rng.standard_normal(H)
    try:
        got = _quiet_call(student, ref.dense_backward, G.copy(), X.copy(), W.copy())
        got = tuple(np.asarray(g, dtype=float) for g in got)
    except (Exception, ReferenceUsed):
        return  # the cases below say what went wrong
    if len(got) != 3 or [g.shape for g in got] != [(N, D), (D, H), (H,)]:
        return  # wrong structure or shapes: the cases below report it with a hint
    numeric = (numerical_gradient(lambda X_: np.sum(G * (X_ @ W + b)), X),
               numerical_gradient(lambda W_: np.sum(G * (X @ W_ + b)), W),
               numerical_gradient(lambda b_: np.sum(G * (X @ W + b_)), b))
    case = Case("", (G, X, W))
    for i, name in enumerate(("dX", "dW", "db")):
        hint = _component_hint(DENSE_MISTAKES, case, lambda out, i=i: out[i], got[i])
        check_gradient_against_numeric(f"dense_backward: {name} against finite differences",
                                       got[i], numeric[i], hint=hint or DENSE_GRAD_HINTS[name])


def _quiet_call(student, reference, *args):
    """``student(*args)`` with its reference forbidden and numpy's warnings silenced.

    The finite-difference stage only compares values; warnings, in-place changes and the
    like are reported by the named cases that follow, with a message each.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"), forbid(reference):
        warnings.simplefilter("ignore")
        return student(*args)


def _component_hint(mistakes, case, pick, got):
    """The hint of the first mistake whose ``pick``-ed part matches ``got``'s part."""
    picked = [Mistake(m.hint, lambda *a, f=m.fn: pick(f(*a))) for m in mistakes]
    return diagnose(picked, case, got)


def check_dense_backward(student, *, seed=0, n_random=3, quiet=False):
    """Check dense_backward(dZ, X, W) -> (dZ @ W.T, X.T @ dZ, dZ.sum(0)).

    First against finite differences, then against the reference on named cases.
    """
    _dense_against_numeric(student, seed)
    check_function(student, ref.dense_backward, dense_cases(seed, n_random),
                   mistakes=DENSE_MISTAKES, quiet=quiet)


# --- mlp_loss_and_grads -----------------------------------------------------------------------


def _mlp(X, y, p, activation, *, deriv="z", dY_scale="NK", loss_scale="NK", sign=1.0,
         b_mean=False, b_keepdims=False, dW_T=False, dA_no_T=False, w2_input="A",
         w1_input="X"):
    """The right (loss, grads) by default; each keyword swaps in one typical mistake.

    deriv: "z" g'(Z1) (right), "a" g'(A) (evaluated at the output), "none" (forgotten).
    dY_scale / loss_scale: what the squared errors are divided by: "NK" (right), "N", "1".
    """
    g, g_grad = ref.activation_pair(activation)
    N, K = y.shape
    Z1 = X @ p["W1"] + p["b1"]
    A = g(Z1)
    Y = A @ p["W2"] + p["b2"]
    scales = {"NK": N * K, "N": N, "1": 1}
    loss = float(np.sum((Y - y) ** 2) / scales[loss_scale])
    two = 1.0 if dY_scale.startswith("no2") else 2.0
    dY = sign * two * (Y - y) / scales[dY_scale.removeprefix("no2")]
    bsum = (lambda d: d.mean(axis=0)) if b_mean else (
        lambda d: d.sum(axis=0, keepdims=b_keepdims))
    inputs = {"X": X, "Z1": Z1, "A": A}
    dW2 = dY.T @ A if dW_T else inputs[w2_input].T @ dY
    dA = dY @ p["W2"] if dA_no_T else dY @ p["W2"].T
    dZ1 = {"z": dA * g_grad(Z1), "a": dA * g_grad(A), "none": dA}[deriv]
    dW1 = dZ1.T @ X if dW_T else inputs[w1_input].T @ dZ1
    return loss, {"W1": dW1, "b1": bsum(dZ1), "W2": dW2, "b2": bsum(dY)}


def _wrong(**how):
    return lambda X, y, p, activation: _mlp(X, y, p, activation, **how)


MLP_MISTAKES = [
    Mistake("the activation's derivative is missing: through A = g(Z1) the chain rule "
            "multiplies by g'(Z1), so dZ1 = dA * g'(Z1).", _wrong(deriv="none")),
    Mistake("g' is evaluated at the activation's output A; it belongs at the pre-activation: "
            "dZ1 = dA * g_grad(Z1), not g_grad(A) (keep Z1 from the forward pass).",
            _wrong(deriv="a")),
    Mistake("the factor 2 of the square is missing: d/dY mean((Y - y)^2) = 2 (Y - y) / (N K).",
            _wrong(dY_scale="no2NK")),
    Mistake("the 1/(N K) of the mean is missing from dY: the loss averages over all N*K "
            "entries, so dY = 2 (Y - y) / (N K) (y.size is N K).", _wrong(dY_scale="1")),
    Mistake("dY is divided by N only; the loss averages over all N*K entries, so "
            "dY = 2 (Y - y) / (N K).", _wrong(dY_scale="N")),
    # the same gradients with a wrong loss too: matched on the whole output, after the above
    Mistake("the loss is a sum, not a mean: J = mean((Y - y)^2) over all N*K entries, and "
            "dY = 2 (Y - y) / (N K).", _wrong(dY_scale="1", loss_scale="1")),
    Mistake("the mean runs over the rows only (divided by N); MSE averages over every entry, "
            "N*K of them: J = mean((Y - y)^2), dY = 2 (Y - y) / (N K).",
            _wrong(dY_scale="N", loss_scale="N")),
    Mistake("every gradient has the wrong sign: dY = 2 (Y - y) / (N K), prediction minus "
            "target (the minus belongs to the update W <- W - lr * dW).", _wrong(sign=-1.0)),
    Mistake("the bias gradients are averaged over the batch; they are sums, "
            "db = dZ.sum(axis=0) (the 1/(N K) is already inside dY).", _wrong(b_mean=True)),
    Mistake("the bias gradients have shape (1, n): sum without keepdims, db = dZ.sum(axis=0), "
            "shaped like b.", _wrong(b_keepdims=True)),
    Mistake("dW2 uses the pre-activation Z1; the output layer's input is A = g(Z1), so "
            "dW2 = A.T @ dY.", _wrong(w2_input="Z1")),
    Mistake("dW1 uses the hidden activations A; the first layer's input is X, so "
            "dW1 = X.T @ dZ1.", _wrong(w1_input="A")),
    Mistake("the weight gradients are transposed: dW = A.T @ dY has W's shape, "
            "dY.T @ A does not.", _wrong(dW_T=True)),
    Mistake("dA needs W2 transposed: dA = dY @ W2.T (shape (N, H), like A).",
            _wrong(dA_no_T=True)),
]

MLP_GRAD_HINTS = {
    "W2": "dW2 = A.T @ dY with dY = 2 (Y - y) / (N K).",
    "b2": "db2 = dY.sum(axis=0) with dY = 2 (Y - y) / (N K).",
    "W1": "dW1 = X.T @ dZ1 with dZ1 = (dY @ W2.T) * g'(Z1).",
    "b1": "db1 = dZ1.sum(axis=0) with dZ1 = (dY @ W2.T) * g'(Z1).",
}


def _params(rng, D, H, K, scale=1.0):
    return {"W1": scale * rng.standard_normal((D, H)), "b1": rng.standard_normal(H),
            "W2": rng.standard_normal((H, K)), "b2": rng.standard_normal(K)}


def _net(rng, N, D, H, K, activation, scale=1.0):
    """A random case (X, y, params, activation)."""
    return (rng.standard_normal((N, D)), rng.standard_normal((N, K)),
            _params(rng, D, H, K, scale), activation)


def _saturated(rng, activation):
    """Pre-activations Z1 = X @ W1 + b1 of +-710 to +-1000: exp(-z) overflows unless avoided."""
    X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, -0.5, 0.25]])
    W1 = np.array([[1000.0, -1000.0, 3.0, -2.0], [-720.0, 710.0, -0.5, 1.0],
                   [40.0, -30.0, 800.0, -900.0]])
    p = {**_params(rng, 3, 4, 2), "W1": W1, "b1": np.array([0.0, -0.5, 0.5, 0.0])}
    return X, rng.standard_normal((4, 2)), p, activation


def mlp_cases(seed, n_random):
    rng = np.random.default_rng(seed)
    X, y, p, _ = _net(rng, 3, 3, 3, 3, "relu")
    dead = {**p, "b1": np.full(3, -100.0)}
    out = [
        Case("a square network N = D = H = K = 3, tanh", _net(rng, 3, 3, 3, 3, "tanh")),
        Case("N=5, D=3, H=4, K=2 with sigmoid", _net(rng, 5, 3, 4, 2, "sigmoid")),
        Case("N=5, D=3, H=4, K=2 with tanh", _net(rng, 5, 3, 4, 2, "tanh")),
        Case("N=5, D=3, H=4, K=2 with relu", _net(rng, 5, 3, 4, 2, "relu")),
        Case("one output (K = 1), sigmoid", _net(rng, 4, 2, 5, 1, "sigmoid")),
        Case("one sample (N = 1), relu", _net(rng, 1, 3, 4, 2, "relu")),
        Case("every ReLU dead (b1 = -100): no gradient reaches W1 and b1",
             (X, y, dead, "relu")),
        Case("saturated sigmoid, |Z1| up to 1000 (stability)", _saturated(rng, "sigmoid")),
        Case("saturated tanh, |Z1| up to 1000 (stability)", _saturated(rng, "tanh")),
    ]
    for _ in range(n_random):
        N, D, H, K = (int(s) for s in rng.integers(1, 7, size=4))
        activation = str(rng.choice(list(ref.ACTIVATIONS)))
        out.append(Case(f"random shapes N={N}, D={D}, H={H}, K={K}, {activation}",
                        _net(rng, N, D, H, K, activation)))
    return out


def _loss(X, y, p, activation):
    """J = mean((g(X @ W1 + b1) @ W2 + b2 - y)^2): what the finite differences differentiate."""
    g, _ = ref.activation_pair(activation)
    return np.mean((g(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] - y) ** 2)


def _mlp_against_numeric(student, seed):
    """Each gradient against finite differences, for each activation, on a small network."""
    rng = np.random.default_rng(seed + 1)
    for activation in ref.ACTIVATIONS:
        X, y, p, _ = _net(rng, 5, 3, 4, 2, activation)
        while np.abs(X @ p["W1"] + p["b1"]).min() < 1e-3:  # keep ReLU's kink out of reach of h
            X, y, p, _ = _net(rng, 5, 3, 4, 2, activation)
        try:
            loss, grads = _quiet_call(student, ref.mlp_loss_and_grads, X.copy(), y.copy(),
                                      {k: v.copy() for k, v in p.items()}, activation)
            grads = {k: np.asarray(grads[k], dtype=float) for k in MLP_KEYS}
        except (Exception, ReferenceUsed):
            return  # the cases below say what went wrong
        if any(grads[k].shape != p[k].shape for k in MLP_KEYS):
            return  # the cases below report the shapes with a hint
        if difference(_loss(X, y, p, activation), loss) is not None:
            return  # a wrong loss: the cases below show it next to its likely mistake
        case = Case("", (X, y, p, activation))
        for key in ("W2", "b2", "W1", "b1"):  # in backward order: the first failure is the cause
            numeric = numerical_gradient(lambda v, key=key: _loss(X, y, {**p, key: v}, activation),
                                         p[key])
            hint = _component_hint(MLP_MISTAKES, case, lambda out, key=key: out[1][key],
                                   grads[key])
            check_gradient_against_numeric(
                f"mlp_loss_and_grads ({activation}): grads['{key}'] against finite differences",
                grads[key], numeric, hint=hint or MLP_GRAD_HINTS[key])


def check_mlp_loss_and_grads(student, *, seed=0, n_random=3, quiet=False):
    """Check mlp_loss_and_grads(X, y, params, activation) -> (loss, grads).

    First every gradient against finite differences (sigmoid, tanh and relu networks), then
    the loss and gradients against the reference on named cases.
    """
    _mlp_against_numeric(student, seed)
    check_function(student, ref.mlp_loss_and_grads, mlp_cases(seed, n_random),
                   mistakes=MLP_MISTAKES, quiet=quiet)
