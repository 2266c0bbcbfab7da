"""What may cross between the tester and a student process, and what may not."""
import os
import pickle

import numpy as np
import pytest

from autograder.feedback import RedactHiddenTests, redact_source
from autograder.wire import Channel, WireError, decode, encode


def roundtrip(value):
    callables = []
    return decode(pickle.loads(pickle.dumps(encode(value, callables))),
                  lambda h, name: callables[h])


@pytest.mark.parametrize("value", [
    1.5, 3, None, True, "s", (1, 2.0), [np.arange(3)], {"W": np.eye(2), "b": np.zeros(2)},
    np.float64(0.25), np.array(2.0), np.zeros((0, 3)), np.arange(6).reshape(2, 3)[:, ::2]])
def test_plain_values_and_arrays_cross_unchanged(value):
    back = roundtrip(value)
    if isinstance(value, dict):
        for k in value:
            np.testing.assert_array_equal(back[k], value[k])
    elif isinstance(value, (list, tuple)):
        assert type(back) is type(value)
        for a, b in zip(back, value):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_array_equal(back, value)
        assert np.shape(back) == np.shape(value)


def test_a_generator_crosses_as_its_state():
    rng = np.random.default_rng(3)
    copy = roundtrip(rng)
    assert copy.standard_normal() == rng.standard_normal()


def test_callables_become_handles():
    back = roundtrip(np.tanh)
    assert back is np.tanh


@pytest.mark.parametrize("value", [object(), np.array([object()]), {1, 2}])
def test_other_objects_are_refused(value):
    with pytest.raises(WireError):
        encode(value, [])


def test_a_message_with_classes_is_refused():
    class Liar:
        def __eq__(self, other):
            return True
    r, w = os.pipe()
    channel = Channel(r, w)
    data = pickle.dumps(("result", np.arange(3)))  # a real ndarray pickle needs classes
    os.write(w, len(data).to_bytes(8, "little") + data)
    with pytest.raises(WireError, match="refused"):
        channel.receive(timeout=1)
    channel.close()


@pytest.mark.parametrize("bad", [
    ("\x00nd", "O", [1], b"12345678"),          # object dtype
    ("\x00nd", "<f8", [3], b"\x00" * 8),        # data shorter than the shape
    ("\x00nd", "<f8", [-1], b""),               # negative shape
    ("\x00fn", "x", "y"),                       # malformed handle
])
def test_malformed_encodings_are_refused(bad):
    with pytest.raises(WireError):
        decode(bad, lambda h, n: None)


def test_nbgraders_own_feedback_loses_hidden_tests_and_their_tracebacks():
    import nbformat

    cell = nbformat.v4.new_code_cell(
        "check(f)\n### BEGIN HIDDEN TESTS\nassert f(2) == 4  # secret\n### END HIDDEN TESTS\n")
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                           traceback=["assert f(2) == 4  # secret"])]
    out, _ = RedactHiddenTests().preprocess_cell(cell, {}, 0)
    assert "secret" not in out.source and "secret" not in "".join(out.outputs[0]["traceback"])
    assert redact_source("a\n### BEGIN HIDDEN TESTS\nb") == "a\n# (hidden tests are not shown)"
