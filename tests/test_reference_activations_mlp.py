"""utils' activations, dense layer and MLP against PyTorch, finite differences and identities."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import utils
from utils.exercises.gradcheck import numerical_derivative, relative_error
from numerics import quiet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle (make test installs it)")
F = torch.nn.functional

NAMES = ["sigmoid", "tanh", "relu"]
EDGES = np.array([-1000.0, -745.0, -710.0, -50.0, -1e-300, 0.0, 1e-300, 1e-8, 50.0, 710.0,
                  1000.0])

finite_z = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False)
z_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
                      elements=finite_z)


def torch_value_and_grad(name, z):
    """torch.<name>(z) and d/dz of it by autograd, elementwise, in float64."""
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    out = getattr(torch, name)(t)
    out.sum().backward()
    return out.detach().numpy(), t.grad.numpy()


# --- activations ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_values_and_derivatives_match_torch_at_the_edges(name):
    value, grad = torch_value_and_grad(name, EDGES)
    # atol: tanh's stable form (1 - e^{-2|z|}) / (1 + e^{-2|z|}) cancels for |z| < 1e-8, an
    # absolute error below 1e-16 (np.expm1 would keep the relative precision too)
    np.testing.assert_allclose(quiet(getattr(utils, name), EDGES), value, rtol=1e-13,
                               atol=1e-16)
    np.testing.assert_allclose(quiet(getattr(utils, name + "_grad"), EDGES), grad, rtol=1e-12,
                               atol=1e-300)


@settings(max_examples=60, deadline=None)
@given(z_arrays, st.sampled_from(NAMES))
def test_values_and_derivatives_match_torch(z, name):
    value, grad = torch_value_and_grad(name, np.atleast_1d(z))
    ours = quiet(getattr(utils, name), z)
    ours_grad = quiet(getattr(utils, name + "_grad"), z)
    np.testing.assert_allclose(np.atleast_1d(ours), value, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.atleast_1d(ours_grad), grad, rtol=1e-10, atol=1e-15)


@settings(max_examples=80, deadline=None)
@given(z_arrays, st.sampled_from(NAMES))
def test_stable_same_shape_float64_and_in_range(z, name):
    for suffix in ("", "_grad"):
        out = quiet(getattr(utils, name + suffix), z)
        assert out.shape == np.shape(z) and out.dtype == np.float64
        assert np.all(np.isfinite(out))
    low, high = {"sigmoid": (0, 1), "tanh": (-1, 1), "relu": (0, np.inf)}[name]
    out = getattr(utils, name)(z)
    assert np.all((out >= low) & (out <= high))


@settings(max_examples=50, deadline=None)
@given(z_arrays)
def test_identities(z):
    s, t = utils.sigmoid(z), utils.tanh(z)
    np.testing.assert_allclose(utils.sigmoid(-z), 1 - s, atol=1e-15)   # symmetry
    np.testing.assert_allclose(t, 2 * utils.sigmoid(2 * z) - 1, atol=1e-15)
    np.testing.assert_allclose(utils.tanh(-z), -t, atol=0)
    np.testing.assert_allclose(utils.relu(z) - utils.relu(-z), z, atol=0)
    np.testing.assert_allclose(utils.sigmoid_grad(z), s * (1 - s), atol=1e-16)
    np.testing.assert_allclose(utils.tanh_grad(z), 1 - t ** 2, atol=1e-16)


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_match_finite_differences(name):
    z = np.random.default_rng(0).uniform(-6, 6, 200)
    z = z[np.abs(z) > 1e-3]  # away from relu's kink
    analytic = getattr(utils, name + "_grad")(z)
    assert relative_error(analytic, numerical_derivative(getattr(utils, name), z)) < 1e-8


def test_relu_grad_at_zero_is_zero_like_torch():
    assert utils.relu_grad(0.0) == 0.0
    assert torch_value_and_grad("relu", np.array([0.0]))[1][0] == 0.0


@pytest.mark.parametrize("name", [n + s for n in NAMES for s in ("", "_grad")])
def test_scalars_integers_and_inputs_untouched(name):
    f = getattr(utils, name)
    assert np.shape(f(0.5)) == () and np.shape(f(np.float64(-2))) == ()
    ints = np.array([-3, 0, 2])
    out = f(ints)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, f(ints.astype(float)))
    z = np.array([[-1.0, 0.0], [2.0, -1000.0]])
    before = z.copy()
    f(z)
    np.testing.assert_array_equal(z, before)


def test_the_naive_formulas_really_overflow():
    """The notebook's claim: 1 / (1 + e^{-z}) warns at z = -1000 and e^z / (1 + e^z) is nan."""
    z = np.array([-1000.0, 1000.0])
    with pytest.warns(RuntimeWarning, match="overflow"):
        naive = 1 / (1 + np.exp(-z))
    np.testing.assert_array_equal(naive, [0.0, 1.0])
    with np.errstate(all="ignore"):
        assert np.isnan(np.exp(z) / (1 + np.exp(z)))[1]


