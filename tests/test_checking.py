"""The check engine: what it accepts, what it rejects, and what it tells the student."""
import functools
import types

import numpy as np
import pytest

import utils
from utils.exercises import checking
from utils.exercises.checking import Case, ExerciseFailure, Mistake, check_function, forbid
from utils.exercises.perceptron import check_perceptron_forward


def reference(x):
    return 2.0 * np.asarray(x) + 1.0


def mine(x):  # a student's own correct version (calling `reference` would be forbidden)
    return np.asarray(x) * 2.0 + 1.0


CASES = [Case("a vector", (np.array([1.0, -2.0, 3.0]),)), Case("a scalar", (0.5,))]


def fails(student, **kwargs):
    with pytest.raises(ExerciseFailure) as info:
        check_function(student, reference, CASES, name="double_plus_one", **kwargs)
    return str(info.value)


def test_a_correct_function_written_differently_passes(capsys):
    # None, not a count: nbgrader would read a number shown by a test cell as partial credit
    assert check_function(lambda x: np.asarray(x) + np.asarray(x) + 1, reference, CASES,
                          name="double_plus_one") is None
    assert "all 2 checks passed" in capsys.readouterr().out


def test_failure_says_expected_got_and_the_likely_mistake():
    message = fails(lambda x: 2.0 * np.asarray(x),
                    mistakes=[Mistake("you forgot the +1.", lambda x: 2.0 * np.asarray(x))])
    assert "case 1 of 2" in message and '"a vector"' in message
    assert "expected:" in message and "got:" in message
    assert "likely mistake: you forgot the +1." in message


def test_wrong_shape_is_named():
    assert "has shape (3, 1), expected (3,)" in fails(lambda x: mine(x).reshape(-1, 1))


def test_not_written_yet():
    def student(x):
        raise NotImplementedError()
    assert "not written yet" in fails(student)


def test_none_returned_means_a_missing_return():
    assert "forget to `return`" in fails(lambda x: None)


def test_modifying_an_input_in_place_fails():
    def student(x):
        if isinstance(x, np.ndarray):
            x *= 2.0
            x += 1.0
            return x
        return mine(x)
    assert "changed its input argument 1 in place" in fails(student)


def test_numpy_overflow_warning_fails_a_right_answer():
    def student(x):
        np.exp(np.array([1000.0]))  # overflows, result unused
        return mine(x)
    assert "numpy warned: overflow" in fails(student)


def test_a_harmless_warning_and_prints_do_not_fail(capsys):
    import warnings

    def student(x):
        warnings.warn("this API is old", DeprecationWarning)
        print("debugging output")
        return mine(x)
    check_function(student, reference, CASES, name="double_plus_one")


def test_an_exception_reports_the_case_and_keeps_the_traceback():
    def student(x):
        return np.asarray(x) @ np.ones((7, 7))
    with pytest.raises(ExerciseFailure) as info:
        check_function(student, reference, CASES, name="double_plus_one")
    assert "raised ValueError" in str(info.value)
    assert info.value.__cause__ is not None  # the student's own traceback is chained


def _ref_routes():
    """Ways a student might hand perceptron_forward to utils' reference."""
    from utils.reference.perceptron import perceptron_forward as imported

    def wrapper(X, w, w0, g):
        return utils.perceptron_forward(X, w, w0, g)

    def via_import(X, w, w0, g):
        return imported(X, w, w0, g)

    def swallowing(X, w, w0, g):
        try:
            return utils.perceptron_forward(X, w, w0, g)
        except Exception:
            return g(w0 + X @ w) * 0

    @functools.wraps(utils.perceptron_forward)
    def decorated(*args):
        return imported(*args)

    return {
        "alias": utils.perceptron_forward,
        "wrapper": wrapper,
        "from-import-as": via_import,
        "catches Exception": swallowing,
        "functools.wraps": decorated,
        "partial": functools.partial(utils.perceptron_forward),
        "copied code": types.FunctionType(utils.perceptron_forward.__code__,
                                          utils.reference.perceptron.__dict__),
    }


@pytest.mark.parametrize("route", list(_ref_routes()))
def test_every_route_to_the_reference_fails(route):
    with pytest.raises(ExerciseFailure, match="reference implementation"):
        check_perceptron_forward(_ref_routes()[route])


