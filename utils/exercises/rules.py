"""The one rule for what an answer may use, enforced by the visible checks and by the grader.

    An answer may use numpy, Python's standard library, the student's own functions and the
    course's functions of earlier notebooks (their public ``utils.<name>``; and, standing in
    for the student's own, the graded functions before it in the same notebook). Nothing else
    earns points: the course's code of this or a later notebook by any module or name (private
    helpers, the checks' formulas, the gradient checker), another library's implementation
    (scipy, scikit-learn, torch: anything beyond numpy and the standard library), and, where a
    backward pass is asked, gradients obtained by finite differences.

How it is enforced, while the student's function runs (:class:`Guard`):

- every Python call is seen by a profile hook. A call into course code or another library is
  judged by who made it: the nearest frame that is neither numpy nor the standard library.
  From the student's code only the allowed entries pass; from inside an allowed reference
  anything passes (its own helpers), except a function the student handed it as an argument;
- before the call, the names the student's function (and its own helpers) use are resolved:
  another library's module or function (``scipy.special.expit``, a ufunc numpy does not
  define) fails without running anything; so does an ``import`` of one while it runs;
- a backward exercise (``backward = true`` in the contract) is a single sweep. Finite
  differences leave two marks, both counted, never timed: the loss is evaluated on inputs
  that differ from the given ones in exactly one entry (two such calls from the student's
  code mark the answer), and it is evaluated about twice per parameter, so a function called
  from the student's code more often than a loop over the inputs' longest axis could need
  (``8 * axis + 24`` times) marks it too;
- switching the hook off (``sys.setprofile``, ``sys.settrace``) is itself a violation, and a
  violation stays recorded even when the student's code catches the exception it raises.

The grader (autograder/worker.py) additionally disables, for good and before any student code
runs, every course function an allowed entry does not need (:func:`lock_down`): a copy or an
alias of one raises wherever it is called.
"""
import builtins
import functools
import gc
import os
import sys
import sysconfig
import threading
import types
from collections import Counter

import numpy as np

from ..contract import FUNCTIONS, NOTEBOOKS


class ReferenceUsed(BaseException):
    """An answer broke the rule. ``args``: (what it used, why that earns nothing).

    A BaseException, so that ``except Exception`` in student code does not swallow it.
    """


# --- where a piece of code comes from --------------------------------------------------------

_UTILS = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# The check engine and the package's plumbing (the facade, the contract): no formulas in them.
_ENGINE = {os.path.join(_UTILS, *f) for f in (
    ("exercises", "checking.py"), ("exercises", "rules.py"), ("exercises", "__init__.py"),
    ("__init__.py",), ("contract.py",), ("reference", "__init__.py"), ("reference", "shapes.py"))}
# A handout's replaying stubs pass through replay.call to the original they stand for: looked
# through like numpy, so the stub, not the plumbing, is judged (a stub handed in as ``g`` may
# run its own original).
_REPLAY = os.path.join(_UTILS, "exercises", "replay.py")
_GRADER = os.path.join(os.path.dirname(_UTILS.rstrip(os.sep)), "autograder") + os.sep
_NUMPY = os.path.dirname(np.__file__) + os.sep
_SITE = tuple({p + os.sep for p in (sysconfig.get_paths()["purelib"],
                                    sysconfig.get_paths()["platlib"])})
_STDLIB = tuple({p + os.sep for p in (sysconfig.get_paths()["stdlib"],
                                      os.path.dirname(os.__file__))})
# Packages that run around the student's code without computing for it (a notebook's kernel,
# the test runner): their frames are looked through like numpy's.
INFRASTRUCTURE = {"IPython", "ipykernel", "traitlets", "zmq", "tornado", "jupyter_client",
                  "jupyter_core", "comm", "debugpy", "_pytest", "pytest", "pluggy", "coverage",
                  "nbclient", "nbformat", "ipywidgets", "executing", "stack_data", "pure_eval",
                  "asttokens", "matplotlib_inline", "typing_extensions", "xdist", "execnet"}
ALLOWED_PACKAGES = {"numpy", "utils", "__future__"} | set(sys.stdlib_module_names)

_KINDS = {}


