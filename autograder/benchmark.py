"""Grading speed, side by side in one run, on a generated class.

    python -m autograder.benchmark [--students 40] [--assignments 01_perceptron ...]

Builds a copy of the course in a temporary folder, submits for every student a solved, blank
or wrong notebook per assignment (every other one with the student's own cells: a helper, a
scratch variable, a debug print that fails), then times on the same submissions:
  1. python -m autograder grade (sandboxed, parallel on all cores), and the marginal cost of
     a submission: the same command on twice the class, less the first, per added submission;
  2. plain `nbgrader autograde A --student S`, once per student and assignment;
  3. one batch `nbgrader autograde A` per assignment;
and the cost of starting and stopping a bare Jupyter kernel. Prints a table.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import course

DEFAULT_ASSIGNMENTS = ["01_perceptron", "02_activation_functions", "03_multilayer_perceptron"]


def _answers(nb):
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


OWN_CELLS = [  # what students add around their answers: a helper, scratch, a failing print
    "import numpy as np\nTINY = np.finfo(np.float64).tiny\nmy_X = np.ones((4, 3))\n",
    "print(my_X.shape, TINY)\nprint(undefined_scratch_name)\n",
]


def make_class(root, assignments, students, first=0):
    """Submissions: 60% solved, 20% blank, 20% with the first exercise wrong; every other
    student with cells of their own."""
    for a in assignments:
        lecture = json.loads((root / "lectures" / a / f"{a}.ipynb").read_text())
        solution = _answers(json.loads((root / "solutions" / a / f"{a}.ipynb").read_text()))
        for n in range(first, first + students):
            nb = json.loads(json.dumps(lecture))
            kind = ("solved", "solved", "solved", "blank", "wrong")[n % 5]
            if kind != "blank":
                for grade_id, cell in _answers(nb).items():
                    cell["source"] = "".join(solution[grade_id]["source"]).replace(
                        "### BEGIN SOLUTION", "").replace("### END SOLUTION", "")
            if kind == "wrong":
                answer = next(iter(_answers(nb).values()))
                answer["source"] = answer["source"].replace("return ", "return 0 * ", 1)
            if n % 2:
                nb["cells"][1:1] = [{"cell_type": "code", "metadata": {}, "outputs": [],
                                     "execution_count": None, "source": c} for c in OWN_CELLS]
            folder = root / "autograder" / "submitted" / f"s{n:03d}" / a
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{a}.ipynb").write_text(json.dumps(nb))


def timed(args, root, env):
    start = time.perf_counter()
    subprocess.run(args, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def kernel_start(n=5):
    """Seconds to start a python3 kernel, wait until it answers, and shut it down."""
    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(n):
        start = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3")
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--assignments", nargs="*", default=DEFAULT_ASSIGNMENTS)
    parser.add_argument("--skip-per-student", action="store_true",
                        help="skip the slowest measurement (one nbgrader call per submission)")
    parser.add_argument("--skip-nbgrader", action="store_true",
                        help="time only this grader (and its marginal cost per submission)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="course-bench-"))
    root = workdir / "course"
    try:
        for name in ("autograder", "utils", "lectures"):
            shutil.copytree(course.ROOT / name, root / name, ignore=shutil.ignore_patterns(
                "__pycache__", "submitted", "autograded", "feedback", "build", "*.db", "*.csv"))
        for a in args.assignments:
            shutil.copytree(course.SOLUTIONS / a, root / "solutions" / a)
        env = {**os.environ, "JUPYTER_CONFIG_PATH": str(root / "autograder"),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        subprocess.run([sys.executable, "-m", "autograder", "release", *args.assignments],
                       cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
        make_class(root, args.assignments, args.students)
        n = args.students * len(args.assignments)
        print(f"\n{args.students} students x {len(args.assignments)} notebooks = {n} "
              f"submissions, {os.cpu_count()} cores\n")
        print(f"| {'what':52s} | {'wall s':>8s} | {'s per submission':>16s} |")
        print(f"|{'-' * 54}|{'-' * 10}|{'-' * 18}|", flush=True)

        def row(what, seconds, count):  # printed as measured: a long run shows its figures
            print(f"| {what:52s} | {seconds:8.1f} | {seconds / count:16.3f} |", flush=True)

        row("bare kernel start + shutdown (median of 5)", kernel_start(), 1)
        ours = timed([sys.executable, "-m", "autograder", "grade", *args.assignments], root, env)
        row(f"python -m autograder grade ({os.cpu_count()} workers)", ours, n)
        make_class(root, args.assignments, args.students, first=args.students)
        shutil.rmtree(root / "autograder" / "build" / "results")
        double = timed([sys.executable, "-m", "autograder", "grade", *args.assignments], root,
                       env)
        row(f"  the same on twice the class ({2 * n} submissions)", double, 2 * n)
        row("  marginal cost: (twice - once) per added submission", double - ours, n)
        if args.skip_nbgrader:
            return
        shutil.rmtree(root / "autograder" / "submitted")
        make_class(root, args.assignments, args.students)
        nbgrader = str(Path(sys.executable).parent / "nbgrader")
        if not args.skip_per_student:
            per = sum(timed([nbgrader, "autograde", a, "--student", f"s{s:03d}", "--force"],
                            root, env)
                      for a in args.assignments for s in range(args.students))
            row("nbgrader autograde, one call per student", per, n)
        batch = sum(timed([nbgrader, "autograde", a, "--force"], root, env)
                    for a in args.assignments)
        row("nbgrader autograde, one batch call per assignment", batch, n)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
