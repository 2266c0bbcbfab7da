"""Record and replay: how a student handout runs the checks without the course's answers.

``python -m autograder bundle`` ships the modules of the bundled (and later) notebooks with
every formula replaced by a stub ``name(*args) -> replay.call(key, None, args, kwargs)``,
whose results were recorded when the course ran the same notebooks (answered and blank) at
bundle time: expected values, the mistakes' outputs, the data the lectures' plots use. A call
is found by its inputs (floats compared at float32 precision, so that a student's correct
answer that differs in the last bits still finds its record); a call nobody recorded raises
:class:`NotRecorded`, which says so in words a student understands.

While recording (``COURSE_RECORD_TO`` set, stubs built with their original), every stub runs
the original and keeps the pickled result; the records are written when the process exits.
"""
import atexit
import hashlib
import os
import pickle
from pathlib import Path

import numpy as np

RECORDS = Path(__file__).with_name("recorded.pkl")
_records = None
_recording = {}


class NotRecorded(LookupError):
    """The handout has no record of this call (the course's code itself is not handed out)."""


def _canon(value, out, depth=0):
    """Append a canonical byte form of ``value`` to ``out`` (what a call is keyed by)."""
    if depth > 8:
        out.append(b"...")
    elif isinstance(value, np.ndarray):
        arr = value.astype(np.float32) if value.dtype.kind in "fc" else value
        out.append(f"a{value.dtype.kind}{value.shape}".encode())
        out.append(np.ascontiguousarray(arr).tobytes())
    elif isinstance(value, (float, np.floating)):
        out.append(b"f" + np.float32(value).tobytes())
    elif isinstance(value, (bool, int, str, bytes, type(None), np.integer, np.bool_)):
        out.append(repr(value).encode())
    elif isinstance(value, dict):
        out.append(b"{")
        for k in sorted(value, key=repr):
            _canon(k, out, depth + 1)
            _canon(value[k], out, depth + 1)
        out.append(b"}")
    elif isinstance(value, (list, tuple)):
        out.append(b"(" if isinstance(value, tuple) else b"[")
        for v in value:
            _canon(v, out, depth + 1)
        out.append(b")")
    elif isinstance(value, np.random.Generator):
        out.append(repr(value.bit_generator.state).encode())
    elif callable(value):
        key = getattr(value, "__replay_key__", None) or getattr(
            value, "__qualname__", None) or type(value).__qualname__
        out.append(f"<{key}>".encode())
        if hasattr(value, "func"):  # functools.partial
            _canon((value.func, value.args, value.keywords), out, depth + 1)
    elif hasattr(value, "__dataclass_fields__"):
        _canon((type(value).__qualname__, [getattr(value, f) for f in
                                           value.__dataclass_fields__]), out, depth + 1)
    else:
        out.append(type(value).__qualname__.encode())


def key_of(name, args, kwargs):
    parts = [name.encode()]
    _canon((args, kwargs), parts)
    return hashlib.sha1(b"\0".join(parts)).hexdigest()


def call(name, original, args, kwargs):
    """The stub's body: record ``original``'s answer, or replay the recorded one."""
    key = key_of(name, args, kwargs)
    if original is not None:
        try:
            value = original(*args, **kwargs)
        except Exception as error:
            _keep(key, ("raise", error))
            raise
        _keep(key, ("value", value))
        return value
    global _records
    if _records is None:
        _records = pickle.loads(RECORDS.read_bytes()) if RECORDS.exists() else {}
    found = _records.get(key)
    if found is None:
        raise NotRecorded(
            f"the course's {name.rsplit('.', 1)[-1]} is not part of this handout, and it was not "
            "recorded for these inputs: the handout's checks and plots replay what the course "
            "computed for the notebook's own inputs. Use your own function here.")
    kind, value = pickle.loads(found)
    if kind == "raise":
        raise value
    return value


def _keep(key, entry):
    if key in _recording:
        return
    try:
        _recording[key] = pickle.dumps(entry)
    except Exception:
        pass  # not picklable (a lambda in the result): this call is simply not replayable


def _save():
    target = os.environ.get("COURSE_RECORD_TO")
    if target and _recording:
        path = Path(target) / f"records-{os.getpid()}.pkl"
        path.write_bytes(pickle.dumps(_recording))


if os.environ.get("COURSE_RECORD_TO"):
    atexit.register(_save)