def kind_of(filename):
    """"course", "engine", "library" (numpy, stdlib, infrastructure), "foreign" or "student"."""
    kind = _KINDS.get(filename)
    if kind is None:
        path = filename if filename.startswith("<") else os.path.abspath(filename)
        if path in _ENGINE or path.startswith(_GRADER):
            kind = "engine"
        elif path == _REPLAY:
            kind = "library"
        elif path.startswith(_UTILS):
            kind = "course"
        elif path.startswith(_NUMPY) or path.startswith("<frozen"):
            kind = "library"
        elif path.startswith(_SITE):
            package = path[len(next(s for s in _SITE if path.startswith(s))):].split(os.sep)[0]
            package = package.split(".")[0]
            kind = "library" if package in INFRASTRUCTURE else "foreign"
        elif path.startswith(_STDLIB):
            kind = "library"
        else:
            kind = "student"
        _KINDS[filename] = kind
    return kind


def is_foreign(obj):
    """True for another library's module, function, class or ufunc (not numpy, not the
    standard library, not the course, not the student's own)."""
    if isinstance(obj, np.ufunc):
        umath = np._core.umath if hasattr(np, "_core") else np.core.umath
        return getattr(np, obj.__name__, None) is not obj and \
            getattr(umath, obj.__name__, None) is not obj
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    else:
        name = getattr(obj, "__module__", None)
        if not isinstance(name, str):
            name = getattr(type(obj), "__module__", None)
    if not isinstance(name, str):
        return False
    module = sys.modules.get(name) or sys.modules.get(name.split(".")[0])
    filename = getattr(module, "__file__", None)
    return isinstance(filename, str) and kind_of(filename) == "foreign"


def package_of(obj):
    """A name for the library an object comes from, for messages."""
    if isinstance(obj, np.ufunc):
        return f"a ufunc numpy does not define ({obj.__name__})"
    name = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(
        obj, "__module__", None) or type(obj).__module__
    what = getattr(obj, "__name__", "")
    top = str(name).split(".")[0]
    return f"{top}.{what}" if what and what != name else top


# --- which course functions an exercise may use -------------------------------------------

def allowed_names(name):
    """Graded functions an answer to ``name`` may call: earlier notebooks', and those before
    it in its own notebook (standing in for the student's own)."""
    out = []
    for nb in NOTEBOOKS:
        for f in nb.functions:
            if f.name == name:
                return out
            out.append(f.name)
    return out  # not a graded function: everything of the course before the end


_ALLOWED = {}


def allowed_codes(name, forbidden=()):
    """The code objects of :func:`allowed_names`, minus ``forbidden`` (function objects)."""
    import utils

    banned = frozenset(getattr(f, "__name__", None) for f in forbidden)
    if (name, banned) in _ALLOWED:
        return _ALLOWED[name, banned]
    codes = _ALLOWED[name, banned] = set()
    for n in allowed_names(name):
        if n in banned:
            continue
        fn = _reference(utils, n)
        if fn is not None:
            codes.add(fn.__code__)
    return codes


def _reference(utils, name):
    """``utils.<name>``, or None where its module cannot load (a sandbox hides utils/)."""
    try:
        return getattr(utils, name, None)
    except Exception:
        return None


# --- the student's function, before it runs -------------------------------------------------

