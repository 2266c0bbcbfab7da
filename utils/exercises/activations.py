"""Checks for notebook 02: activation functions and their derivatives.

Each check runs the student's function next to the reference on named cases (a few points,
a 2-D array, a plain Python number, integers, |z| up to 1000). Derivatives are first compared
with finite differences of the true function. ``tanh`` must be built from ``np.exp``: a
``tanh`` that calls ``np.tanh`` (or any other ready-made tanh) fails with a note saying so.
"""
import numpy as np

from ..reference import activations as ref
from .checking import (Case, ExerciseFailure, Mistake, ReferenceUsed, check_function,
                        check_gradient_against_numeric, diagnose, forbid)
from .gradcheck import numerical_derivative


# The mistakes below are computed with private copies of the stable formulas, not with the
# references: a check forbids the reference while the student's function runs, and the tests
# replay each mistake as a student's function.

def _f(z):
    return np.asarray(z, dtype=np.float64)


def _s(z):
    e = np.exp(-np.abs(_f(z)))
    return np.where(_f(z) >= 0, 1 / (1 + e), e / (1 + e))


def _t(z):
    e = np.exp(-2 * np.abs(_f(z)))
    return np.sign(_f(z)) * (1 - e) / (1 + e)


MISTAKES = {
    "sigmoid": [
        Mistake("you computed sigma(-z) = 1 - sigma(z): either the sign of the exponent is "
                "flipped (sigma(z) = 1 / (1 + e^{-z})) or, in the stable form, the branches "
                "are swapped (with e = e^{-|z|}: 1 / (1 + e) where z >= 0, e / (1 + e) "
                "where z < 0).", lambda z: 1 - _s(z)),
        Mistake("that is tanh, not the sigmoid.", lambda z: _t(z)),
        Mistake("the `1 +` is missing from the denominator: sigma(z) = 1 / (1 + e^{-z}).",
                lambda z: np.exp(_f(z))),
        Mistake("sigma(z) = 1 / (1 + e^{-z}) has a minus sign in the exponent; "
                "1 / (1 - e^{-z}) is something else.",
                lambda z: 1 / (1 - np.exp(-_f(z)))),
    ],
    "sigmoid_grad": [
        Mistake("you returned sigma(z) itself; the derivative is sigma(z) * (1 - sigma(z)).",
                lambda z: _s(z)),
        Mistake("the formula is applied to z instead of sigma(z): use s = sigmoid(z), then "
                "s * (1 - s).", lambda z: _f(z) * (1 - _f(z))),
        Mistake("that is tanh's rule 1 - g^2; the sigmoid's is g * (1 - g).",
                lambda z: 1 - _s(z) ** 2),
        Mistake("a sign slipped: sigma'(z) = sigma(z) * (1 - sigma(z)).",
                lambda z: _s(z) * (1 + _s(z))),
        Mistake("the derivative is positive everywhere (the sigmoid only rises): "
                "sigma'(z) = sigma(z) * (1 - sigma(z)), without a minus in front.",
                lambda z: -_s(z) * (1 - _s(z))),
        Mistake("you returned 1 - sigma(z); the derivative is the product "
                "sigma(z) * (1 - sigma(z)).", lambda z: 1 - _s(z)),
    ],
    "tanh": [
        Mistake("you computed tanh(z / 2): 2 * sigmoid(z) - 1 is tanh(z / 2), tanh(z) = "
                "2 * sigmoid(2z) - 1; in the stable form the exponent is -2|z|, not -|z|.",
                lambda z: 2 * _s(z) - 1),
        Mistake("that is the sigmoid, not tanh.", lambda z: _s(z)),
        Mistake("the sign is flipped: tanh(z) = (e^z - e^{-z}) / (e^z + e^{-z}).",
                lambda z: -_t(z)),
        Mistake("numerator and denominator are swapped: tanh(z) = (e^z - e^{-z}) / "
                "(e^z + e^{-z}), which lies in (-1, 1).", lambda z: 1 / _t(z)),
        Mistake("the stable form is sign(z) * (1 - e^{-2|z|}) / (1 + e^{-2|z|}); the sign(z) "
                "factor is missing, so negative z come out positive.",
                lambda z: np.abs(_t(z))),
    ],
    "tanh_grad": [
        Mistake("the formula is applied to z instead of tanh(z): use t = tanh(z), then 1 - t**2.",
                lambda z: 1 - _f(z) ** 2),
        Mistake("the square is missing: tanh'(z) = 1 - tanh(z)**2.", lambda z: 1 - _t(z)),
        Mistake("you returned tanh(z)**2; the derivative is 1 - tanh(z)**2.",
                lambda z: _t(z) ** 2),
        Mistake("you returned tanh(z) itself; the derivative is 1 - tanh(z)**2.",
                lambda z: _t(z)),
        Mistake("that is the sigmoid's rule g * (1 - g); tanh's is 1 - g**2.",
                lambda z: _t(z) * (1 - _t(z))),
        Mistake("a sign slipped: tanh'(z) = 1 - tanh(z)**2, not 1 + tanh(z)**2.",
                lambda z: 1 + _t(z) ** 2),
        Mistake("that is the derivative of the sigmoid; tanh'(z) = 1 - tanh(z)**2.",
                lambda z: _s(z) * (1 - _s(z))),
    ],
    "relu": [
        Mistake("np.max reduces along an axis; the elementwise maximum is np.maximum(z, 0).",
                lambda z: np.max(_f(z), 0)),
        Mistake("negative inputs must become 0, not their absolute value.",
                lambda z: np.abs(_f(z))),
        Mistake("you returned the derivative (1 where z > 0); relu returns z there.",
                lambda z: (_f(z) > 0).astype(float)),
        Mistake("np.minimum keeps the negative part; relu keeps the positive part: "
                "np.maximum(z, 0).", lambda z: np.minimum(_f(z), 0)),
        Mistake("relu is not capped at 1: it returns z itself for every z > 0.",
                lambda z: np.clip(_f(z), 0, 1)),
    ],
    "relu_grad": [
        Mistake("at z = 0 the derivative is defined as 0 here (the definition's \"0 otherwise\"): "
                "use z > 0, not z >= 0.", lambda z: (_f(z) >= 0).astype(float)),
        Mistake("you returned relu(z); the derivative is 1 where z > 0 and 0 elsewhere.",
                lambda z: np.maximum(_f(z), 0)),
        Mistake("np.sign(z) is -1 for negative z; relu's slope there is 0 (the function "
                "is flat).", lambda z: np.sign(_f(z))),
        Mistake("at z = 0 the derivative is 0 here (the definition's \"0 otherwise\"); "
                "np.heaviside(z, 0) gives that, other second arguments do not.",
                lambda z: np.heaviside(_f(z), 0.5)),
        Mistake("the comparison is the wrong way round: the slope is 1 where z > 0 and 0 "
                "where z <= 0.", lambda z: (_f(z) < 0).astype(float)),
    ],
}

