"""The engine behind every exercise's tests.

A check runs the student's function next to the reference on named cases and, on the first
difference, fails with what a student needs to fix it::

    perceptron_forward: case 2 of 7, "bias only (w = 0)"
      inputs:   X (3, 2) [[...]], w (2,) [0. 0.], w0 = 1.5, g = identity
      expected: [1.5 1.5 1.5]
      got:      [0. 0. 0.]
      likely mistake: the bias w0 is not added: compute g(w0 + X @ w).

Each exercise module (``utils.exercises.<topic>``) lists its cases and the mistakes students
make as small functions computing the wrong answer; when the student's output matches one,
its hint is shown. The checks take the student's function as an argument, copy every input,
and fail when inputs are modified, when numpy warns (overflow, invalid value, divide by zero),
or when the function hands the work to its reference in ``utils``.
"""
import copy
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


from . import rules
from .rules import ReferenceUsed  # noqa: F401 - raised when an answer breaks the rule (rules.py)


class ExerciseFailure(AssertionError):
    """A check failed; the message says what was expected, what came, and a likely cause.

    In a notebook (IPython, and so nbgrader's Validate, which shows the cell's error output as
    it is) the failure is shown by :meth:`_render_traceback_`: the message first, then only the
    lines of the student's own code that raised, never the frames of the checks.
    """

    def _render_traceback_(self):
        return render_failure(self)


@dataclass
class Case:
    """One call of the function under test: ``fn(*args, **kwargs)``."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass
class Mistake:
    """A common wrong answer: ``fn`` computes it, ``hint`` tells the student what to change."""

    hint: str
    fn: Callable


# --- keeping the course's code, other libraries and finite differences out of answers ------

_ACTIVE = []  # the references inside a forbid() block, innermost last


@contextmanager
def forbid(*references, student=None):
    """Enforce the course's one rule (utils/exercises/rules.py) for the exercise whose
    reference is ``references[0]`` while inside; further ``references`` are refused too.

    The rule is judged by who calls what, so aliases, wrappers, private helpers, copies of a
    reference's code and other libraries' functions are all caught; a broken rule raises
    :class:`ReferenceUsed` on leaving the block even if the student's code caught it.
    ``student``: the student's function, whose names are checked before it runs.
    """
    name = references[0].__name__ if references else None
    guard = rules.Guard(name, forbidden=references[1:], student=student)
    _ACTIVE.extend(references)
    try:
        with guard:
            yield guard
    except BaseException:
        guard.verdict()
        raise
    finally:
        del _ACTIVE[len(_ACTIVE) - len(references):]
    guard.verdict()


def active_forbidden():
    """The references forbidden right now (a grader passes them on to a sandboxed call)."""
    return list(_ACTIVE)


def innermost_function(error, default):
    """The name of the function in which ``error`` was raised."""
    if isinstance(getattr(error, "raised_in", None), str):  # set when it crossed processes
        return error.raised_in
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_code.co_name if tb is not None else default
    return default if name.startswith("<") else name


def _reference_reached(error, default):
    """The name of the reference whose swapped code raised ``error``."""
    if error.args and isinstance(error.args[0], str):
        return error.args[0]
    return innermost_function(error, default)


def _is_reference(fn, reference):
    """True when ``fn`` is the reference itself, or a function built from its code."""
    seen = set()
    while fn is not None and id(fn) not in seen:
        seen.add(id(fn))
        if fn is reference or getattr(fn, "__code__", None) == reference.__code__:
            return True
        fn = getattr(fn, "__wrapped__", None) or getattr(fn, "func", None)  # wraps / partial
    return False


def refuse_reference(student, reference, name=None):
    """Fail when the function handed in is the course's reference itself (or wraps its code)."""
    name = name or reference.__name__
    if _is_reference(student, reference):
        raise ExerciseFailure(
            f"{name} is the course's reference implementation (utils.{name}), so there is "
            "nothing of yours to check yet. Writing it with numpy is the exercise; only your "
            "own version earns points.")


# --- showing a failure: the message, then the student's own lines --------------------------