def _names_used(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def scan(fn, allowed):
    """The first thing ``fn`` (and the student's functions it uses) refers to that an answer
    may not use: (what, why), or None. Resolves global names, closures and defaults."""
    seen = set()
    todo = [fn]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        code = getattr(obj, "__code__", None)
        if isinstance(obj, (types.FunctionType, types.MethodType)) and code is not None:
            kind = kind_of(code.co_filename)
            if kind == "course":
                if obj is not fn and obj.__code__ not in allowed:
                    return _course_violation(obj.__qualname__, obj.__code__.co_filename)
                continue
            if kind != "student":
                continue
            glb = getattr(obj, "__globals__", {})
            values = [glb[n] for n in _names_used(code) if n in glb]
            values += [c.cell_contents for c in (obj.__closure__ or ()) if _filled(c)]
            values += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
            todo.extend(values)
            continue
        if isinstance(obj, functools.partial):
            todo.extend([obj.func, *obj.args, *obj.keywords.values()])
            continue
        if callable(obj) or isinstance(obj, types.ModuleType):
            if is_foreign(obj):
                return _foreign_violation(package_of(obj))
    return None


def _filled(cell):
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


def _course_violation(used, filename=None):
    where = f"utils.{used}" if used in FUNCTIONS else used
    if filename and used not in FUNCTIONS and os.path.abspath(filename).startswith(_UTILS):
        module = os.path.relpath(os.path.abspath(filename)[:-3], _UTILS).replace(os.sep, ".")
        where = f"utils.{module}.{used}"
    return (where,
            f"calls the course's reference implementation ({where}). Write it yourself with "
            "numpy: that is the exercise. An answer may use numpy, Python's standard library, "
            "your own functions and the course's functions of earlier notebooks "
            "(utils.<name>); the course's code of this or a later notebook earns no points.")


def _foreign_violation(package):
    return (package,
            f"uses another library's implementation ({package}). An answer may use numpy, "
            "Python's standard library, your own functions and the course's functions of "
            "earlier notebooks; this earns no points.")


def _finite_difference_violation(callee, count, limit):
    return ("finite differences",
            f"calls {callee} {count} times in one call (a backward pass needs at most about "
            f"{limit}): gradients by finite differences are not a backward pass and earn no "
            "points. Compute every gradient in one backward sweep with the chain rule.")


_TAMPER_MESSAGE = ("switched off the checks that watch what an answer calls (sys.setprofile, "
                   "sys.settrace); this earns no points.")


# --- the student's function, while it runs ----------------------------------------------------

_setprofile, _getprofile, _settrace = sys.setprofile, sys.getprofile, sys.settrace
_TAMPERING = {sys.setprofile, sys.settrace, threading.setprofile, threading.settrace}
for _extra in ("setprofile_all_threads", "settrace_all_threads"):
    if hasattr(threading, _extra):
        _TAMPERING.add(getattr(threading, _extra))
_real_import = builtins.__import__


def _found_in(value, pick, depth=0):
    """What ``pick`` finds in ``value`` or in the dicts, lists and tuples it holds (3 deep)."""
    found = pick(value)
    if found is not None:
        yield found
    elif depth < 3 and isinstance(value, (dict, list, tuple)):
        for v in value.values() if isinstance(value, dict) else value:
            yield from _found_in(v, pick, depth + 1)


def _array(value):
    return value if isinstance(value, np.ndarray) else None


def _code(value):
    if isinstance(value, functools.partial):
        value = value.func
    code = getattr(getattr(value, "__func__", value), "__code__", None)
    return code if isinstance(code, types.CodeType) else None


def _arrays_in(value):
    return _found_in(value, _array)


def _codes_in(value):
    return _found_in(value, _code)


def _arguments(frame):
    code = frame.f_code
    n = code.co_argcount + code.co_kwonlyargcount
    n += bool(code.co_flags & 4) + bool(code.co_flags & 8)  # *args, **kwargs
    f_locals = frame.f_locals
    return [f_locals[v] for v in code.co_varnames[:n] if v in f_locals]


_GUARDS = []  # the guards in force, innermost last


def record_disabled(name, filename=None):
    """Called by a function :func:`lock_down` disabled: the violation, recorded for good."""
    violation = _course_violation(name, filename)
    for guard in _GUARDS[-1:]:
        if guard.violation is None:
            guard.violation = violation
    return violation


class Guard:
    """Enforce the rule while a student's function answers for exercise ``name``.

    ``guard.run(fn, *args)`` calls ``fn`` and raises :class:`ReferenceUsed` if anything broke
    the rule, even when the student's code caught the exception raised at the time.
    ``forbidden``: further course functions to refuse (a check may forbid a same-notebook
    function, e.g. a loss inside its own gradient). ``student``: the function to scan first.
    """

    def __init__(self, name, forbidden=(), student=None, watch_calls=True, imports=True):
        self.watch_calls = watch_calls  # False: no profile hook (cheap)
        self.imports = imports          # False: imports are judged when the answer runs
        self.name = name
        self.allowed = allowed_codes(name, forbidden)
        self.backward = bool(getattr(FUNCTIONS.get(name), "backward", False))
        self.student = student
        self.violation = None
        self.counts = Counter()
        self.handed_in = set()  # course callables handed to the student's function (callbacks)
        self.longest_axis = 0
        self.originals = []   # copies of the float arrays the student's function was given
        self.perturbed = 0    # calls made with one of them changed in exactly one entry
        self._saved = None
        self._outside = set()

    def _kind(self, frame):
        if frame is None or id(frame) in self._outside:
            return "engine"
        return kind_of(frame.f_code.co_filename)

    def _profile(self, frame, event, arg):
        """The profile hook: judges calls into course and foreign code, counts calls made by
        the student's code (backward exercises), and refuses switching the hook off."""
        if event == "c_call":
            if arg in _TAMPERING and kind_of(frame.f_code.co_filename) != "engine":
                self._break(("sys.setprofile", _TAMPER_MESSAGE))
            if self.backward and self._kind(frame) == "student":
                self.counts[getattr(arg, "__qualname__", None) or repr(arg)] += 1
            return
        if event != "call":
            return
        code = frame.f_code
        kind = kind_of(code.co_filename)
        caller = frame.f_back
        caller_kind = self._kind(caller)
        if self.backward and caller_kind == "student":
            self.counts[code.co_qualname] += 1
        if kind == "student":
            if caller_kind != "student":  # the student's function, entered from the check
                args = _arguments(frame)
                self.handed_in.update(c for a in args for c in _codes_in(a))
                self.longest_axis = max([self.longest_axis] + [
                    max(a.shape, default=1) for v in args for a in _arrays_in(v)])
                if self.backward and not self.originals:
                    self.originals = [(a, a.copy()) for v in args for a in _arrays_in(v)
                                      if a.dtype.kind == "f" and 1 < a.size <= 1 << 16]
            elif self.backward and caller_kind == "student" and self.originals:
                self._look_for_perturbations(_arguments(frame))
            return
        if kind not in ("course", "foreign") or (kind == "course" and code.co_name == "<module>"):
            return  # importing a course module is fine; calling into it is judged
        judge = caller  # the nearest frame that is not numpy, the stdlib or infrastructure
        while judge is not None and self._kind(judge) == "library":
            judge = judge.f_back
        judged = self._kind(judge)
        if judged == "student":
            if kind == "foreign":
                self._break(_foreign_violation(_top(code.co_filename)))
            if code not in self.allowed and code not in self.handed_in:
                self._break(_course_violation(code.co_qualname, code.co_filename))
        elif judged == "course" and kind == "course" and code not in self.allowed \
                and code not in self.handed_in and self._student_below(judge) and any(
                    c is code for a in _arguments(judge) for c in _codes_in(a)):
            self._break(_course_violation(code.co_qualname, code.co_filename))  # handed in as a callback

    def _look_for_perturbations(self, args):
        """Count a call whose arguments hold a given array changed in exactly one entry."""
        for value in args:
            for a in _arrays_in(value):
                if a.dtype.kind != "f" or a.size <= 1:
                    continue
                for original, copy in self.originals:
                    if a.shape == copy.shape and np.count_nonzero(a != copy) == 1:
                        self.perturbed += 1
                        return

    def _student_below(self, frame):
        """True when the student's code is below ``frame`` (down to the guard's entry)."""
        while frame is not None:
            kind = self._kind(frame)
            if kind in ("student", "engine"):
                return kind == "student"
            frame = frame.f_back
        return False

    def _break(self, violation):
        if self.violation is None:
            self.violation = violation
        raise ReferenceUsed(*violation)  # CPython then switches the hook off: the record stays

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.split(".")[0] not in ALLOWED_PACKAGES and \
                self._kind(sys._getframe(1)) == "student":
            self._break(_foreign_violation(name.split(".")[0]))
        return _real_import(name, globals, locals, fromlist, level)

    def __enter__(self):
        if self.student is not None:
            found = scan(self.student, self.allowed)
            if found:
                self.violation = found
                raise ReferenceUsed(*found)
        # the frames that entered the guard (the check, not the answer), kept alive so that
        # their ids are not reused by the answer's frames
        self._entry = []
        frame = sys._getframe(1)
        while frame is not None:
            self._entry.append(frame)
            frame = frame.f_back
        self._outside = {id(f) for f in self._entry}
        self._saved = (_getprofile(), builtins.__import__)
        _GUARDS.append(self)
        self._importer = self._import if self.imports else builtins.__import__
        builtins.__import__ = self._importer  # one bound method, recognised at the exit
        if self.watch_calls:
            _setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        if self.watch_calls:
            _setprofile(None)
        if self._saved is None:
            return False
        profile, importer = self._saved
        if builtins.__import__ is not self._importer and self.violation is None:
            self.violation = ("builtins.__import__", _TAMPER_MESSAGE)
        builtins.__import__ = importer
        if self in _GUARDS:
            _GUARDS.remove(self)
        self._entry = []
        if self.watch_calls:
            _setprofile(profile)
        return False

    def verdict(self):
        """Raise :class:`ReferenceUsed` for the first broken rule, if any."""
        if self.violation is None and self.backward and self.perturbed >= 2:
            self.violation = ("finite differences", (
                f"evaluates something {self.perturbed} times on its inputs with one entry "
                "nudged: gradients by finite differences are not a backward pass and earn no "
                "points. Compute every gradient in one backward sweep with the chain rule."))
        if self.violation is None and self.backward and self.counts:
            callee, count = self.counts.most_common(1)[0]
            limit = 8 * self.longest_axis + 24
            if count > limit:
                self.violation = _finite_difference_violation(callee, count, limit)
        if self.violation is not None:
            raise ReferenceUsed(*self.violation)

    def run(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` under the rule; a broken rule wins over any result."""
        try:
            with self:
                value = fn(*args, **kwargs)
        except BaseException:
            self.verdict()
            raise
        self.verdict()
        return value


def _top(filename):
    for site in _SITE:
        if filename.startswith(site):
            return filename[len(site):].split(os.sep)[0].split(".")[0]
    return os.path.basename(filename)


# --- the grader's student process: disable what no allowed entry needs, for good ---------------

def _raise_forbidden(*args, **kwargs):
    # Resolved in the disabled function's module, where lock_down puts it; the swapped code
    # carries the disabled function's name, which the error reports.
    code = __import__("sys")._getframe().f_code
    raise _ReferenceUsed_(*_course_violation_(code.co_qualname, code.co_filename))  # noqa: F821


def needed_by(codes):
    """Course functions the allowed entries reach: their modules' functions that their code
    (and what that code names, transitively) refers to by global name."""
    import utils

    keep = set()
    todo = []
    for n in FUNCTIONS:
        fn = _reference(utils, n)
        if isinstance(fn, types.FunctionType) and fn.__code__ in codes:
            todo.append(fn)
    while todo:
        fn = todo.pop()
        if id(fn) in keep:
            continue
        keep.add(id(fn))
        glb = fn.__globals__
        for n in _names_used(fn.__code__):
            value = glb.get(n)
            if isinstance(value, types.FunctionType) and kind_of(
                    value.__code__.co_filename) == "course":
                todo.append(value)
            elif isinstance(value, types.ModuleType) and kind_of(
                    getattr(value, "__file__", "") or "") == "course":
                todo.extend(v for v in vars(value).values() if isinstance(v, types.FunctionType)
                            and kind_of(v.__code__.co_filename) == "course")
    return keep


_COURSE_FUNCTIONS = []


def course_functions():
    """Every function object of the course's code loaded now (found once, then kept: a
    grading worker calls this before forking, so each student process only swaps codes)."""
    if not _COURSE_FUNCTIONS:
        _COURSE_FUNCTIONS.extend(
            obj for obj in gc.get_objects()
            if isinstance(obj, types.FunctionType) and not obj.__closure__
            and kind_of(obj.__code__.co_filename) == "course")
    return _COURSE_FUNCTIONS


def lock_down(name, forbidden=()):
    """In a process that will run one exercise's answer: make every course function that the
    allowed entries of ``name`` do not need raise :class:`ReferenceUsed`, for good.

    Aliases, wrappers and copies of the function object all hit the swapped code. Functions
    with closures cannot take another code object; the :class:`Guard` still refuses them.
    Returns how many functions were disabled.
    """
    codes = allowed_codes(name, forbidden)
    keep = needed_by(codes)
    disabled = 0
    for obj in course_functions():
        if id(obj) in keep:
            continue
        code = obj.__code__
        obj.__globals__["_ReferenceUsed_"] = ReferenceUsed
        obj.__globals__["_course_violation_"] = record_disabled
        obj.__code__ = _raise_forbidden.__code__.replace(
            co_name=code.co_name, co_qualname=code.co_qualname, co_filename=code.co_filename)
        disabled += 1
    return disabled
