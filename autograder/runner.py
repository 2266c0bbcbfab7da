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
import subprocess
import sys
import threading
import time

from . import course, results

GRADER_VERSION = "3"
DEFAULT_LIMITS = {
    "exercise_seconds": float(os.environ.get("COURSE_EXERCISE_SECONDS", 60)),
    "notebook_seconds": float(os.environ.get("COURSE_NOTEBOOK_SECONDS", 600)),
    "memory_mb": int(os.environ.get("COURSE_MEMORY_MB", 2048)),
    "cell_seconds": float(os.environ.get("COURSE_CELL_SECONDS", 10)),
}


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def code_digest():
    """A hash of the code that decides grades: the contract, the references, the checks and
    the grading processes (not the figures, data sets, reports or exports: changing a plot
    or the feedback page regrades nothing)."""
    utils = course.ROOT / "utils"
    files = ([utils / "__init__.py", utils / "contract.py", utils / "curriculum.toml"]
             + sorted((utils / "reference").rglob("*.py"))
             + sorted((utils / "exercises").rglob("*.py"))
             + [course.HERE / f"{m}.py" for m in ("worker", "isolation", "wire", "results")])
    return _digest(*[f.relative_to(course.ROOT).as_posix().encode() + f.read_bytes()
                     for f in files])


class Progress:
    """A one-line progress bar on stderr that names the submissions still being graded (plain
    lines when stderr is not a terminal). Redrawn every second while something is running,
    so a long wait says whom it waits on."""

    def __init__(self, total, label="grading"):
        self.total, self.done, self.label = total, 0, label
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.running = {}  # "student assignment" -> when it started
        self.said = 0.0
        self.stop = threading.Event()
        threading.Thread(target=self._tick, daemon=True).start()

    def begin(self, name):
        with self.lock:
            self.running[name] = time.monotonic()

    def step(self, name=""):
        with self.lock:
            self.running.pop(name, None)
            self.done += 1
            self._draw(force=True)
            if self.done >= self.total:
                self.stop.set()

    def _waiting(self, now):
        longest = sorted(self.running.items(), key=lambda kv: kv[1])[:2]
        return ", ".join(f"{name} ({now - t:.0f} s)" for name, t in longest)

    def _draw(self, force=False):
        now = time.monotonic()
        if not force and not self.tty and now - self.said < 30:
            return  # in a log: a "still waiting" line every 30 s, not every second
        self.said = now
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        waiting = self._waiting(now)
        line = (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/"
                f"{self.total} {now - self.start:5.1f}s"
                + (f"  waiting on {waiting}" if waiting else ""))
        if self.tty:
            sys.stderr.write("\r" + line[:150].ljust(150))
            if self.done == self.total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def _tick(self):
        while not self.stop.wait(1.0):
            with self.lock:
                if self.running:
                    self._draw()


class Worker:
    """A grading worker process (``python -m autograder.worker``) for one assignment: it runs
    the lecture once, then grades the tasks sent to it one by one. It dies with this process
    (PR_SET_PDEATHSIG), and its forks with it."""

    def __init__(self, assignment, lecture, limits, log):
        hidden, workdir = _private_tmp()
        config = {
            "assignment": assignment, "lecture": str(lecture), "root": str(course.ROOT),
            "hidden": [str(course.ROOT / d) for d in ("solutions", "autograder", "tests",
                                                       "utils", ".git")] + hidden,
            "workdir": workdir, "limits": limits, "log": str(log),
            "sandbox": os.environ.get("COURSE_SANDBOX", "1") != "0", "parent": os.getpid(),
        }
        env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        self.assignment = assignment
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


class Schedule:
    """Tasks of every assignment, handed out so that no core idles: a thread keeps to its
    worker's assignment while it has tasks, then moves to the assignment with the most left
    (one slow notebook never holds the others back)."""

    def __init__(self, tasks):
        self.lock = threading.Lock()
        self.pending = {}
        for task in tasks:
            self.pending.setdefault(task["assignment"], []).append(task)

    def next(self, assignment):
        with self.lock:
            if not self.pending.get(assignment):
                left = {a: t for a, t in self.pending.items() if t}
                if not left:
                    return None
                assignment = max(left, key=lambda a: len(left[a]))
            return self.pending[assignment].pop(0)


def grade(tasks, workers, limits=None, progress=None):
    """Grade ``tasks`` (dicts: student, assignment, notebook, solution, lecture, key) on up to
    ``workers`` worker processes at once. A worker that dies is replaced, and the task it
    held gets a "crashed" result."""
    limits = limits or DEFAULT_LIMITS
    log_dir = course.BUILD / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    schedule = Schedule([{**task, "id": i, "result": str(results.path(task["student"],
                                                                      task["assignment"]))}
                         for i, task in enumerate(tasks)])
    live = []

    def run_worker(n):
        worker = None
        try:
            while True:
                task = schedule.next(worker.assignment if worker else None)
                if task is None:
                    return
                if worker is not None and worker.assignment != task["assignment"]:
                    worker.close()
                    worker = None
                log = log_dir / f"{task['assignment']}-{n}.log"
                if worker is None:
                    worker = Worker(task["assignment"], task["lecture"], limits, log)
                    live.append(worker)
                name = f"{task['student']} {task['assignment']}"
                if progress:
                    progress.begin(name)
                ok = worker.ready and worker.grade(task)
                if not ok:
                    _crashed(task, f"the grading worker failed (see {log})")
                    worker.close()
                    worker = None
                if progress:
                    progress.step(name)
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=run_worker, args=(n,), daemon=True)
               for n in range(min(workers, len(tasks)))]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    except BaseException:  # Ctrl-C: stop every worker now (their forks die with them)
        for worker in live:
            worker.process.kill()
        raise


def _crashed(task, reason):
    results.write(task["result"], results.zero_for(task["student"], task["assignment"],
                                                   task["key"], "crashed", reason))
