"""Input validation shared by the reference implementations.

Shapes are written as tuples of sizes and letters, e.g. ``("N", "D")``. Letters bind to the
first size seen, so ``w`` checked as ``("D",)`` after ``X`` as ``("N", "D")`` must match X.
Two extras for the later notebooks: a letter with a number in front, ``"4H"``, is that multiple
of the letter's size (the LSTM's four gate blocks), and a leading ``...`` stands for any number
of batch axes, ``(..., "T", "dk")``; the batch axes bind too, so every array checked after the
first must have the same ones.
"""
import numbers
import re

import numpy as np

_MULTIPLE = re.compile(r"(\d+)([A-Za-z_]\w*)")


def _spec(spec, dims):
    return "(" + ", ".join(str(s) for s in spec) + ("," if len(spec) == 1 else "") + ")"


def _bind(token, dims):
    """The size a token stands for under ``dims``: an int, or the token itself if unbound."""
    if not isinstance(token, str):
        return token
    if token in dims:
        return dims[token]
    multiple = _MULTIPLE.fullmatch(token)
    if multiple and multiple[2] in dims:
        return int(multiple[1]) * dims[multiple[2]]
    return token


def _learn(token, n, dims):
    """Record the size ``n`` seen for a still-unbound token (``"4H"`` binds H to n / 4)."""
    multiple = _MULTIPLE.fullmatch(token)
    if multiple:
        dims.setdefault(multiple[2], n // int(multiple[1]))
    dims.setdefault(token, n)


def _fits(token, n):
    if isinstance(token, str):  # unbound: a letter fits anything, "4H" a multiple of 4
        multiple = _MULTIPLE.fullmatch(token)
        return not multiple or n % int(multiple[1]) == 0
    return token == n


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
    batched = len(spec) > 0 and spec[0] is Ellipsis
    core = spec[1:] if batched else tuple(spec)
    n_batch = x.ndim - len(core)
    expected = tuple(_bind(s, dims) for s in core)
    fits = (n_batch >= 0 if batched else n_batch == 0) and all(
        _fits(e, n) for e, n in zip(expected, x.shape[max(n_batch, 0):])
    )
    if fits and batched and Ellipsis in dims:
        fits = x.shape[:n_batch] == dims[Ellipsis]
    if not fits:
        lead = ["..."] if batched else []
        want = _spec(lead + list(core), dims)
        if batched and Ellipsis in dims:
            lead = list(dims[Ellipsis])
        bound = _spec(lead + list(expected), dims)
        if bound != want:
            want += f" = {bound}"
        raise ValueError(f"{name} has shape {tuple(x.shape)}, expected {want}")
    if batched:
        dims.setdefault(Ellipsis, x.shape[:n_batch])
    for s, n in zip(core, x.shape[n_batch:]):
        if isinstance(s, str):
            _learn(s, n, dims)
    return x


def check_scalar(name, x):
    """Return ``x`` as a float after checking that it is a single number."""
    if np.ndim(x) != 0:
        raise ValueError(f"{name} has shape {np.shape(x)}, expected a scalar ()")
    return float(x)


def check_int(name, n, low=0):
    """Return ``n`` as an int after checking that it is an integer >= ``low`` (not a bool)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < low:
        raise ValueError(f"{name} is {n!r}, expected an integer >= {low}")
    return int(n)


def check_keys(name, params, keys):
    """Check that the dict ``params`` holds every key in ``keys``."""
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(f"{name} is missing key(s) {missing}; expected keys {list(keys)}")


def check_params(params, specs, dims=None, name="params"):
    """Check a dict of parameters against ``specs`` (key -> shape spec); return the arrays.

    The keys must all be there (extra keys are fine); each array is checked with
    :func:`check_shape` under the name ``params['key']``, sharing ``dims`` so letters bind
    across parameters and inputs. Returns the float64 arrays in the order of ``specs``.
    """
    check_keys(name, params, specs)
    return [check_shape(f"{name}[{k!r}]", params[k], s, dims) for k, s in specs.items()]
