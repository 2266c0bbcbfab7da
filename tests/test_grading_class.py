"""A class graded the way an instructor grades it, every student's total checked.

Twelve students hand in notebooks 01, 04 and 06 through Canvas: resubmissions, two students of
the same name, late work, VS Code and Colab saves, helper, scratch and duplicated cells, an
endless loop in a scratch cell, a truncated file. The three Canvas zips are collected and
graded with the README's commands; each student's total must be what a fair grader gives:
the points of every function whose last definition is right, less the late penalty.
"""
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import nbgrader_meta, read_notebook
from submissions import answers, copy_course, run_cli, strip_markers

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading")]

NOTEBOOKS = ["01_perceptron", "04_loss_functions", "06_backpropagation"]
ENV = {"COURSE_CELL_SECONDS": "1"}  # a scratch cell's bound, short for the test
PENALTY_PER_DAY = 0.1
SCALE = ("def _off(v):\n"  # a wrong answer: the right value, moved
         "    if isinstance(v, dict):\n        return {k: _off(x) for k, x in v.items()}\n"
         "    if isinstance(v, (tuple, list)):\n        return type(v)(_off(x) for x in v)\n"
         "    return v * 1.25 + 0.5\n")


def code(kind="code", source="", **metadata):
    return {"cell_type": kind, "metadata": metadata, "source": source, "outputs": [],
            "execution_count": None}


class Student:
    """One student's notebooks and what a fair grader gives them."""

    def __init__(self, name, uid, course_dir, rng):
        self.name, self.uid, self.course_dir, self.rng = name, uid, course_dir, rng
        self.files = {}       # assignment -> [(file name, bytes, zip date)]
        self.expected = {}    # assignment -> points a fair grader gives
        self.late = set()

    def functions(self, a):
        nb = read_notebook(self.course_dir / "solutions" / a / f"{a}.ipynb")
        return {g: strip_markers("".join(c["source"])) for g, c in answers(nb).items()}

    def points(self, a):
        nb = read_notebook(self.course_dir / "solutions" / a / f"{a}.ipynb")
        return {m["grade_id"].removeprefix("test_"): float(m["points"]) for m in
                (nbgrader_meta(c) for c in nb["cells"]) if m.get("grade")}

    def lecture(self, a):
        nb = read_notebook(self.course_dir / "lectures" / a / f"{a}.ipynb")
        for cell in nb["cells"]:
            cell["source"] = "".join(cell["source"])
        return nb

    @staticmethod
    def right(name, source):
        return source

    @staticmethod
    def wrong(name, source):
        renamed = source.replace(f"def {name}(", f"def _right_{name}(", 1)
        return (f"{renamed}\n\n{SCALE}\ndef {name}(*args, **kwargs):\n"
                f"    return _off(_right_{name}(*args, **kwargs))\n")

    def notebook(self, a, correct, style=None):
        """The lecture with each answer right or wrong (``correct``: {name: bool}), in a style."""
        nb = self.lecture(a)
        solutions = self.functions(a)
        cells = answers(nb)
        for name, ok in correct.items():
            cells[name]["source"] = (self.right if ok else self.wrong)(name, solutions[name])
        if style:
            style(nb, solutions, correct)
        points = self.points(a)
        return nb, sum(points[n] for n, ok in correct.items() if ok)

    def hand_in(self, a, nb, expected, date=(2026, 11, 20, 10, 0, 0), resubmission=0,
                late=False, fmt=json.dumps):
        suffix = f"-{resubmission}" if resubmission else ""
        name = (f"{self.name}{'_LATE' if late else ''}_{self.uid}_7000_"
                f"{a}{suffix}.ipynb")
        self.files.setdefault(a, []).append((name, fmt(nb).encode(), date))
        self.expected[a] = expected
        if late:
            self.late.add(a)


# --- styles: how real students write the rest of the notebook --------------------------------

def insert_after(nb, grade_id, *cells):
    i = next(i for i, c in enumerate(nb["cells"]) if nbgrader_meta(c).get("grade_id") == grade_id)
    nb["cells"][i + 1:i + 1] = list(cells)