_BOLD_RED, _BOLD, _RESET = "\x1b[1;31m", "\x1b[1m", "\x1b[0m"


def _machinery():
    """Folders whose frames a student never needs: the course's packages and installed code."""
    import sysconfig
    from pathlib import Path

    course = Path(__file__).resolve().parents[2]
    folders = {str(course / "utils"), str(course / "autograder")}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            folders.add(str(Path(path).resolve()))
    return tuple(folder + "/" for folder in folders) + tuple(
        folder + "\\" for folder in folders)


def student_frames(error):
    """(where, line number, function, source line) of each frame of ``error``'s traceback that
    is the student's own code: not the course's modules, not numpy's or Python's."""
    import linecache
    import os

    machinery = _machinery()
    frames = []
    tb = getattr(error, "__traceback__", None)
    while tb is not None:
        code = tb.tb_frame.f_code
        filename = code.co_filename
        real = os.path.realpath(filename) if os.path.isabs(filename) else filename
        if not real.startswith(machinery) and not filename.startswith("<frozen"):
            line = linecache.getline(filename, tb.tb_lineno).strip()
            frames.append((_cell_name(filename), tb.tb_lineno, code.co_name, line))
        tb = tb.tb_next
    return frames


def _cell_name(filename):
    """IPython's name for a notebook cell's code ("Cell In[4]"), else the file's name."""
    try:
        shell = get_ipython()  # noqa: F821 - defined inside IPython only
        kind, name = shell.compile.format_code_name(filename)
        return f"{kind} {name}"
    except Exception:
        return filename


def _wrap(line, width=84):
    """``line`` folded to ``width`` columns (nbgrader validate cuts longer lines), continuation
    lines indented under the text after the label ("likely mistake: ...")."""
    import re
    import textwrap

    if len(line) <= width:
        return [line]
    label = re.match(r"\s*(?:[a-z ]+:\s+)?", line).group()
    return textwrap.wrap(line, width, subsequent_indent=" " * min(len(label), 20),
                         break_long_words=False, break_on_hyphens=False)


def render_failure(failure):
    """The lines a notebook shows for a failed check: the message first (its first line in
    red, the likely mistake in bold), then the student's own frames of the error it wraps."""
    head, *rest = str(failure).split("\n")
    lines = [f"{_BOLD_RED}{line}{_RESET}" for line in _wrap(head)]
    for line in rest:
        strong = line.lstrip().startswith(("likely mistake:", "hint:"))
        lines += [f"{_BOLD}{part}{_RESET}" if strong else part for part in _wrap(line)]
    cause = failure.__cause__
    frames = student_frames(cause) if cause is not None else []
    if frames:
        lines.append("")
        lines.append(f"  {type(cause).__name__} raised in your code:")
        for where, number, function, source in frames:
            name = "" if function.startswith("<") else f", in {function}"
            lines.append(f"    {where}, line {number}{name}")
            if source:
                lines.append(f"      {_BOLD}{source}{_RESET}")
    return lines


# --- describing values -----------------------------------------------------------------------

def describe(value, limit=6):
    """A short description of an argument or result: shapes always, values when small."""
    if isinstance(value, np.ndarray):
        if value.size <= limit:
            return f"{value.shape} {np.array2string(value, precision=4, separator=' ')}".replace(
                "\n", "")
        return f"{value.shape} {value.dtype}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(describe(v) for v in value) + ")"
    if isinstance(value, np.random.Generator):
        return "rng"
    if callable(value):
        return getattr(value, "__name__", "a function")
    return repr(value)


def _show(value):
    if isinstance(value, (np.generic, float, int)) or (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return repr(value.item() if hasattr(value, "item") else value)
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=6, threshold=24, edgeitems=3, linewidth=88):
            text = repr(value)
        return text.replace("\n", "\n            ")
    return repr(value)


# --- comparing results -----------------------------------------------------------------------

