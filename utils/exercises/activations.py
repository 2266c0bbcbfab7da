"""Checks for notebook 02: activation functions and their derivatives."""
import numpy as np

from .. import activations as ref
from ..checking import (Case, Mistake, ReferenceUsed, check_function,
                        check_gradient_against_numeric, diagnose, forbid)
from ..gradcheck import numerical_derivative


def _s(z):
    return ref.sigmoid(z)


def _t(z):
    return ref.tanh(z)


MISTAKES = {
    "sigmoid": [
        Mistake("the sign of the exponent is flipped: sigma(z) = 1 / (1 + e^{-z}).",
                lambda z: 1 - _s(z)),
        Mistake("that is tanh, not the sigmoid.", lambda z: _t(z)),
    ],
    "sigmoid_grad": [
        Mistake("you returned sigma(z) itself; the derivative is sigma(z) * (1 - sigma(z)).",
                lambda z: _s(z)),
        Mistake("the formula is applied to z instead of sigma(z): use s = sigmoid(z), then "
                "s * (1 - s).", lambda z: np.asarray(z) * (1 - np.asarray(z))),
        Mistake("that is tanh's rule 1 - g^2; the sigmoid's is g * (1 - g).",
                lambda z: 1 - _s(z) ** 2),
        Mistake("a sign slipped: sigma'(z) = sigma(z) * (1 - sigma(z)).",
                lambda z: _s(z) * (1 + _s(z))),
    ],
    "tanh": [
        Mistake("2 * sigmoid(z) - 1 is tanh(z / 2); tanh(z) = 2 * sigmoid(2z) - 1.",
                lambda z: 2 * _s(z) - 1),
        Mistake("that is the sigmoid, not tanh.", lambda z: _s(z)),
        Mistake("the sign is flipped: tanh(z) = (e^z - e^{-z}) / (e^z + e^{-z}).",
                lambda z: -_t(z)),
    ],
    "tanh_grad": [
        Mistake("the formula is applied to z instead of tanh(z): use t = tanh(z), then 1 - t**2.",
                lambda z: 1 - np.asarray(z) ** 2),
        Mistake("the square is missing: tanh'(z) = 1 - tanh(z)**2.", lambda z: 1 - _t(z)),
        Mistake("you returned tanh(z)**2; the derivative is 1 - tanh(z)**2.",
                lambda z: _t(z) ** 2),
        Mistake("you returned tanh(z) itself; the derivative is 1 - tanh(z)**2.",
                lambda z: _t(z)),
    ],
    "relu": [
        Mistake("np.max reduces along an axis; the elementwise maximum is np.maximum(z, 0).",
                lambda z: np.max(np.asarray(z, dtype=float), 0)),
        Mistake("negative inputs must become 0, not their absolute value.",
                lambda z: np.abs(z)),
        Mistake("you returned the derivative (1 where z > 0); relu returns z there.",
                lambda z: ref.relu_grad(z)),
    ],
    "relu_grad": [
        Mistake("at z = 0 the derivative is defined as 0 here (the outline's \"otherwise\"): "
                "use z > 0, not z >= 0.", lambda z: (np.asarray(z) >= 0).astype(float)),
        Mistake("you returned relu(z); the derivative is 1 where z > 0 and 0 elsewhere.",
                lambda z: ref.relu(z)),
    ],
}

# Shown with the finite-difference check when a derivative is off.
GRAD_HINTS = {
    "sigmoid_grad": "sigma'(z) = sigma(z) * (1 - sigma(z)), with sigma(z) computed first.",
    "tanh_grad": "tanh'(z) = 1 - tanh(z)**2, with tanh(z) computed first.",
    "relu_grad": "relu'(z) is 1 where z > 0 and 0 elsewhere.",
}


def cases(seed, n_random):
    rng = np.random.default_rng(seed)
    out = [
        Case("z = 0 (a scalar)", (0.0,)),
        Case("a few points around 0", (np.array([-2.0, -0.5, 0.0, 0.5, 2.0]),)),
        Case("a 2-D array keeps its shape", (np.array([[1.0, -1.0, 3.0], [-3.0, 0.25, 0.0]]),)),
        Case("large |z| (stability: no overflow, finite results)",
             (np.array([-1000.0, -710.0, -50.0, 50.0, 710.0, 1000.0]),)),
    ]
    for _ in range(n_random):
        shape = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 4)))
        out.append(Case(f"random z of shape {shape}", (rng.normal(0, 4, size=shape),)))
    return out


def _check(name, student, seed, n_random, quiet):
    reference = getattr(ref, name)
    if name in GRAD_HINTS:
        # A derivative is checked against finite differences of the true function first,
        # at points away from ReLU's kink where central differences are exact enough.
        forward = getattr(ref, name[: -len("_grad")])
        z = np.random.default_rng(seed + 1).uniform(-4, 4, size=12)
        z = z[np.abs(z) > 1e-3]
        try:
            with forbid(reference):
                analytic = np.asarray(student(z.copy()), dtype=float)
        except (Exception, ReferenceUsed):
            analytic = None  # the detailed cases below report what went wrong
        if analytic is not None and analytic.shape == z.shape:
            hint = diagnose(MISTAKES[name], Case("", (z,)), analytic) or GRAD_HINTS[name]
            check_gradient_against_numeric(f"{name} against finite differences", analytic,
                                           numerical_derivative(forward, z), hint=hint)
    return check_function(student, reference, cases(seed, n_random), name=name,
                          mistakes=MISTAKES[name], quiet=quiet)


def check_sigmoid(student, *, seed=0, n_random=3, quiet=False):
    """Check sigmoid(z) elementwise, including stability at |z| up to 1000."""
    return _check("sigmoid", student, seed, n_random, quiet)


def check_sigmoid_grad(student, *, seed=0, n_random=3, quiet=False):
    """Check sigmoid_grad(z) against finite differences and the reference."""
    return _check("sigmoid_grad", student, seed, n_random, quiet)


def check_tanh(student, *, seed=0, n_random=3, quiet=False):
    """Check tanh(z) elementwise, including stability at |z| up to 1000."""
    return _check("tanh", student, seed, n_random, quiet)


def check_tanh_grad(student, *, seed=0, n_random=3, quiet=False):
    """Check tanh_grad(z) against finite differences and the reference."""
    return _check("tanh_grad", student, seed, n_random, quiet)


def check_relu(student, *, seed=0, n_random=3, quiet=False):
    """Check relu(z) elementwise."""
    return _check("relu", student, seed, n_random, quiet)


def check_relu_grad(student, *, seed=0, n_random=3, quiet=False):
    """Check relu_grad(z) against finite differences (away from 0) and the reference."""
    return _check("relu_grad", student, seed, n_random, quiet)