def tiny_helper(nb, solutions, correct):
    """A helper cell `TINY = np.finfo(...).tiny` that an answer uses (was: 0 points)."""
    first = next(iter(correct))
    cell = answers(nb)[first]
    cell["source"] = cell["source"].replace(f"def {first}(", f"def _mine_{first}(", 1) + (
        f"\n\ndef {first}(*args, **kwargs):\n    assert TINY > 0\n"
        f"    return _mine_{first}(*args, **kwargs)\n")
    i = nb["cells"].index(cell)
    nb["cells"].insert(i, code(source="import numpy as np\nTINY = np.finfo(np.float64).tiny\n"))


def dict_and_shared_helpers(nb, solutions, correct):
    """A dict of activations in a cell of its own, and a helper defined inside another
    answer cell, both used by later answers."""
    names = list(correct)
    nb["cells"].insert(2, code(source="ACTIVATIONS = {'identity': lambda v: v, "
                                      "'double': lambda v: 2 * v}\n"))
    host = answers(nb)[names[0]]
    host["source"] += "\n\ndef passthrough(v):\n    return ACTIVATIONS['identity'](v)\n"
    for name in names[1:]:
        cell = answers(nb)[name]
        cell["source"] = cell["source"].replace(f"def {name}(", f"def _mine_{name}(", 1) + (
            f"\n\ndef {name}(*args, **kwargs):\n"
            f"    return passthrough(_mine_{name}(*args, **kwargs))\n")


def debug_scratch(nb, solutions, correct):
    """Scratch variables and debug prints, some of which fail, between the answers."""
    names = list(correct)
    nb["cells"].insert(2, code(source="import numpy as np\nmy_X = np.ones((4, 3))\n"))
    for name in names:
        insert_after(nb, name, code(source=f"print({name}(my_X))  # a debug call\n"),
                     code(source="print(my_scratch_result)\n"))


def endless_scratch(nb, solutions, correct):
    nb["cells"].append(code(source="step = 0\nwhile True:  # forgot to stop\n    step += 1\n"))


def duplicated_fixed(nb, solutions, correct):
    """Each answer cell copied below its test; the first copy wrong, the copy as intended."""
    for name, ok in correct.items():
        original = answers(nb)[name]
        copy = json.loads(json.dumps(original))
        copy["id"] = f"copy-{name}"[:60]
        copy["source"] = original["source"]
        original["source"] = Student.wrong(name, solutions[name])
        insert_after(nb, f"test_{name}", copy)


def reference_in_scratch(nb, solutions, correct):
    """A wrong answer, then a scratch cell importing the course's reference over it."""
    first = next(iter(correct))
    insert_after(nb, f"test_{first}", code(source=f"from utils import {first}\n"))


def vscode(nb):
    """As VS Code saves: nbformat 4.2 with cell ids, sources as lists of lines."""
    nb = json.loads(json.dumps(nb))
    nb["nbformat_minor"] = 2
    nb["metadata"]["vscode"] = {"interpreter": {"hash": "ab12"}}
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"vsc-{i}"
        cell["source"] = cell["source"].splitlines(keepends=True)
    return json.dumps(nb, indent=1)


def colab(nb):
    """As Colab saves: nbformat 4.0, no cell ids, nbgrader metadata gone, outputs kept."""
    nb = json.loads(json.dumps(nb))
    nb["nbformat_minor"] = 0
    nb["metadata"] = {"colab": {"provenance": []}, "kernelspec": {"name": "python3",
                                                                  "display_name": "Python 3"}}
    for cell in nb["cells"]:
        cell.pop("id", None)
        cell["metadata"] = {"id": "x" + str(abs(hash(cell["source"])) % 10 ** 6)}
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ran\n"]},
                               {"output_type": "execute_result", "execution_count": 3,
                                "metadata": {"tags": []}, "data": {"text/plain": ["1"]}}]
            cell["execution_count"] = 3
    return json.dumps(nb)