# Shown with the finite-difference check when a derivative is off.
GRAD_HINTS = {
    "sigmoid_grad": "sigma'(z) = sigma(z) * (1 - sigma(z)), with sigma(z) computed first.",
    "tanh_grad": "tanh'(z) = 1 - tanh(z)**2, with tanh(z) computed first.",
    "relu_grad": "relu'(z) is 1 where z > 0 and 0 elsewhere.",
}

# Added to a failure in which numpy warned (overflow, invalid value) while evaluating e^z.
_OVERFLOW = ("why: float64 stops at about 1.8e308 = e^709.8, so e^{1000} overflows to inf "
             "(and inf / inf is nan). Only exponentiate numbers <= 0: ")
_WHERE = (" Note that np.where(c, a, b) computes both a and b for every element, so a branch "
          "that overflows warns even where it is not chosen: build both from the safe e.")
STABILITY_HINTS = {
    "sigmoid": _OVERFLOW + "with e = np.exp(-np.abs(z)), sigma(z) is 1 / (1 + e) where "
    "z >= 0 and e / (1 + e) where z < 0." + _WHERE,
    "tanh": _OVERFLOW + "with e = np.exp(-2 * np.abs(z)), tanh(z) = np.sign(z) * (1 - e) / "
    "(1 + e)." + _WHERE,
}
STABILITY_HINTS["sigmoid_grad"] = STABILITY_HINTS["sigmoid"] + (
    " Then sigma'(z) = s * (1 - s) with s = sigmoid(z) never overflows.")
STABILITY_HINTS["tanh_grad"] = STABILITY_HINTS["tanh"] + (
    " Then tanh'(z) = 1 - t**2 with t = tanh(z) never overflows.")

# Added when the function fails on a plain Python number.
SCALAR_HINT = (
    "likely mistake: z can be a plain Python number, which has no .astype and cannot be "
    "indexed: start with z = np.asarray(z, dtype=float).")

# Added when relu raises and uses a max but not np.maximum (np.max(0, z), max(0, z)).
MAX_HINT = (
    "likely mistake: np.max(a, axis) is the largest entry of a (0 here) along an axis (z here), "
    "and Python's max(0, z) compares whole arrays; the elementwise maximum of z and 0 is "
    "np.maximum(z, 0).")

