"""The losses of notebook 04 against PyTorch (values and autograd), finite differences, and
hypothesis for stability at |z| up to 1000."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import utils
from utils.exercises.gradcheck import check_gradient
from numerics import quiet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle (make test installs it)")
F = torch.nn.functional

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)
seeds = st.integers(0, 2**32 - 1)


def t(x, grad=False):
    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def torch_loss_and_grad(fn, x, *rest):
    """fn(x, *rest) in torch and d fn / d x by autograd, as numpy."""
    xt = t(x, grad=True)
    loss = fn(xt, *rest)
    loss.backward()
    return loss.item(), xt.grad.numpy()


# --- against PyTorch ---------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(shapes, seeds)
def test_mse_matches_torch(shape, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 3, shape), rng.normal(0, 3, shape)
    loss, grad = torch_loss_and_grad(F.mse_loss, a, t(b))
    assert utils.mse_loss(a, b) == pytest.approx(loss, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(utils.mse_grad(a, b), grad, rtol=1e-12, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(shapes, seeds, st.booleans())
def test_bce_matches_torch(shape, seed, soft):
    rng = np.random.default_rng(seed)
    p = rng.uniform(1e-6, 1 - 1e-6, shape)  # where clipping at eps = 1e-12 changes nothing
    y = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(float)
    loss, grad = torch_loss_and_grad(F.binary_cross_entropy, p, t(y))
    assert utils.bce_loss(p, y) == pytest.approx(loss, rel=1e-10)
    np.testing.assert_allclose(utils.bce_grad(p, y), grad, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(shapes, seeds, st.floats(0.1, 1000.0), st.booleans())
def test_bce_with_logits_matches_torch(shape, seed, scale, soft):
    rng = np.random.default_rng(seed)
    z = rng.uniform(-scale, scale, shape)
    y = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(float)
    loss, grad = torch_loss_and_grad(F.binary_cross_entropy_with_logits, z, t(y))
    assert quiet(utils.bce_with_logits_loss, z, y) == pytest.approx(loss, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(quiet(utils.bce_with_logits_grad, z, y), grad,
                               rtol=1e-12, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple), seeds,
       st.floats(0.1, 1000.0), st.data())
def test_softmax_matches_torch(shape, seed, scale, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(seed).uniform(-scale, scale, shape)
    ours = quiet(utils.softmax, x, axis=axis)
    np.testing.assert_allclose(ours, torch.softmax(t(x), dim=axis).numpy(),
                               rtol=1e-12, atol=1e-300)
    assert ours.shape == shape and ours.dtype == np.float64


def test_softmax_default_axis_is_the_last():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(utils.softmax(x), utils.softmax(x, axis=1))
    np.testing.assert_allclose(utils.softmax(x).sum(axis=-1), 1.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(1, 6), seeds, st.floats(0.1, 1000.0))
def test_cross_entropy_matches_torch(N, C, seed, scale):
    rng = np.random.default_rng(seed)
    Z, labels = rng.uniform(-scale, scale, (N, C)), rng.integers(0, C, N)
    loss, grad = torch_loss_and_grad(F.cross_entropy, Z, torch.from_numpy(labels))
    assert quiet(utils.cross_entropy_loss, Z, labels) == pytest.approx(loss, rel=1e-12,
                                                                       abs=1e-12)
    np.testing.assert_allclose(quiet(utils.cross_entropy_grad, Z, labels), grad,
                               rtol=1e-12, atol=1e-15)


# --- finite differences and closed forms ---------------------------------------------------

@pytest.mark.parametrize("loss, grad, make", [
    (utils.mse_loss, utils.mse_grad, lambda r: (r.normal(size=(3, 4)), r.normal(size=(3, 4)))),
    (utils.bce_loss, utils.bce_grad,
     lambda r: (r.uniform(0.05, 0.95, (5, 2)), r.integers(0, 2, (5, 2)).astype(float))),
    (utils.bce_with_logits_loss, utils.bce_with_logits_grad,
     lambda r: (r.normal(0, 3, (4, 3)), r.uniform(0, 1, (4, 3)))),
    (utils.cross_entropy_loss, utils.cross_entropy_grad,
     lambda r: (r.normal(0, 3, (6, 4)), r.integers(0, 4, 6))),
], ids=["mse", "bce", "bce_with_logits", "cross_entropy"])
def test_gradients_match_finite_differences(loss, grad, make):
    x, y = make(np.random.default_rng(0))
    result = check_gradient(lambda v: loss(v, y), lambda v: grad(v, y), x, tolerance=1e-7)
    assert result.verdict == "excellent"


def test_bce_clips_and_the_gradient_is_the_formula_at_the_clipped_p():
    eps = 1e-12
    p, y = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    assert quiet(utils.bce_loss, p, y) == pytest.approx(-np.log(eps) / 2, rel=1e-6)
    pc = np.array([eps, 1 - eps, eps, 1 - eps])  # 1 - (1 - eps) is 1.00009e-12 in float64
    expected = (-y / pc + (1 - y) / (1 - pc)) / 4
    assert abs(expected[0]) == pytest.approx(0.25e12) and expected[1] > 0.25e12 * 0.9999
    np.testing.assert_allclose(quiet(utils.bce_grad, p, y), expected, rtol=1e-12)
    # a larger eps: the formula at eps, not a zero gradient where clipping acted
    np.testing.assert_allclose(utils.bce_grad(np.array([0.01, 0.99]), np.array([1.0, 0.0]),
                                              eps=0.1), [-5.0, 5.0])
    assert utils.bce_loss(np.array([0.01]), np.array([1.0]), eps=0.1) == pytest.approx(
        -np.log(0.1))


def test_closed_forms():
    assert utils.mse_loss([[1.0, 3.0]], [[0.0, 0.0]]) == 5.0
    np.testing.assert_allclose(utils.mse_grad([[1.0, 3.0]], [[0.0, 0.0]]), [[1.0, 3.0]])
    assert utils.bce_loss(np.full(3, 0.5), np.array([0.0, 1.0, 1.0])) == pytest.approx(np.log(2))
    assert utils.bce_with_logits_loss(np.zeros(4), np.ones(4)) == pytest.approx(np.log(2))
    assert utils.cross_entropy_loss(np.zeros((3, 5)), np.array([0, 4, 2])) == pytest.approx(
        np.log(5))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), seeds, st.floats(0.1, 1000.0))
def test_two_class_cross_entropy_is_bce_with_logits_of_the_difference(N, seed, scale):
    rng = np.random.default_rng(seed)
    Z, labels = rng.uniform(-scale, scale, (N, 2)), rng.integers(0, 2, N)
    z = Z[:, 1] - Z[:, 0]
    assert utils.cross_entropy_loss(Z, labels) == pytest.approx(
        utils.bce_with_logits_loss(z, labels.astype(float)), rel=1e-10, abs=1e-12)
    G = utils.cross_entropy_grad(Z, labels)
    np.testing.assert_allclose(G[:, 1], utils.bce_with_logits_grad(z, labels.astype(float)),
                               rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(G.sum(axis=1), 0.0, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), seeds, st.floats(-1e4, 1e4))
def test_softmax_ignores_a_shift_of_every_logit(N, C, seed, shift):
    x = np.random.default_rng(seed).normal(0, 5, (N, C))
    np.testing.assert_allclose(utils.softmax(x + shift), utils.softmax(x), rtol=1e-9,
                               atol=1e-15)


# --- stability -----------------------------------------------------------------------------

big = st.floats(-1000.0, 1000.0, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(st.lists(big, min_size=1, max_size=8), st.data())
def test_logit_forms_are_finite_without_warnings(values, data):
    z = np.array(values)
    y = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(z),
                                    max_size=len(z))))
    C = data.draw(st.integers(1, 4))
    labels = np.array(data.draw(st.lists(st.integers(0, C - 1), min_size=len(z),
                                         max_size=len(z))))
    Z = np.repeat(z[:, None], C, axis=1) * np.linspace(1.0, -1.0, C)  # logits up to +-1000
    for out in [quiet(utils.bce_with_logits_loss, z, y), quiet(utils.bce_with_logits_grad, z, y),
                quiet(utils.softmax, Z), quiet(utils.softmax, Z, axis=0),
                quiet(utils.cross_entropy_loss, Z, labels),
                quiet(utils.cross_entropy_grad, Z, labels)]:
        assert np.all(np.isfinite(out))


@pytest.mark.parametrize("z, y, expected", [(1000.0, 1.0, 0.0), (1000.0, 0.0, 1000.0),
                                            (-1000.0, 1.0, 1000.0), (-1000.0, 0.0, 0.0),
                                            (40.0, 0.0, 40.0), (1e6, 0.5, 5e5)])
def test_bce_with_logits_at_extreme_logits(z, y, expected):
    assert quiet(utils.bce_with_logits_loss, np.array([z]), np.array([y])) == pytest.approx(
        expected, abs=1e-12)


def test_softmax_with_minus_infinity_masks():
    x = np.array([[-np.inf, 0.5, -np.inf], [-np.inf, -np.inf, 2.0], [1.0, -np.inf, 1.0]])
    np.testing.assert_array_equal(quiet(utils.softmax, x),
                                  [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.0, 0.5]])
    np.testing.assert_array_equal(quiet(utils.cross_entropy_grad, x, np.array([1, 2, 0])),
                                  [[0, 0, 0], [0, 0, 0], [-0.5 / 3, 0, 0.5 / 3]])
    assert quiet(utils.cross_entropy_loss, x, np.array([1, 2, 0])) == pytest.approx(
        np.log(2) / 3)


def test_cross_entropy_of_a_hopeless_example_is_its_logit_gap():
    assert quiet(utils.cross_entropy_loss, np.array([[0.0, 2000.0, -5.0]]),
                 np.array([0])) == pytest.approx(2000.0)


# --- types, shapes, inputs ---------------------------------------------------------------

def test_losses_return_floats_and_gradients_float64_arrays():
    a, y = np.array([[0.2, 0.7]], dtype=np.float32), np.array([[0.0, 1.0]], dtype=np.float32)
    Z, labels = np.array([[1, 2, 3]]), np.array([2], dtype=np.int32)  # integer logits
    for loss in [utils.mse_loss(a, y), utils.bce_loss(a, y), utils.bce_with_logits_loss(a, y),
                 utils.cross_entropy_loss(Z, labels)]:
        assert type(loss) is float
    for grad in [utils.mse_grad(a, y), utils.bce_grad(a, y), utils.bce_with_logits_grad(a, y),
                 utils.softmax(a)]:
        assert grad.dtype == np.float64 and grad.shape == a.shape
    assert utils.cross_entropy_grad(Z, labels).shape == (1, 3)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(3)
    p, y = rng.uniform(-0.5, 1.5, (4, 3)), rng.integers(0, 2, (4, 3)).astype(float)
    Z, labels = rng.normal(0, 900, (4, 3)), rng.integers(0, 3, 4)
    copies = [v.copy() for v in (p, y, Z, labels)]
    for fn in [utils.mse_loss, utils.mse_grad, utils.bce_loss, utils.bce_grad,
               utils.bce_with_logits_loss, utils.bce_with_logits_grad]:
        fn(p, y)
    utils.softmax(Z)
    utils.cross_entropy_loss(Z, labels)
    utils.cross_entropy_grad(Z, labels)
    for before, after in zip(copies, (p, y, Z, labels)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("fn, first", [(utils.mse_loss, "y_pred"), (utils.mse_grad, "y_pred"),
                                       (utils.bce_loss, "p"), (utils.bce_grad, "p"),
                                       (utils.bce_with_logits_loss, "z"),
                                       (utils.bce_with_logits_grad, "z")])
def test_mismatched_shapes_name_the_argument_and_both_shapes(fn, first):
    # (N,) against (N, 1) would broadcast to (N, N): a classic silent bug, refused here
    with pytest.raises(ValueError, match=rf"has shape \(3, 1\), expected the shape of "
                                         rf"{first} \(3,\)"):
        fn(np.full(3, 0.5), np.full((3, 1), 0.5))


@pytest.mark.parametrize("fn", [utils.cross_entropy_loss, utils.cross_entropy_grad])
@pytest.mark.parametrize("logits, labels, message", [
    (np.zeros(3), np.array([0, 1, 2]), r"logits has shape \(3,\), expected \(N, C\)"),
    (np.zeros((3, 2)), np.array([0, 1]), r"labels has shape \(2,\), expected \(N,\) = \(3,\)"),
    (np.zeros((3, 2)), np.array([[0], [1], [1]]), r"labels has shape \(3, 1\)"),
    (np.zeros((3, 2)), np.array([0.0, 1.0, 1.0]), r"labels must be integer class indices"),
    (np.zeros((3, 2)), np.array([0, 2, 1]), r"labels must lie in \[0, C\) = \[0, 2\), got 2"),
    (np.zeros((3, 2)), np.array([0, -1, 1]), r"got -1"),
])
def test_cross_entropy_validates_logits_and_labels(fn, logits, labels, message):
    with pytest.raises(ValueError, match=message):
        fn(logits, labels)