def truncated(nb):
    text = json.dumps(nb)
    return text[: len(text) // 2]


# --- the class --------------------------------------------------------------------------------

def build_class(course_dir, seed=15):
    rng = random.Random(seed)
    people = [("adamsjo", "100001"), ("nguyenanh", "111111"), ("nguyenanh", "222222"),
              ("ortizmaria", "100003"), ("parkmin", "100004"), ("quinnli", "100005"),
              ("ruizcar", "100006"), ("smithal", "100007"), ("tanakaken", "100008"),
              ("umarfa", "100009"), ("vargasel", "100010"), ("wongkei", "100011")]
    s = {uid: Student(name, uid, course_dir, rng) for name, uid in people}

    def some(a, p=0.6):
        return {n: rng.random() < p for n in s["100001"].functions(a)}

    def every(a, ok=True):
        return {n: ok for n in s["100001"].functions(a)}

    for a in NOTEBOOKS:
        s["100001"].hand_in(a, *s["100001"].notebook(a, every(a)))
        s["222222"].hand_in(a, *s["222222"].notebook(a, {}), date=(2026, 11, 21, 9, 0, 0))
        s["100004"].hand_in(a, *s["100004"].notebook(a, some(a)), fmt=vscode)
        s["100005"].hand_in(a, *s["100005"].notebook(a, some(a)), fmt=colab)
        s["100007"].hand_in(a, *s["100007"].notebook(a, every(a)), late=a != "01_perceptron")
        s["100010"].hand_in(a, *s["100010"].notebook(
            a, some(a), endless_scratch if a == "01_perceptron" else None))
        s["100011"].hand_in(a, *s["100011"].notebook(a, some(a, 0.3), debug_scratch))
    # the four ways a helper sank a correct function
    styles = {"01_perceptron": tiny_helper, "04_loss_functions": dict_and_shared_helpers,
              "06_backpropagation": debug_scratch}
    for a, style in styles.items():
        s["111111"].hand_in(a, *s["111111"].notebook(a, every(a), style))
    # resubmissions: the first upload wrong, each resubmission better; the zip date of the
    # resubmission is the same, so only its number can tell them apart
    for a in NOTEBOOKS:
        s["100003"].hand_in(a, *s["100003"].notebook(a, every(a, False)))
        if a != "06_backpropagation":
            s["100003"].hand_in(a, *s["100003"].notebook(a, some(a)), resubmission=1)
            s["100003"].hand_in(a, *s["100003"].notebook(a, every(a)), resubmission=2)
    # duplicated answer cells (the last definition is the one as intended)
    for a in NOTEBOOKS:
        s["100006"].hand_in(a, *s["100006"].notebook(a, some(a), duplicated_fixed))
    # a truncated download, then two good notebooks
    nb, _ = s["100008"].notebook("01_perceptron", every("01_perceptron"))
    s["100008"].hand_in("01_perceptron", nb, 0.0, fmt=truncated)
    for a in NOTEBOOKS[1:]:
        s["100008"].hand_in(a, *s["100008"].notebook(a, some(a)))
    # wrong answers among helpers never gain: the reference imported over a wrong answer
    for a in NOTEBOOKS:
        nb, _ = s["100009"].notebook(a, every(a, False), reference_in_scratch)
        s["100009"].hand_in(a, nb, 0.0)
    return s


def write_zip(path, students, a):
    with zipfile.ZipFile(path, "w") as z:
        for st in students.values():
            for name, data, date in st.files.get(a, []):
                z.writestr(zipfile.ZipInfo(name, date_time=date), data)
        z.writestr(zipfile.ZipInfo("__MACOSX/._junk", date_time=(2026, 11, 20, 0, 0, 0)), b"x")


def fair_total(st, a):
    got = st.expected[a]
    if a in st.late:
        points = sum(st.points(a).values())
        got -= min(got, PENALTY_PER_DAY * points)
    return got


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course_dir = copy_course(tmp_path_factory.mktemp("class"), NOTEBOOKS)
    students = build_class(course_dir)
    downloads = tmp_path_factory.mktemp("downloads")
    roster = downloads / "roster.csv"
    with open(roster, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "email", "section"])
        for uid, st in students.items():
            w.writerow([uid, f"{st.name.title()} {uid[-2:]}", f"{st.name}{uid[-2:]}@uni.edu",
                        "A" if int(uid) % 2 else "B"])
        w.writerow(["100012", "Xu Li", "xuli@uni.edu", "A"])  # on the roster, hands in nothing
    (course_dir / "autograder" / "policy.toml").write_text(
        f"[late]\npenalty_per_day = {PENALTY_PER_DAY}\n")
    collected = {}
    for a in NOTEBOOKS:
        archive = downloads / f"{a}.zip"
        write_zip(archive, students, a)
        collected[a] = run_cli(course_dir, "collect", str(archive), "--assignment", a,
                               "--roster", str(roster), env=ENV)
    out = run_cli(course_dir, "grade", env=ENV)
    return course_dir, students, collected, out


