"""utils.perceptron_forward against PyTorch (a linear map then the activation)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import utils

torch = pytest.importorskip("torch", reason="PyTorch is the oracle (make test installs it)")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 16), st.integers(1, 8), st.integers(0, 2**32 - 1),
       st.sampled_from(["sigmoid", "tanh", "relu"]))
def test_matches_torch(N, D, seed, name):
    rng = np.random.default_rng(seed)
    X, w, w0 = rng.normal(0, 3, (N, D)), rng.normal(0, 3, D), float(rng.normal())
    ours = utils.perceptron_forward(X, w, w0, getattr(utils, name))
    linear = torch.nn.functional.linear(torch.from_numpy(X), torch.from_numpy(w)[None],
                                        torch.tensor([w0], dtype=torch.float64))[:, 0]
    theirs = getattr(torch, name)(linear).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert ours.shape == (N,) and ours.dtype == np.float64


def test_inputs_are_not_modified():
    X, w = np.ones((3, 2)), np.array([1.0, 2.0])
    utils.perceptron_forward(X, w, 0.5, lambda z: z.__iadd__(1))  # g mutating its own input
    np.testing.assert_array_equal(X, 1.0)
    np.testing.assert_array_equal(w, [1.0, 2.0])


@pytest.mark.parametrize("args, message", [
    ((np.ones(3), np.ones(3), 0.0), r"X has shape \(3,\), expected \(N, D\)"),
    ((np.ones((4, 3)), np.ones(2), 0.0), r"w has shape \(2,\), expected \(D,\) = \(3,\)"),
    ((np.ones((4, 3)), np.ones(3), np.ones(2)), r"w0 has shape \(2,\), expected a scalar"),
])
def test_wrong_shapes_name_the_argument_and_both_shapes(args, message):
    with pytest.raises(ValueError, match=message):
        utils.perceptron_forward(*args, np.tanh)


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, utils; utils.perceptron_forward; "
            "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'sklearn', 'torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import utils pulled in heavy modules: {out.stdout}"