# --- dense layer and MLP ----------------------------------------------------------------------

def _params(rng, D, H, K):
    return {"W1": rng.normal(0, 2, (D, H)), "b1": rng.normal(0, 2, H),
            "W2": rng.normal(0, 2, (H, K)), "b2": rng.normal(0, 2, K)}


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 12), st.integers(1, 7), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_dense_forward_matches_torch_linear(N, D, H, seed):
    rng = np.random.default_rng(seed)
    X, W, b = rng.normal(0, 3, (N, D)), rng.normal(0, 3, (D, H)), rng.normal(0, 3, H)
    ours = utils.dense_forward(X, W, b)
    theirs = F.linear(_t(X), _t(W).T, _t(b)).numpy()   # torch stores the transpose, (H, D)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert ours.shape == (N, H) and ours.dtype == np.float64


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 10), st.integers(1, 6), st.integers(1, 8), st.integers(1, 5),
       st.integers(0, 2**32 - 1), st.sampled_from(NAMES))
def test_mlp_forward_matches_torch(N, D, H, K, seed, name):
    rng = np.random.default_rng(seed)
    X, p = rng.normal(0, 3, (N, D)), _params(rng, D, H, K)
    ours = utils.mlp_forward(X, p, getattr(utils, name))
    hidden = getattr(torch, name)(F.linear(_t(X), _t(p["W1"]).T, _t(p["b1"])))
    theirs = F.linear(hidden, _t(p["W2"]).T, _t(p["b2"])).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-11)
    assert ours.shape == (N, K)


def test_mlp_forward_matches_torch_sequential():
    rng = np.random.default_rng(5)
    X, p = rng.normal(size=(6, 3)), _params(rng, 3, 4, 2)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                              torch.nn.Linear(4, 2)).double()
    with torch.no_grad():
        net[0].weight.copy_(_t(p["W1"]).T)
        net[0].bias.copy_(_t(p["b1"]))
        net[2].weight.copy_(_t(p["W2"]).T)
        net[2].bias.copy_(_t(p["b2"]))
        theirs = net(_t(X)).numpy()
    np.testing.assert_allclose(utils.mlp_forward(X, p, utils.tanh), theirs, rtol=1e-12)


def test_identity_activation_collapses_to_one_layer():
    """Notebook 02's first claim: without a nonlinearity two layers are one."""
    rng = np.random.default_rng(1)
    X, p = rng.normal(size=(9, 4)), _params(rng, 4, 6, 3)
    one = utils.dense_forward(X, p["W1"] @ p["W2"], p["b1"] @ p["W2"] + p["b2"])
    np.testing.assert_allclose(utils.mlp_forward(X, p, lambda z: z), one, rtol=1e-12)


def test_mlp_inputs_are_not_modified():
    rng = np.random.default_rng(2)
    X, p = rng.normal(size=(3, 2)), _params(rng, 2, 3, 1)
    saved = X.copy(), {k: v.copy() for k, v in p.items()}
    utils.mlp_forward(X, p, lambda z: z.__imul__(2))   # g mutating its own input
    np.testing.assert_array_equal(X, saved[0])
    for k in p:
        np.testing.assert_array_equal(p[k], saved[1][k])


@pytest.mark.parametrize("args, message", [
    ((np.ones(3), np.ones((3, 2)), np.ones(2)), r"X has shape \(3,\), expected \(N, D\)"),
    ((np.ones((4, 3)), np.ones((2, 2)), np.ones(2)),
     r"W has shape \(2, 2\), expected \(D, H\) = \(3, H\)"),
    ((np.ones((4, 3)), np.ones((3, 2)), np.ones(3)), r"b has shape \(3,\), expected \(H,\) = \(2,\)"),
])
def test_dense_wrong_shapes_name_the_argument(args, message):
    with pytest.raises(ValueError, match=message):
        utils.dense_forward(*args)


def test_mlp_wrong_shapes_and_missing_keys():
    p = _params(np.random.default_rng(0), 3, 4, 2)
    with pytest.raises(ValueError, match=r"params\['W2'\] has shape \(5, 2\)"):
        utils.mlp_forward(np.ones((2, 3)), {**p, "W2": np.ones((5, 2))}, np.tanh)
    with pytest.raises(ValueError, match=r"missing key\(s\) \['b2'\]"):
        utils.mlp_forward(np.ones((2, 3)), {k: v for k, v in p.items() if k != "b2"}, np.tanh)
