"""The grading worker: one process per assignment and core, reused for many submissions.

    zygote   runs the lecture's public cells once (imports, data, plots) and waits for tasks;
             it never reads a submission, a solution or a hidden test, so nothing of those can
             leak into the processes it forks.
    tester   one fork per submission (trusted): reads which cells the student wrote or
             changed, forks one student process per exercise, only then reads the tests
             (hidden ones included) and runs them with each graded function replaced by a
             proxy.
    student  one fork per exercise, sandboxed (autograder.isolation): the references it must
             not use are disabled, then the student's own and changed cells run in notebook
             order as in Jupyter (errors do not stop the next cell, each cell's time is
             bounded, the last definition wins), and it only answers calls (autograder.wire)
             until told to exit.

Every process here dies with its parent (PR_SET_PDEATHSIG), so killing `grade` leaves none
behind. Run by autograder.runner as ``python -m autograder.worker CONFIG_JSON``; tasks arrive on
stdin as JSON lines ``{"id", "student", "notebook", "solution", "result"}`` and each is
acknowledged on stdout with ``{"done": id}`` once its result file is written.
"""
import builtins
import io
import json
import os
import re
import select
import signal
import sys
import threading
import time
import traceback
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from . import isolation, results
from .wire import Channel, Closed, Timeout, WireError, decode, encode

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
OUTPUT_CAP = 16 * 1024


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def source_of(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def defined_names(source):
    """Names a cell binds at its top level (def, class, assignment, import), read from its
    syntax; a cell that does not parse falls back to the ``def name(`` lines in it."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(re.findall(r"^def\s+(\w+)\s*\(", source, re.M))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


# --- the student process -----------------------------------------------------------------

class _CappedText(io.TextIOBase):
    """stdout/stderr for student code: keeps the first bytes, drops the rest."""

    def __init__(self):
        self.kept = []
        self.size = 0

    def write(self, text):
        if self.size < OUTPUT_CAP:
            self.kept.append(text[: OUTPUT_CAP - self.size])
        self.size += len(text)
        return len(text)


class CellStopped(BaseException):
    """Raised in a cell that ran past its time (not an Exception: `except Exception` in the
    student's loop does not swallow it)."""


def _stop_cell(signum, frame):
    raise CellStopped()


class StudentProcess:
    """Runs in the sandbox: the student's cells in notebook order, then answers calls.

    ``cells``: [(cell number, source)] of the student's own and changed cells (the lecture's
    unchanged cells already ran in the zygote). As in Jupyter, an error in one cell does not
    stop the next, and the last definition of a name wins. Each cell may take at most
    ``cell_seconds`` (CPU, and three times that in wall time): an endless loop in a scratch
    cell stops there and the notebook goes on. Every cell runs under the course's rule
    (utils/exercises/rules.py): a cell that reaches course code it may not use fails like any
    failing cell, and costs the exercise whose answer cell it is. ``names``: the functions
    this process answers for; ``others``: the rest of the notebook's graded functions, set
    back to the course's reference once the cells ran, so this exercise's points depend only
    on its own code.
    """

    def __init__(self, channel, shell, cells, names, others=None, cell_seconds=10.0):
        self.channel, self.shell, self.cells = channel, shell, cells
        self.names = names
        self.others, self.cell_seconds = others or {}, cell_seconds

    def run_cells(self):
        """Run every cell; returns ({cell number: (error type, message)}, [stopped cells],
        {cell number: what it used against the rule}).

        A cell is IPython-transformed (magics), compiled and run in the notebook's namespace:
        what a kernel does, without its display and history machinery (6x cheaper a cell)."""
        from utils.exercises import rules

        errors, stopped, violations = {}, [], {}
        signal.signal(signal.SIGPROF, _stop_cell)
        signal.signal(signal.SIGALRM, _stop_cell)
        namespace = self.shell.user_ns
        with self.shell.builtin_trap:  # get_ipython(), display() as in a kernel
            for number, code in self.cells:
                error = guard = None
                try:
                    signal.setitimer(signal.ITIMER_PROF, self.cell_seconds)
                    signal.setitimer(signal.ITIMER_REAL, 3 * self.cell_seconds)
                    code = re.sub(r"^\s*%matplotlib.*$", "pass", code, flags=re.M)
                    # what a cell uses is judged when the answer runs, as in the checks
                    guard = rules.Guard(self.rule_name, watch_calls=False, imports=False)
                    with guard:
                        exec(compile(self.shell.transform_cell(code), f"<cell {number}>",
                                     "exec"), namespace)
                except BaseException as raised:  # noqa: B902 - as a kernel: note it, go on
                    error = raised
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
                    signal.setitimer(signal.ITIMER_REAL, 0)
                if guard is not None and guard.violation is not None:
                    violations[number] = guard.violation[1]
                if isinstance(error, CellStopped):
                    stopped.append(number)
                elif error is not None:
                    errors[number] = (type(error).__name__, str(error)[:2000])
        return errors, stopped, violations

    def run(self, answer_cells):
        """``answer_cells``: {name: the number of the cell holding its last definition}."""
        import numpy as np
        from utils.exercises import checking, rules

        # Before any student code: the course functions no allowed entry needs are disabled
        # for good, and the cells run under the rule too (utils/exercises/rules.py).
        self.rule_name = min(self.names, key=lambda n: len(rules.allowed_names(n)))
        rules.lock_down(self.rule_name)
        for name in self.names:  # the zygote's namespace holds the reference under this name
            self.shell.user_ns.pop(name, None)
        errors, stopped, violations = self.run_cells()
        for name in self.names:
            number = answer_cells.get(name)
            if number in violations:
                self.channel.send(("load_error", name, "ReferenceUsed", violations[number]))
                return
            if not callable(self.shell.user_ns.get(name)):
                if number in errors:
                    self.channel.send(("load_error", name, *errors[number]))
                elif number in stopped:
                    self.channel.send(("load_error", name, "TimeoutError",
                                       f"its cell ran longer than {self.cell_seconds:g} s"))
                else:
                    self.channel.send(("load_error", name, "NameError",
                                       f"{name} is not defined by its answer cell"))
                return
        self.shell.user_ns.update(self.others)
        self.channel.send(("ready", stopped))
        while True:
            message = self.channel.receive(trusted=False)
            if message[0] != "call":
                return
            self.call(np, checking, *message[1:])

    def _remote(self, handle, name):
        channel = self.channel

        def call_back(*args, **kwargs):
            callables = []
            channel.send(("callback", handle, encode(args, callables), encode(kwargs, callables)))
            reply = channel.receive(trusted=False)
            if reply[0] != "callback_result":
                raise RuntimeError("the grader stopped answering")
            if not reply[1]:
                raise RuntimeError(reply[2])
            return decode(reply[2], self._remote)

        call_back.__name__ = name
        return call_back

    def call(self, np, checking, name, args, kwargs, forbidden):
        from utils.exercises import rules

        args = decode(args, self._remote)
        kwargs = decode(kwargs, self._remote)
        extra = [ref for ref in (_find_reference(f) for f in forbidden) if ref is not None]
        fn = self.shell.user_ns[name]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
                    value = rules.Guard(name, forbidden=extra, student=fn).run(
                        fn, *args, **kwargs)
                callables = []
                reply = ("result", encode(value, callables), encode(args, None),
                         encode(kwargs, None))
            except checking.ReferenceUsed as error:
                reply = ("reference", *([str(a) for a in error.args[:2]] or [name]))
            except WireError as error:
                reply = ("error", "TypeError", f"{name} returned {error}", name)
            except BaseException as error:  # noqa: B902 - everything the student can raise
                reply = ("error", type(error).__name__, str(error)[:2000],
                         checking.innermost_function(error, name))
        caught = [(w.category.__name__, str(w.message)[:500]) for w in caught[:20]]
        self.channel.send(reply + (caught,))


def _find_reference(dotted):
    module, _, name = dotted.rpartition(".")
    return getattr(sys.modules.get(module), name, None)


# --- the tester ----------------------------------------------------------------------------

class StudentTimeout(Exception):
    status = "timeout"


class StudentCrash(Exception):
    status = "crashed"


class StudentError(Exception):
    """An exception of a type the tester does not know, raised by student code."""


_BUILTIN_ERRORS = {name: obj for name, obj in vars(builtins).items()
                   if isinstance(obj, type) and issubclass(obj, Exception)}


class Exercise:
    """One test cell, its student process and the proxies that call into it."""

    def __init__(self, grade_id, names, points, deadline_seconds, load_seconds=0.0):
        self.grade_id, self.names, self.points = grade_id, names, points
        self.budget = deadline_seconds
        self.load_seconds = load_seconds  # the student's cells, each bounded on its own
        self.deadline = None
        self.channel = None
        self.pid = None
        self.dead = None
        self.load_error = None
        self.stopped = []

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def kill(self, why=None):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = None
        if why and not self.dead:
            self.dead = why

    def wait_ready(self):
        self.deadline = time.monotonic() + self.budget + 3 * self.load_seconds
        try:
            message = self.channel.receive(timeout=self.remaining())
        except Timeout:
            self.kill("timeout")
            return
        except (Closed, WireError):
            self.kill("crashed")
            return
        if message[0] == "load_error":
            _, name, ename, evalue = message[:4]
            self.load_error = (name, ename, evalue)
        elif message[0] != "ready":
            self.kill("crashed")
        elif len(message) > 1 and isinstance(message[1], list):
            self.stopped = [n for n in message[1][:50] if type(n) is int]
        self.deadline = time.monotonic() + self.budget  # the tests' own time

    def proxy(self, name):
        from utils.exercises import checking

        exercise = self

        def student_function(*args, **kwargs):
            return exercise.call(checking, name, args, kwargs)

        student_function.__name__ = student_function.__qualname__ = name
        return student_function

    def _raise_dead(self, name):
        if self.dead == "timeout":
            raise StudentTimeout(f"{name} did not finish within the {self.budget:g} s this "
                                 "exercise may take (an endless loop?)")
        raise StudentCrash(f"the process running {name} ended unexpectedly (os._exit, a "
                           "crash, or a limit on memory or processes)")

    def call(self, checking, name, args, kwargs):
        if self.load_error:
            fname, ename, evalue = self.load_error
            error = _BUILTIN_ERRORS.get(ename, StudentError)(
                f"running the answer cell of {fname} raised {ename}: {evalue}")
            if ename == "NotImplementedError":
                error = NotImplementedError()
                error.raised_in = fname
            if ename == "ReferenceUsed":  # the answer cell broke the rule (rules.py)
                error = checking.ReferenceUsed(fname, evalue)
            raise error
        if self.dead:
            self._raise_dead(name)
        callables = []
        forbidden = [f"{ref.__module__}.{ref.__name__}" for ref in checking.active_forbidden()]
        try:
            self.channel.send(("call", name, encode(args, callables), encode(kwargs, callables),
                               forbidden))
            while True:
                reply = self.channel.receive(timeout=self.remaining())
                if reply[0] != "callback":
                    break
                self._answer_callback(callables, reply)
        except Timeout:
            self.kill("timeout")
            self._raise_dead(name)
        except (Closed, WireError):
            self.kill("crashed")
            self._raise_dead(name)
        *reply, caught = reply
        for category, text in caught:
            cls = getattr(builtins, category, None)
            if not (isinstance(cls, type) and issubclass(cls, Warning)):
                cls = UserWarning
            warnings.warn(text, cls, stacklevel=2)
        kind = reply[0]
        if kind == "result":
            value = decode(reply[1], _no_callables)
            _copy_back(args, decode(reply[2], _no_callables))
            _copy_back(kwargs, decode(reply[3], _no_callables))
            return value
        if kind == "reference":
            raise checking.ReferenceUsed(*reply[1:])
        _, ename, evalue, where = reply
        if ename == "MemoryError":
            raise MemoryError(f"{name} ran out of memory (the grader's limit)")
        error = _BUILTIN_ERRORS.get(ename)
        error = error(evalue) if error else StudentError(f"{ename}: {evalue}")
        error.raised_in = where
        raise error

    def _answer_callback(self, callables, message):
        _, handle, args, kwargs = message
        try:
            fn = callables[handle]
            value = fn(*decode(args, _no_callables), **decode(kwargs, _no_callables))
            self.channel.send(("callback_result", True, encode(value, [])))
        except Exception as error:
            self.channel.send(("callback_result", False, f"{type(error).__name__}: {error}"))


def _no_callables(handle, name):
    raise WireError("the student process sent a function")


def _copy_back(original, after):
    """Mirror the student process's in-place changes onto the tester's arguments."""
    import numpy as np

    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape and original.flags.writeable:
            np.copyto(original, after, casting="unsafe")
    elif isinstance(original, dict) and isinstance(after, dict):
        for key in original:
            if key in after:
                _copy_back(original[key], after[key])
    elif isinstance(original, (list, tuple)) and isinstance(after, (list, tuple)):
        for o, a in zip(original, after):
            _copy_back(o, a)
    elif isinstance(original, np.random.Generator) and isinstance(after, np.random.Generator):
        original.bit_generator.state = after.bit_generator.state


def split_test(source):
    """(visible, hidden) parts of a test cell."""
    visible, _, rest = source.partition(HIDDEN_BEGIN)
    hidden = rest.partition(HIDDEN_END)[0]
    return visible, hidden


def _message(error):
    text = str(error).strip()
    return text if text else type(error).__name__


def classify(error):
    """(status, message) of a failed test: a limit the student's code hit, found anywhere in
    the exception chain (the checks wrap errors in their own), else an ordinary failure."""
    seen, cause = set(), error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if getattr(cause, "status", None):
            return cause.status, _message(cause)
        if isinstance(cause, MemoryError):
            return "out of memory", _message(cause)
        cause = cause.__cause__ or cause.__context__
    return "failed", _message(error)


class Notebook:
    """What the tester reads of a submitted notebook, without running any of it.

    cells         [(cell number, source)]: the student's own and changed code cells, in order
                  (unchanged lecture cells already ran in the zygote; test cells come from
                  solutions/ and are not run)
    answers       {function: the source of the cell holding its last definition}
    answer_cells  {function: that cell's number}
    duplicates    {function: [numbers of every cell defining it]} when more than one does
    """

    def __init__(self, nb, zygote):
        self.cells, self.answers, self.answer_cells, self.duplicates = [], {}, {}, {}
        defining = {}
        for number, cell in enumerate(nb.get("cells", []), start=1):
            if cell.get("cell_type") != "code":
                continue
            source, meta = source_of(cell), nbgrader_meta(cell)
            if meta.get("grade") and not meta.get("solution"):
                continue  # a test cell: the tests come from solutions/
            grade_id = meta.get("grade_id") if meta.get("solution") else None
            if grade_id not in zygote.answer_ids and source.strip() in zygote.lecture_sources:
                continue  # an unchanged lecture cell: it ran in the zygote, or is an experiment
            names = defined_names(source) & set(zygote.answer_ids)
            if grade_id in zygote.answer_ids:
                names.add(grade_id)  # an answer cell, even one that does not define it yet
            for name in names:
                defining.setdefault(name, []).append(number)
                self.answers[name] = source
                self.answer_cells[name] = number
            self.cells.append((number, source))
        self.duplicates = {n: cells for n, cells in defining.items() if len(cells) > 1}

    def note(self, name):
        cells = self.duplicates.get(name)
        if not cells:
            return ""
        listed = ", ".join(str(c) for c in cells[:-1]) + f" and {cells[-1]}"
        return (f"{name} is defined in {len(cells)} cells ({listed}); the last one, cell "
                f"{cells[-1]}, was graded, as Jupyter would run it")


class Tester:
    """Grades one submission (runs in a fork of the zygote)."""

    def __init__(self, zygote, task):
        self.z, self.task = zygote, task

    def read(self):
        nb = json.loads(Path(self.task["notebook"]).read_text(encoding="utf-8"))
        return Notebook(nb, self.z)

    def fork_student(self, exercise, notebook):
        t2c_r, t2c_w = os.pipe()
        c2t_r, c2t_w = os.pipe()
        tester = os.getpid()
        pid = os.fork()
        if pid == 0:  # the helper that enters the namespaces, then forks the student (pid 1)
            try:
                isolation.die_with_parent()  # a killed tester leaves no student behind
                if os.getppid() != tester:
                    os._exit(70)
                os.close(t2c_w)
                os.close(c2t_r)
                problems = isolation.enter_namespaces() if self.z.sandbox else ["sandbox off"]
                inner = os.fork()
                if inner == 0:
                    self._student_main(Channel(t2c_r, c2t_w), exercise, notebook, problems)
                    os._exit(0)
                _, status = os.waitpid(inner, 0)
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
            except BaseException:
                os._exit(70)
        os.close(t2c_r)
        os.close(c2t_w)
        exercise.pid = pid
        exercise.channel = Channel(c2t_r, t2c_w)

    def _student_main(self, channel, exercise, notebook, problems):
        try:
            isolation.die_with_parent()
            keep = {channel.read_fd, channel.write_fd}
            log = os.dup(2)  # the worker's log, for sandbox warnings only
            sys.__stderr__ = os.fdopen(log, "w")
            keep.add(log)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            for fd in range(3, 256):
                if fd not in keep:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            if not problems:
                try:
                    isolation.mount_proc()
                    isolation.hide_course(self.z.root, self.z.hidden, self.z.workdir)
                except OSError as error:
                    problems.append(str(error))
            if problems and self.z.sandbox:  # the worker log says what protection is missing
                print(f"sandbox: {'; '.join(problems)}", file=sys.__stderr__, flush=True)
            sys.__stderr__.close()  # nothing of the grader's stays open to student code
            isolation.limit(self.z.limits["memory_mb"] << 20,
                            exercise.budget + exercise.load_seconds)
            os.chdir(self.z.workdir if not problems else "/")
            os.environ["NBGRADER_EXECUTION"] = "autograde"
            os.environ["TMPDIR"] = self.z.workdir
            import linecache

            linecache.clearcache()
            sys.stdout = sys.stderr = _CappedText()
            if self.z.sandbox:
                isolation.forbid_new_processes()
            others = {n: f for n, f in self.z.references.items() if n not in exercise.names}
            StudentProcess(channel, self.z.shell, notebook.cells, exercise.names, others,
                           self.z.limits.get("cell_seconds", 10.0)).run(notebook.answer_cells)
        except BaseException:
            pass
        finally:
            os._exit(0)

    def run(self):
        started = time.monotonic()
        notebook = self.read()
        answers = notebook.answers
        load = self.z.limits.get("cell_seconds", 10.0) * max(1, len(notebook.cells))
        exercises = [Exercise(g, names, pts, self.z.limits["exercise_seconds"], load)
                     for g, names, pts in self.z.tests]
        for exercise in exercises:  # every student process exists before any test is read
            if all(n in answers for n in exercise.names):
                self.fork_student(exercise, notebook)
        tests = self.z.read_tests(self.task["solution"])  # hidden tests: only now
        cells, stopped = [], set()
        for exercise in exercises:
            cells.append(self.grade(exercise, tests.get(exercise.grade_id, ""), answers))
            cells[-1]["note"] = "; ".join(filter(None, map(notebook.note, exercise.names)))
            stopped.update(exercise.stopped)
            exercise.kill()
            for name in exercise.names:  # a later test may call it: the course's version
                if name in self.z.references:
                    self.z.shell.user_ns[name] = self.z.references[name]
        notes = [notebook.note(n) for n in self.z.answer_ids if n in notebook.duplicates]
        if stopped:
            notes.append(f"cell(s) {', '.join(map(str, sorted(stopped)))} ran longer than "
                         f"{self.z.limits.get('cell_seconds', 10.0):g} s and were stopped; "
                         "the cells after them still ran")
        return {"student": self.task["student"], "assignment": self.z.assignment,
                "status": "graded", "reason": "", "cells": cells,
                "answers": {n: answers.get(n, "") for n in self.z.answer_ids},
                "notes": notes, "seconds": round(time.monotonic() - started, 3)}

    def grade(self, exercise, source, answers):
        cell = {"grade_id": exercise.grade_id, "functions": exercise.names, "score": 0.0,
                "max_score": exercise.points, "status": "failed", "message": "", "output": "",
                "note": ""}
        missing = [n for n in exercise.names if n not in answers]
        if missing:
            cell.update(status="missing", message=f"no answer cell for {missing[0]} was found")
            return cell
        exercise.wait_ready()
        namespace = self.z.shell.user_ns
        for name in exercise.names:
            namespace[name] = exercise.proxy(name)
        visible, hidden = split_test(source)
        shown = ""  # only the visible tests' output reaches the feedback
        for part, label in ((visible, "visible"), (hidden, "hidden")):
            if not part.strip():
                continue
            out = io.StringIO()
            try:
                with redirect_stdout(out), redirect_stderr(out), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    exec(compile(part, f"<{exercise.grade_id}>", "exec"), namespace)
            except BaseException as error:  # noqa: B902 - a test that fails, however it fails
                status, message = classify(error)
                if status == "failed":
                    message = _message(error)
                if label == "hidden":
                    message = "passed the visible tests, but not the hidden ones" + (
                        f": {message}" if str(error).strip() else "")
                else:
                    shown = out.getvalue()[:OUTPUT_CAP]
                cell.update(status=status, message=message[:4000], output=shown)
                return cell
            if label == "visible":
                shown = out.getvalue()[:OUTPUT_CAP]
        cell.update(status="passed", score=exercise.points, output=shown)
        return cell


# --- the zygote ----------------------------------------------------------------------------

class Zygote:
    """Holds the lecture's context; forks a tester per task."""

    def __init__(self, config):
        self.assignment = config["assignment"]
        self.root = config["root"]
        self.hidden = config["hidden"]
        self.workdir = config["workdir"]
        self.limits = config["limits"]
        self.sandbox = config.get("sandbox", True)
        lecture = json.loads(Path(config["lecture"]).read_text(encoding="utf-8"))
        self.cells = lecture["cells"]
        self.answer_ids = [nbgrader_meta(c)["grade_id"] for c in self.cells
                           if nbgrader_meta(c).get("solution") and c["cell_type"] == "code"]
        self.lecture_sources = {source_of(c).strip() for c in self.cells
                                if c["cell_type"] == "code"}
        self.tests = []
        for c in self.cells:
            meta = nbgrader_meta(c)
            if meta.get("grade") and c["cell_type"] == "code":
                visible = split_test(source_of(c))[0]
                names = [n for n in self.answer_ids if re.search(rf"\b{re.escape(n)}\b", visible)]
                self.tests.append((meta["grade_id"], names, float(meta.get("points", 0))))

    def prepare(self):
        """Import what student code may need, then run the lecture's public cells once."""
        import importlib
        import importlib.util

        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        import numpy  # noqa: F401 - imported before the forks, as student code will need it
        import utils

        for module in [f"reference.{m}" for m in sorted(set(utils._REFERENCES.values()))] + [
                "exercises.checking", "exercises.gradcheck", "data", "exercises"]:
            if importlib.util.find_spec(f"utils.{module}") is not None:  # later notebooks'
                importlib.import_module(f"utils.{module}")                # may not exist yet
        for name in ("math", "random", "itertools", "functools", "collections", "copy", "re",
                     "statistics", "operator", "string", "typing", "dataclasses", "time",
                     "numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial"):
            importlib.import_module(name)  # numpy loads these lazily: do it before the sandbox
        self.references = {n: getattr(utils, n) for n in self.answer_ids if hasattr(utils, n)}
        cfg = Config()
        cfg.HistoryManager.enabled = False
        self.shell = InteractiveShell.instance(config=cfg)
        self.shell.user_ns.update(self.references)
        last_answer = max((i for i, c in enumerate(self.cells)
                           if nbgrader_meta(c).get("solution")), default=-1)
        for cell in self.cells[:last_answer]:
            if cell["cell_type"] != "code" or nbgrader_meta(cell).get("solution") \
                    or nbgrader_meta(cell).get("grade"):
                continue
            code = re.sub(r"^\s*%matplotlib.*$", "pass", source_of(cell), flags=re.M)
            self.shell.run_cell(code, store_history=False, silent=True)
        import matplotlib.pyplot as plt

        plt.close("all")
        from utils.exercises import rules

        rules.course_functions()  # found once here; each student process disables its share
        self.shell.user_ns.update(self.references)  # the context may have rebound them
        if threading.active_count() != 1:
            raise RuntimeError("the zygote started threads; forking it would not be safe")

    def read_tests(self, solution_path):
        nb = json.loads(Path(solution_path).read_text(encoding="utf-8"))
        return {nbgrader_meta(c)["grade_id"]: source_of(c) for c in nb["cells"]
                if nbgrader_meta(c).get("grade")}

    def grade(self, task):
        """Fork a tester for ``task``; write its result (or why there is none)."""
        read_fd, write_fd = os.pipe()
        zygote = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            os.setpgrp()
            isolation.not_dumpable()
            isolation.die_with_parent()  # a killed worker leaves no tester behind
            if os.getppid() != zygote:
                os._exit(0)
            try:
                result = Tester(self, task).run()
                result["key"] = task["key"]
                result["notes"] = task.get("notes", []) + result["notes"]
                results.write(task["result"], result)
            except BaseException:
                os.write(write_fd, traceback.format_exc()[-2000:].encode())
            os._exit(0)
        os.close(write_fd)
        budget = self.limits["notebook_seconds"]
        ready, _, _ = select.select([read_fd], [], [], budget)
        error = os.read(read_fd, 4000).decode(errors="replace") if ready else None
        os.close(read_fd)
        if not ready:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
        if not ready or error:
            status = "timeout" if not ready else "crashed"
            reason = (f"grading took longer than {budget:g} s" if not ready
                      else f"the grader failed: {error.strip().splitlines()[-1]}")
            results.write(task["result"], results.zero(
                task["student"], self.assignment, task["key"], status, reason, self.tests))


def main():
    config = json.loads(sys.argv[1])
    isolation.die_with_parent()  # `grade` killed: this worker and its forks go with it
    if os.getppid() != config.get("parent", os.getppid()):
        sys.exit(0)
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    log = os.open(config["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    zygote = Zygote(config)
    zygote.prepare()
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        task = json.loads(line)
        zygote.grade(task)
        protocol.write(json.dumps({"done": task["id"]}) + "\n")


if __name__ == "__main__":
    main()