def totals(course_dir):
    with open(course_dir / "autograder" / "totals.csv", newline="") as f:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}


def test_every_students_total_is_what_a_fair_grader_gives(graded_class):
    course_dir, students, _, _ = graded_class
    got = totals(course_dir)
    wrong = []
    for uid, st in students.items():
        for a in NOTEBOOKS:
            row = got.get((uid, a))
            if row is None:
                wrong.append(f"{st.name} ({uid}) {a}: no row")
            elif abs(float(row["total"]) - fair_total(st, a)) > 1e-6:
                wrong.append(f"{st.name} ({uid}) {a}: {row['total']} instead of "
                             f"{fair_total(st, a):g} ({row['status']}; {row['notes']})")
    assert not wrong, "\n".join(wrong)


def test_collect_says_what_it_saw_kept_merged_and_dropped(graded_class):
    _, students, collected, _ = graded_class
    out = collected["01_perceptron"]
    files = sum(len(st.files.get("01_perceptron", [])) for st in students.values())
    assert f"{files + 1} file(s) seen: {len(students)} submission(s) kept, 2 older notebook(s) " \
           "merged into them, 1 dropped" in out, out
    assert "kept ortizmaria_100003_7000_01_perceptron-2.ipynb (resubmission -2, the highest" \
           in out, out
    assert "2 students named nguyenanh: ids 111111, 222222" in out, out
    assert "on the roster, no notebook: 100012" in out, out
    assert "late (the LMS's flag): smithal (100007)" in collected["04_loss_functions"]


def test_namesakes_stay_two_students_with_their_names(graded_class):
    course_dir, _, _, _ = graded_class
    got = totals(course_dir)
    assert got[("111111", "01_perceptron")]["name"] == "Nguyenanh 11"
    assert got[("222222", "01_perceptron")]["name"] == "Nguyenanh 22"
    assert float(got[("111111", "01_perceptron")]["total"]) == 3.0
    assert float(got[("222222", "01_perceptron")]["total"]) == 0.0


def test_late_work_is_flagged_and_the_policy_applied(graded_class):
    course_dir, _, _, _ = graded_class
    row = totals(course_dir)[("100007", "04_loss_functions")]
    assert row["late"] == "yes" and row["days_late"] == "1"
    assert float(row["penalty"]) == pytest.approx(PENALTY_PER_DAY * float(row["max_score"]))
    assert totals(course_dir)[("100007", "01_perceptron")]["late"] == ""


def test_the_truncated_file_gets_a_clear_reason(graded_class):
    course_dir, _, _, _ = graded_class
    row = totals(course_dir)[("100008", "01_perceptron")]
    assert row["status"] == "unreadable notebook"
    with open(course_dir / "autograder" / "grades.csv", newline="") as f:
        reasons = {r["reason"] for r in csv.DictReader(f)
                   if (r["student"], r["assignment"]) == ("100008", "01_perceptron")}
    assert any("cut short" in r for r in reasons), reasons
    summary = (course_dir / "autograder" / "summary.csv").read_text()
    assert "unreadable notebook" in summary.splitlines()[0]


def test_duplicates_are_noted_in_feedback_and_summary(graded_class):
    course_dir, _, _, _ = graded_class
    run_cli(course_dir, "feedback", "01_perceptron", "--student", "100006")
    page = (course_dir / "autograder" / "feedback" / "100006" / "01_perceptron"
            / "01_perceptron.html").read_text()
    assert "perceptron_forward is defined in 2 cells" in page and "the last one" in page
    text = (course_dir / "autograder" / "summary.txt").read_text()
    assert "answer cell duplicated" in text


def test_summary_lists_exercises_in_notebook_order(graded_class):
    from utils import contract

    course_dir, _, _, _ = graded_class
    with open(course_dir / "autograder" / "summary.csv", newline="") as f:
        order = [(r["assignment"], r["grade_id"]) for r in csv.DictReader(f)]
    expected = [(nb.id, f"test_{n}") for nb in contract.NOTEBOOKS if nb.id in NOTEBOOKS
                for n in nb.names]
    assert order == expected