def difference(expected, got, rtol=1e-7, atol=1e-10, where="result"):
    """None when ``got`` matches ``expected`` (structure, shape, values); else why not."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where} should be a dict with keys {sorted(expected)}, got {type(got).__name__}"
        missing = sorted(set(expected) - set(got))
        if missing:
            return f"{where} is missing key(s) {missing}"
        for key in expected:
            why = difference(expected[key], got[key], rtol, atol, f"{where}[{key!r}]")
            if why:
                return why
        return None
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{where} should be a tuple of {len(expected)} values, got {describe(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            why = difference(e, g, rtol, atol, f"{where}[{i}]")
            if why:
                return why
        return None
    if got is None:
        return f"{where} is None: did you forget to `return` it?"
    exp = np.asarray(expected)
    try:
        arr = np.asarray(got, dtype=exp.dtype if exp.dtype != object else None)
    except (TypeError, ValueError):
        return f"{where} should be a number or array, got {type(got).__name__}"
    if arr.shape != exp.shape:
        return f"{where} has shape {arr.shape}, expected {exp.shape}"
    kind = getattr(got, "dtype", np.dtype(float)).kind
    if exp.dtype.kind == "f" and isinstance(got, (np.ndarray, np.generic)) and kind in "biu":
        return f"{where} has dtype {got.dtype}, but floats are asked for"
    if exp.dtype.kind in "fc":
        bad = ~np.isfinite(arr) & np.isfinite(exp)
        if bad.any():
            at = f" (at index {tuple(np.argwhere(bad)[0].tolist())})" if exp.ndim else ""
            return f"{where} has NaN or inf where a finite number belongs{at}"
        if not np.allclose(arr, exp, rtol=rtol, atol=atol, equal_nan=True):
            err = np.abs(arr - exp)
            i = np.unravel_index(np.nanargmax(np.where(np.isfinite(err), err, np.inf)), exp.shape)
            at = f" at index {tuple(int(j) for j in i)}" if exp.ndim else ""
            return f"{where} differs by up to {float(err[i]):.3g}{at}"
        return None
    if not np.array_equal(arr, exp):
        return f"{where} differs from the expected values"
    return None


# --- running the student's function --------------------------------------------------------

def _fail(name, case, index, total, lines):
    head = f"{name}: case {index} of {total}, \"{case.label}\""
    raise ExerciseFailure("\n  ".join([head, *lines]))


def _inputs(case):
    parts = [describe(a) for a in case.args]
    parts += [f"{k}={describe(v)}" for k, v in case.kwargs.items()]
    return "inputs:   " + ", ".join(parts)


def _call(fn, case):
    return fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))


def diagnose(mistakes, case, got, rtol=1e-7, atol=1e-10):
    """The hint of the first mistake whose output matches ``got``, else None."""
    for mistake in mistakes:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                wrong = _call(mistake.fn, case)
        except Exception:
            continue
        if difference(wrong, got, rtol, atol) is None:
            return mistake.hint
    return None


def _dtype_hint(why):
    """The likely mistake behind a result of the wrong dtype, if that is what ``why`` says."""
    if "dtype bool, but floats" in why:
        return ("a comparison such as z > 0 gives True/False (dtype bool), not the numbers "
                "1.0/0.0 the exercise asks for: convert it with .astype(float).")
    if "but floats are asked for" in why:
        return ("integer inputs give integer results: convert the input first, e.g. "
                "z = np.asarray(z, dtype=float).")
    return None


def run_case(student, reference, case, *, name, index=1, total=1, mistakes=(),
             rtol=1e-7, atol=1e-10, forbidden=()):
    """Run one case; raise :class:`ExerciseFailure` with a teaching message if it fails."""
    expected = _call(reference, case)
    if os.environ.get("COURSE_RECORD_TO"):  # recording a handout (replay.py): every mistake
        diagnose(mistakes, case, None)        # is answered on this case too
    args = copy.deepcopy(case.args)
    kwargs = copy.deepcopy(case.kwargs)
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
        warnings.simplefilter("always")
        try:
            with forbid(reference, *forbidden, student=student):
                got = student(*args, **kwargs)
        except NotImplementedError as error:
            unwritten = innermost_function(error, name)
            if unwritten == name:
                raise ExerciseFailure(
                    f"{name} is not written yet: replace `raise NotImplementedError()` "
                    "with your code.") from None
            raise ExerciseFailure(
                f"{name} calls {unwritten}, which is not written yet: finish {unwritten} "
                "first (or write this one without it).") from None
        except ReferenceUsed as error:
            if len(error.args) > 1:  # the rule's own explanation (rules.py)
                raise ExerciseFailure(f"{name} {error.args[1]}") from None
            used = _reference_reached(error, name)
            raise ExerciseFailure(
                f"{name} calls the course's reference implementation (utils.{used}). "
                "Writing it with numpy is the exercise; only your own version earns "
                "points.") from None
        except Exception as error:
            head = f"{name}: case {index} of {total}, \"{case.label}\""
            raise ExerciseFailure("\n  ".join([
                head, _inputs(case), f"raised {type(error).__name__}: {error}",
                "hint: compare the shapes of your intermediate arrays with the docstring "
                "(in a notebook, the line of your function that raised is shown below)."]
            )) from error
    numeric_warnings = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    for original, now, label in zip(case.args, args, range(len(args))):
        if isinstance(original, np.random.Generator):
            continue  # drawing from a generator is its purpose, not a modification
        if difference(original, now, 0, 0) is not None:
            _fail(name, case, index, total, [
                _inputs(case),
                f"your function changed its input argument {label + 1} in place",
                "hint: build new arrays (x = x + 1, np.maximum(x, 0)) instead of writing "
                "into the inputs (x += 1, x[x < 0] = 0)."])
    why = difference(expected, got, rtol, atol)
    if why is None and numeric_warnings:
        _fail(name, case, index, total, [
            _inputs(case),
            f"the result is right but numpy warned: {numeric_warnings[0].message}",
            "hint: numerical stability is part of correctness; rewrite the formula so no "
            "intermediate value overflows (see the notebook's section on stability)."])
    if why is None:
        return
    hint = diagnose(mistakes, case, got, rtol, atol) or _dtype_hint(why)
    lines = [_inputs(case), f"expected: {_show(expected)}", f"got:      {_show(got)}", why]
    if numeric_warnings:
        lines.append(f"numpy warned: {numeric_warnings[0].message}")
    if hint:
        lines.append(f"likely mistake: {hint}")
    _fail(name, case, index, total, lines)


def check_function(student, reference, cases, *, name=None, mistakes=(), rtol=1e-7,
                   atol=1e-10, forbidden=(), quiet=False):
    """Check ``student`` against ``reference`` on every case; print a summary on success.

    Args:
        student: the student's function.
        reference: the reference implementation (from ``utils``).
        cases: list of :class:`Case`.
        mistakes: list of :class:`Mistake`, matched against a wrong result to explain it.
        forbidden: further references that must not be reached from ``student``.
    Returns None, on purpose: nbgrader reads a number shown by a test cell as partial credit.
    Raises :class:`ExerciseFailure` on the first failure.
    """
    name = name or reference.__name__
    if not callable(student):
        raise ExerciseFailure(f"{name} should be a function, got {type(student).__name__}")
    refuse_reference(student, reference, name)
    for i, case in enumerate(cases, 1):
        run_case(student, reference, case, name=name, index=i, total=len(cases),
                 mistakes=mistakes, rtol=rtol, atol=atol, forbidden=forbidden)
    if not quiet:
        print(f"\u2713 {name}: all {len(cases)} checks passed")


def check_gradient_against_numeric(name, analytic, numeric, tolerance=1e-5, hint=None):
    """Fail with the gradient checker's report when ``analytic`` is far from ``numeric``."""
    from .gradcheck import compare_gradients

    result = compare_gradients(analytic, numeric, name, tolerance)
    if not result.passed:
        message = str(result)
        if hint:
            message += f"\n  likely mistake: {hint}"
        raise ExerciseFailure(message)
    return result


def passes(check, student):
    """True when ``check(student, quiet=True)`` passes (any failure counts as not passing)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check(student, quiet=True)
        return True
    except (Exception, ReferenceUsed):
        return False
