"""Helpers shared by the reference tests."""
import warnings

import numpy as np


def quiet(fn, *args, **kwargs):
    """Call fn with every numpy floating-point problem but underflow (overflow, invalid value,
    divide by zero) and every warning raised as an error."""
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        return fn(*args, **kwargs)