# Ready-made functions a student's answer must not call (the exercise is to build them).
BUILT_INS = {"tanh": ("tanh",), "sigmoid": ("expit",)}


def cases(seed, n_random):
    """The named inputs every activation check uses (the same for all six functions)."""
    rng = np.random.default_rng(seed)
    out = [
        Case("a few points around 0", (np.array([-2.0, -0.5, 0.0, 0.5, 2.0]),)),
        Case("a 2-D array keeps its shape", (np.array([[1.0, -1.0, 3.0], [-3.0, 0.25, 0.0]]),)),
        Case("z = 0 (a plain Python number)", (0.0,)),
        Case("a negative Python number", (-1.5,)),
        Case("an integer array (the result is still float)", (np.array([-3, 0, 2]),)),
        Case("large |z| (stability: no overflow, finite results)",
             (np.array([-1000.0, -710.0, -50.0, 50.0, 710.0, 1000.0]),)),
        Case("|z| = 1000 in a 2-D array", (np.array([[-1000.0, 0.0], [1000.0, -3.0]]),)),
    ]
    for _ in range(n_random):
        shape = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 4)))
        out.append(Case(f"random z of shape {shape}", (rng.normal(0, 4, size=shape),)))
    return out


def _names_used(code):
    """Every global, closure or attribute name a function's code (and code nested in it) uses."""
    names = set(code.co_names) | set(code.co_freevars)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names_used(const)
    return names


def _refuse_built_ins(name, student):
    banned = BUILT_INS.get(name, ())
    code = getattr(student, "__code__", None)
    used = sorted(set(banned) & _names_used(code)) if code is not None else []
    if used:
        raise ExerciseFailure(
            f"{name} calls a ready-made {used[0]} (np.{used[0]}, scipy's or torch's): the "
            f"exercise is to build {name} from np.exp yourself, so this earns no points. "
            "The notebook's derivation gives the formula and its stable form.")


def _check_against_finite_differences(name, student, seed):
    """Compare a derivative with central differences of the true function, away from 0."""
    forward = getattr(ref, name[: -len("_grad")])
    z = np.random.default_rng(seed + 1).uniform(-4, 4, size=12)
    z = z[np.abs(z) > 1e-3]  # ReLU's kink: central differences straddling 0 are meaningless
    try:
        with forbid(getattr(ref, name)):
            analytic = np.asarray(student(z.copy()), dtype=float)
    except (Exception, ReferenceUsed):
        return  # the detailed cases report what went wrong, with the inputs
    if analytic.shape == z.shape:
        hint = diagnose(MISTAKES[name], Case("", (z,)), analytic) or GRAD_HINTS[name]
        check_gradient_against_numeric(f"{name} against finite differences", analytic,
                                       numerical_derivative(forward, z), hint=hint)


def _with_hints(name, failure, student=None):
    """The failure's message plus a hint for the traps the generic engine cannot name."""
    text = str(failure)
    extra = []
    code = getattr(student, "__code__", None)
    used = _names_used(code) if code is not None else set()
    if "raised" in text and name == "relu" and used & {"max", "amax"} and "maximum" not in used:
        extra.append(MAX_HINT)
    if "warned" in text and name in STABILITY_HINTS:
        extra.append(STABILITY_HINTS[name])
    if "Python number" in text and "raised" in text:
        extra.append(SCALAR_HINT)
    if not extra:
        return failure
    lines = [line for line in text.split("\n")  # the specific hint replaces the generic one
             if not line.strip().startswith("hint: compare the shapes")]
    return ExerciseFailure("\n  ".join(["\n".join(lines), *extra]))


def _check(name, student, seed, n_random, quiet):
    reference = getattr(ref, name)
    if callable(student):
        _refuse_built_ins(name, student)
    if name in GRAD_HINTS:
        _check_against_finite_differences(name, student, seed)
    try:
        return check_function(student, reference, cases(seed, n_random), name=name,
                              mistakes=MISTAKES[name], quiet=quiet)
    except ExerciseFailure as failure:
        better = _with_hints(name, failure, student)
        if better is failure:
            raise
        raise better from failure.__cause__


def check_sigmoid(student, *, seed=0, n_random=3, quiet=False):
    """Check sigmoid(z) elementwise, including stability at |z| up to 1000."""
    return _check("sigmoid", student, seed, n_random, quiet)


def check_sigmoid_grad(student, *, seed=0, n_random=3, quiet=False):
    """Check sigmoid_grad(z) against finite differences and the reference."""
    return _check("sigmoid_grad", student, seed, n_random, quiet)


def check_tanh(student, *, seed=0, n_random=3, quiet=False):
    """Check tanh(z) elementwise (built from np.exp), including stability at |z| up to 1000."""
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
