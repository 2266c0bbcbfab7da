"""Grade many submissions in parallel, resumably.

Each submission's result is a JSON file under autograder/build/results/<assignment>/, written
atomically and keyed by a hash of everything that decides the grade (the submitted notebook,
the solution notebook with its tests, the code of utils and of this grader, the limits).
A result whose grading crashed is not kept as final: the next run tries it again.
A run skips submissions whose result has the current key, so re-running on unchanged
submissions does no work, and a run killed halfway picks up where it stopped.
"""
import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time

from . import course

GRADER_VERSION = "2"
DEFAULT_LIMITS = {
    "exercise_seconds": float(os.environ.get("COURSE_EXERCISE_SECONDS", 60)),
    "notebook_seconds": float(os.environ.get("COURSE_NOTEBOOK_SECONDS", 600)),
    "memory_mb": int(os.environ.get("COURSE_MEMORY_MB", 2048)),
}
RESULTS = course.BUILD / "results"


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def code_digest():
    """A hash of the code that decides grades: the contract, the references, the checks and
    this grader (not the figures or data sets: changing a plot regrades nothing)."""
    utils = course.ROOT / "utils"
    files = ([utils / "__init__.py", utils / "contract.py", utils / "curriculum.toml"]
             + sorted((utils / "reference").rglob("*.py"))
             + sorted((utils / "exercises").rglob("*.py")) + sorted(course.HERE.glob("*.py")))
    return _digest(*[f.relative_to(course.ROOT).as_posix().encode() + f.read_bytes()
                     for f in files])


def result_path(student, assignment):
    return RESULTS / assignment / f"{student}.json"


def read_result(student, assignment):
    path = result_path(student, assignment)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, total, label="grading"):
        self.total, self.done, self.label = total, 0, label
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def step(self, text=""):
        with self.lock:
            self.done += 1
            elapsed = time.monotonic() - self.start
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            bar = "#" * filled + "." * (width - filled)
            line = (f"{self.label} [{bar}] {self.done}/{self.total} "
                    f"{elapsed:5.1f}s {text}")
            if self.tty:
                sys.stderr.write("\r" + line[:120].ljust(120))
                if self.done == self.total:
                    sys.stderr.write("\n")
            else:
                sys.stderr.write(line + "\n")
            sys.stderr.flush()


class Zygote:
    """A worker process (autograder.worker) for one assignment."""

    def __init__(self, assignment, lecture, limits, log):
        hidden, workdir = _private_tmp()
        config = {
            "assignment": assignment, "lecture": str(lecture), "root": str(course.ROOT),
            "hidden": [str(course.ROOT / d) for d in ("solutions", "autograder", "tests",
                                                       "utils", ".git")] + hidden,
            "workdir": workdir, "limits": limits, "log": str(log),
            "sandbox": os.environ.get("COURSE_SANDBOX", "1") != "0",
        }
        env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker", json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            cwd=course.ROOT, env=env)
        self.ready = self._read() == {"ready": True}

    def _read(self):
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def grade(self, task):
        self.process.stdin.write(json.dumps(task) + "\n")
        self.process.stdin.flush()
        return self._read() == {"done": task["id"]}

    def close(self):
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()


def _private_tmp():
    """(extra folders to hide, the student's writable folder).

    /tmp is hidden (other users' files) unless Python or its packages live there (a clone
    under /tmp): then the student gets a fresh folder of its own under /tmp instead.
    """
    import tempfile

    python = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, *sys.path) if p}
    tmp = os.path.realpath("/tmp")
    if not any(p == tmp or p.startswith(tmp + os.sep) for p in python):
        return ["/tmp"], "/tmp"
    return [], tempfile.mkdtemp(prefix="course-sandbox-", dir="/tmp")


def grade(tasks, workers, limits=None, progress=None):
    """Grade ``tasks`` (dicts: student, assignment, notebook, solution, lecture, key).

    Tasks are grouped by assignment; each assignment gets up to ``workers`` zygotes. A
    zygote that dies is replaced, and the task it held gets a "crashed" result.
    """
    limits = limits or DEFAULT_LIMITS
    log_dir = course.BUILD / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    by_assignment = {}
    for i, task in enumerate(tasks):
        task = {**task, "id": i, "result": str(result_path(task["student"], task["assignment"]))}
        by_assignment.setdefault(task["assignment"], []).append(task)
    for assignment, todo in by_assignment.items():
        pending = queue.Queue()
        for task in todo:
            pending.put(task)
        lecture = todo[0]["lecture"]

        def run_worker(n):
            log = log_dir / f"{assignment}-{n}.log"
            zygote = None
            try:
                while True:
                    try:
                        task = pending.get_nowait()
                    except queue.Empty:
                        return
                    if zygote is None:
                        zygote = Zygote(assignment, lecture, limits, log)
                    ok = zygote.ready and zygote.grade(task)
                    if not ok:
                        _crashed(task, limits, f"the grading worker failed (see {log})")
                        zygote.close()
                        zygote = None
                    if progress:
                        progress.step(f"{task['student']} {assignment}")
            finally:
                if zygote is not None:
                    zygote.close()

        threads = [threading.Thread(target=run_worker, args=(n,))
                   for n in range(min(workers, len(todo)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def _crashed(task, limits, reason):
    from .worker import write_json_atomic, zero_result

    cells = [(g, [], points) for g, points in course.graded_cells(task["assignment"])]
    write_json_atomic(task["result"], zero_result(task["student"], task["assignment"],
                                                  task["key"], "crashed", reason, cells))