def test_the_canvas_export_reads_back_as_a_gradebook(graded_class):
    course_dir, students, _, _ = graded_class
    with open(course_dir / "autograder" / "canvas.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert header[5:] == NOTEBOOKS
    assert rows[0]["Student"].strip() == "Points Possible"
    by_id = {r["ID"]: r for r in rows[1:]}
    assert set(by_id) == set(students) | {"100012"}
    assert [by_id["100012"][a] for a in NOTEBOOKS] == ["", "", ""]  # no grade, not a 0
    for uid, st in students.items():
        assert by_id[uid]["Student"] == f"{st.name.title()} {uid[-2:]}"
        assert by_id[uid]["SIS Login ID"] == f"{st.name}{uid[-2:]}@uni.edu"
        for a in NOTEBOOKS:
            assert float(by_id[uid][a]) == pytest.approx(fair_total(st, a)), (uid, a)


def test_an_override_survives_a_forced_regrade_and_shows_in_every_export(graded_class):
    course_dir, students, _, _ = graded_class
    run_cli(course_dir, "override", "100009", "01_perceptron", "perceptron_forward", "2",
            "--reason", "right idea, a typo in the bias")
    out = run_cli(course_dir, "grade", "01_perceptron", "--student", "100009", "--force",
                  env=ENV)
    assert "graded 1 submission(s)" in out
    row = totals(course_dir)[("100009", "01_perceptron")]
    assert float(row["total"]) == 2.0 and float(row["auto_score"]) == 0.0
    assert "a typo in the bias" in row["notes"]
    with open(course_dir / "autograder" / "grades.csv", newline="") as f:
        cell = next(r for r in csv.DictReader(f) if r["student"] == "100009"
                    and r["assignment"] == "01_perceptron")
    assert float(cell["score"]) == 2.0 and "a typo" in cell["override"]
    assert "a typo in the bias" in (course_dir / "autograder" / "review.html").read_text()
    with open(course_dir / "autograder" / "canvas.csv", newline="") as f:
        canvas = {r["ID"]: r for r in csv.DictReader(f)}
    assert float(canvas["100009"]["01_perceptron"]) == 2.0


def test_grading_an_unknown_student_says_so(graded_class):
    course_dir, _, _, _ = graded_class
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "--student", "nobody"],
                            cwd=course_dir, capture_output=True, text=True)
    assert result.returncode != 0 and "no submission from 'nobody'" in result.stderr


def test_collecting_a_missing_zip_says_so(graded_class):
    course_dir, _, _, _ = graded_class
    result = subprocess.run([sys.executable, "-m", "autograder", "collect", "nowhere.zip",
                             "--assignment", "01_perceptron"], cwd=course_dir,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "nowhere.zip: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def _ours(course_dir):
    """Pids of processes grading this course (workers and their forks carry its path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"autograder.worker" in cmdline and str(course_dir).encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_killing_grade_leaves_no_process_behind(graded_class):
    course_dir, _, _, _ = graded_class
    a = "01_perceptron"
    nb = read_notebook(course_dir / "lectures" / a / f"{a}.ipynb")
    answers(nb)["perceptron_forward"]["source"] = (
        "def perceptron_forward(X, w, w0, g):\n    while True:\n        pass\n")
    folder = course_dir / "autograder" / "submitted" / "loopy" / a
    folder.mkdir(parents=True)
    (folder / f"{a}.ipynb").write_text(json.dumps(nb))
    grade = subprocess.Popen([sys.executable, "-m", "autograder", "grade", a, "--student",
                              "loopy"], cwd=course_dir, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env={**os.environ, **ENV})
    deadline = time.monotonic() + 300
    while len(_ours(course_dir)) < 3 and time.monotonic() < deadline:  # worker, tester, student
        time.sleep(0.2)
    assert len(_ours(course_dir)) >= 3, "the grading processes never started"
    grade.send_signal(signal.SIGKILL)
    grade.wait()
    deadline = time.monotonic() + 10
    while _ours(course_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _ours(course_dir), f"left behind: {_ours(course_dir)}"