def test_forbid_restores_the_reference_even_after_an_error():
    original = utils.perceptron_forward.__code__
    with pytest.raises(RuntimeError):
        with forbid(utils.perceptron_forward):
            raise RuntimeError("boom")
    assert utils.perceptron_forward.__code__ is original
    assert utils.perceptron_forward(np.ones((1, 1)), np.ones(1), 0.0, np.tanh).shape == (1,)


def test_reference_used_is_not_an_exception_students_can_swallow():
    assert not issubclass(checking.ReferenceUsed, Exception)


def test_yours_or_reference_picks_the_right_one(capsys):
    from utils.exercises import yours_or_reference

    def perceptron_forward(X, w, w0, g):
        return g(w0 + np.einsum("nd,d->n", X, w))
    assert yours_or_reference(perceptron_forward) is perceptron_forward

    def perceptron_forward(X, w, w0, g):  # noqa: F811 - a blank exercise
        raise NotImplementedError()
    assert yours_or_reference(perceptron_forward) is utils.perceptron_forward
    assert "course's reference" in capsys.readouterr().out


def test_the_message_names_the_reference_actually_reached():
    def mine(x):
        return utils.sigmoid(x)  # a different, forbidden reference
    with pytest.raises(ExerciseFailure, match=r"utils\.sigmoid\b"):
        check_function(mine, reference, CASES, name="double_plus_one",
                       forbidden=(utils.sigmoid,))


def test_a_generator_argument_may_be_drawn_from():
    def ref(n, rng):
        return rng.standard_normal(n)

    def student(n, rng):
        return rng.standard_normal(n)
    check_function(student, ref, [Case("draws", (3, np.random.default_rng(0)))], name="draw")


def test_yours_or_reference_says_it_once_for_several(capsys):
    from utils.exercises import yours_or_reference

    def sigmoid(z):
        raise NotImplementedError()

    def relu(z):
        return np.maximum(np.asarray(z, dtype=float), 0.0)

    def relu_grad(z):
        return np.asarray(z) > 0   # bool, not the floats asked for

    chosen = yours_or_reference(sigmoid, relu, relu_grad)
    assert chosen == (utils.sigmoid, relu, utils.relu_grad)
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["Using your relu.",
                   "Using the course's reference for sigmoid, relu_grad (yours does not pass "
                   "its tests yet); rerun this cell once it does."]


def test_a_figure_drawn_with_the_reference_says_so():
    from matplotlib.figure import Figure

    from utils.exercises import mark_reference

    def relu(z):
        return np.maximum(z, 0)

    mine, theirs = Figure(), Figure()
    assert mark_reference(mine, relu) is mine and not mine.texts
    mark_reference(theirs, relu, utils.sigmoid)
    assert [t.get_text() for t in theirs.texts] == ["reference: sigmoid"]


def test_a_failure_renders_the_message_first_and_only_the_students_lines():
    """What IPython (and so JupyterLab and nbgrader's Validate) shows for a failed check."""
    import re

    from utils.exercises.activations import check_relu
    from utils.exercises.checking import ExerciseFailure
    from utils.exercises.perceptron import check_perceptron_forward

    def perceptron_forward(X, w, w0, g):
        return g(X @ w)

    def relu(z):
        return np.max(0, np.asarray(z, dtype=float))

    plain = lambda failure: [re.sub(r"\x1b\[[0-9;]*m", "", line)  # noqa: E731
                             for line in failure._render_traceback_()]
    with pytest.raises(ExerciseFailure) as caught:
        check_perceptron_forward(perceptron_forward)
    lines = plain(caught.value)
    assert lines[0].startswith("perceptron_forward: case")
    assert any(line.strip().startswith("likely mistake: the bias w0") for line in lines[:8])
    assert all(len(line) <= 84 for line in lines)   # nbgrader validate cuts longer lines
    assert not any("checking.py" in line or "utils" in line for line in lines)
    with pytest.raises(ExerciseFailure) as caught:
        check_relu(relu)
    lines = plain(caught.value)
    assert any("np.maximum(z, 0)" in line for line in lines[:8])
    where = lines[lines.index("  TypeError raised in your code:") + 1:]
    assert "in relu" in where[0] and "test_checking.py" in where[0]   # this file: the student's
    assert where[1].strip() == "return np.max(0, np.asarray(z, dtype=float))"
    assert len(where) == 2    # numpy's frames and the checks' are left out
