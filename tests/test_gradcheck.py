"""The finite-difference gradient checker against closed forms."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from utils.exercises import gradcheck


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)),
              elements=st.floats(-3, 3)))
def test_numerical_gradient_of_a_quadratic_matches_the_closed_form(x):
    A = np.arange(x.size * x.size, dtype=float).reshape(x.size, x.size) / 10
    f = lambda v: 0.5 * v.ravel() @ A @ v.ravel() + np.sin(v).sum()  # noqa: E731
    exact = (0.5 * (A + A.T) @ x.ravel()).reshape(x.shape) + np.cos(x)
    numeric = gradcheck.numerical_gradient(f, x)
    assert gradcheck.relative_error(exact, numeric) < 1e-7
    assert numeric.shape == x.shape


def test_numerical_gradient_does_not_modify_its_input():
    x = np.array([1.0, 2.0])
    gradcheck.numerical_gradient(lambda v: (v ** 2).sum(), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_numerical_derivative_of_elementwise_functions():
    z = np.linspace(-3, 3, 13)
    assert gradcheck.relative_error(np.cos(z), gradcheck.numerical_derivative(np.sin, z)) < 1e-9


@pytest.mark.parametrize("rel, word", [(1e-9, "excellent"), (1e-6, "good"),
                                       (1e-4, "suspicious"), (0.3, "wrong")])
def test_the_ladder(rel, word):
    assert gradcheck.verdict(rel) == word


def test_check_gradient_passes_right_and_fails_wrong_with_the_worst_entry():
    f = lambda v: (v ** 3).sum()  # noqa: E731
    x = np.array([1.0, -2.0, 0.5])
    result = gradcheck.check_gradient(f, lambda v: 3 * v ** 2, x, name="cube")
    assert result.passed and result.verdict == "excellent"
    with pytest.raises(AssertionError, match=r"worst entry \(1,\)"):
        gradcheck.check_gradient(f, lambda v: 2 * v ** 2, x, name="cube")


def test_non_finite_gradients_are_wrong():
    result = gradcheck.compare_gradients(np.array([np.nan, 1.0]), np.array([1.0, 1.0]))
    assert not result.passed and result.worst_index == (0,)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        gradcheck.compare_gradients(np.zeros(3), np.zeros((3, 1)))
