"""Messages between the trusted tester and the sandboxed student process.

Only plain data crosses: numbers, strings, bytes, None, lists, dicts, tuples, numpy arrays of
numeric dtypes, numpy Generators (as their state) and handles to callables (the callable stays
on its own side and is called back over the wire). The receiver unpickles with no classes
allowed at all, so a student process cannot make the tester build an object of its choosing
(an ``__eq__`` that is always True, say) or run code.
"""
import io
import os
import pickle
import re
import select
import struct
import time

import numpy as np

ND, NP, TUPLE, FN, RNG = "\x00nd", "\x00np", "\x00tuple", "\x00fn", "\x00rng"
_DTYPE = re.compile(r"^[<>|=]?[biufc?][0-9]{0,2}$")
PLAIN = (type(None), bool, int, float, complex, str, bytes)


class WireError(Exception):
    """A message that could not be encoded, sent, received or decoded."""


class Closed(WireError):
    """The other side closed the channel (its process ended)."""


class Timeout(WireError):
    """No message arrived in time."""


def encode(value, callables):
    """Plain-data form of ``value``; callables are replaced by handles into ``callables``
    (or by None when ``callables`` is None: the state of arguments after a call)."""
    if type(value) in PLAIN:
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            raise WireError(f"an array of dtype {value.dtype} (expected numbers)")
        array = np.asarray(value, order="C")  # (ascontiguousarray would make 0-d 1-d)
        return (ND, array.dtype.str, list(array.shape), array.tobytes())
    if isinstance(value, np.generic):
        return (NP,) + encode(np.asarray(value), callables)[1:]
    if isinstance(value, np.random.Generator):
        return (RNG, value.bit_generator.state)
    if type(value) is tuple:
        return (TUPLE, [encode(v, callables) for v in value])
    if type(value) is list:
        return [encode(v, callables) for v in value]
    if type(value) is dict:
        return {encode(k, callables): encode(v, callables) for k, v in value.items()}
    if callable(value):
        if callables is None:
            return None
        callables.append(value)
        return (FN, len(callables) - 1, getattr(value, "__name__", "function"))
    raise WireError(f"a value of type {type(value).__name__} (expected numbers or arrays)")


def decode(value, make_callable):
    """The inverse of :func:`encode`; ``make_callable(handle, name)`` rebuilds callables."""
    if type(value) in PLAIN:
        return value
    if type(value) is list:
        return [decode(v, make_callable) for v in value]
    if type(value) is dict:
        return {decode(k, make_callable): decode(v, make_callable) for k, v in value.items()}
    if type(value) is tuple and value and type(value[0]) is str:
        tag = value[0]
        if tag in (ND, NP) and len(value) == 4:
            _, dtype, shape, data = value
            if not (type(dtype) is str and _DTYPE.match(dtype) and type(data) is bytes
                    and type(shape) is list and all(type(s) is int and s >= 0 for s in shape)):
                raise WireError("a malformed array")
            dt = np.dtype(dtype)
            if int(np.prod(shape)) * dt.itemsize != len(data):
                raise WireError("an array whose data does not match its shape")
            array = np.frombuffer(data, dtype=dt).reshape(shape).copy()
            return array[()] if tag == NP else array
        if tag == TUPLE and len(value) == 2 and type(value[1]) is list:
            return tuple(decode(v, make_callable) for v in value[1])
        if tag == FN and len(value) == 3 and type(value[1]) is int:
            return make_callable(value[1], str(value[2]))
        if tag == RNG and len(value) == 2 and type(value[1]) is dict:
            rng = np.random.Generator(np.random.PCG64())
            try:
                rng.bit_generator.state = value[1]
            except Exception as error:
                raise WireError(f"a malformed generator state: {error}") from None
            return rng
    raise WireError(f"an unexpected value of type {type(value).__name__}")


class _NoClasses(pickle.Unpickler):
    def find_class(self, module, name):
        raise WireError(f"refused to load {module}.{name}")


class Channel:
    """Length-prefixed pickled messages over a pair of pipe file descriptors."""

    LIMIT = 256 * 1024 * 1024  # no message this large is legitimate

    def __init__(self, read_fd, write_fd):
        self.read_fd, self.write_fd = read_fd, write_fd

    def send(self, message):
        data = pickle.dumps(message, protocol=5)
        payload = struct.pack("<Q", len(data)) + data
        view = memoryview(payload)
        while view:
            try:
                n = os.write(self.write_fd, view)
            except (BrokenPipeError, OSError) as error:
                raise Closed(str(error)) from None
            view = view[n:]

    def _read(self, n, deadline):
        chunks, got = [], 0
        while got < n:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.read_fd], [], [], wait)
            if not ready:
                raise Timeout("no answer in time")
            chunk = os.read(self.read_fd, min(n - got, 1 << 20))
            if not chunk:
                raise Closed("the other side ended")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def receive(self, timeout=None, trusted=False):
        """The next message; from an untrusted sender no class may be unpickled."""
        deadline = None if timeout is None else time.monotonic() + timeout
        (size,) = struct.unpack("<Q", self._read(8, deadline))
        if size > self.LIMIT:
            raise WireError(f"a message of {size} bytes")
        data = self._read(size, deadline)
        if trusted:
            return pickle.loads(data)
        try:
            return _NoClasses(io.BytesIO(data)).load()
        except WireError:
            raise
        except Exception as error:
            raise WireError(f"an unreadable message ({type(error).__name__})") from None

    def close(self):
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
