"""Input validation shared by the reference implementations.

Shapes are written as tuples of sizes and letters, e.g. ``("N", "D")``. Letters bind to the
first size seen, so ``w`` checked as ``("D",)`` after ``X`` as ``("N", "D")`` must match X.
"""
import numpy as np


def _spec(spec, dims):
    return "(" + ", ".join(str(s) for s in spec) + ("," if len(spec) == 1 else "") + ")"


def check_shape(name, x, spec, dims=None):
    """Return ``x`` as a float64 array after checking its shape against ``spec``.

    Raises ``ValueError`` naming the argument, the shape that came and the shape expected:
    ``w has shape (3,), expected (D,) = (2,)``.
    """
    x = np.asarray(x, dtype=np.float64)
    return check_shape_of(name, x, spec, dims)


def check_shape_of(name, x, spec, dims=None):
    """Like :func:`check_shape` but keeps ``x``'s dtype (for integer indices and masks)."""
    dims = {} if dims is None else dims
    expected = tuple(dims.get(s, s) if isinstance(s, str) else s for s in spec)
    fits = x.ndim == len(spec) and all(
        isinstance(e, str) or e == n for e, n in zip(expected, x.shape)
    )
    if not fits:
        want = _spec(spec, dims)
        bound = _spec(expected, dims)
        if bound != want:
            want += f" = {bound}"
        raise ValueError(f"{name} has shape {tuple(x.shape)}, expected {want}")
    for s, n in zip(spec, x.shape):
        if isinstance(s, str):
            dims.setdefault(s, n)
    return x


def check_scalar(name, x):
    """Return ``x`` as a float after checking that it is a single number."""
    if np.ndim(x) != 0:
        raise ValueError(f"{name} has shape {np.shape(x)}, expected a scalar ()")
    return float(x)


def check_keys(name, params, keys):
    """Check that the dict ``params`` holds every key in ``keys``."""
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(f"{name} is missing key(s) {missing}; expected keys {list(keys)}")
