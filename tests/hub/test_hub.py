"""A class on a real JupyterHub: real Unix accounts, PAM logins, headless Chromium.

deploy/jupyterhub/setup.sh stands the hub up on loopback (deploy/jupyterhub/trial.py: an
instructor and two students made with useradd, removed after). The instructor releases
01_perceptron with deploy/jupyterhub/release.sh; each student logs in with their password,
fetches 01 from the Assignments tab, types an answer (student 1 the right one, student 2 one
without the bias), presses Validate and submits. The instructor collects, grades and returns
feedback with the course's commands (`python -m autograder collect/grade/feedback --exchange`);
each student fetches the feedback in the Assignments tab, opens it and sees their own score.
Then, as each Unix user: a student cannot read the other's submission or notebook, the
solutions, the hidden tests (in solutions/ and the gradebook) or the gradebook, nor list the
exchange's inbound or feedback folders, while the owner and the instructor can.

Needs root (it creates accounts), chromium and the Playwright client (tests/browser/setup.sh),
configurable-http-proxy and the class's environment (tests/hub/setup.sh); skipped, saying
which is missing, otherwise.
"""
import concurrent.futures
import csv
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "deploy" / "jupyterhub"))
import jupyterlab_driver as driver  # noqa: E402
from trial import TrialClass  # noqa: E402

ENV = Path(os.environ.get("COURSE_HUB_TEST_ENV", "/opt/deep-learning-hub-test/env"))
PROXY = ROOT / "build/hub/proxy/node_modules/.bin/configurable-http-proxy"
ASSIGNMENT = "01_perceptron"
SCREENSHOTS = ROOT / "build" / "hub-screenshots"


def unavailable():
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not root: the test creates Unix accounts (useradd) and runs the hub as root"
    for tool in ("useradd", "userdel", "runuser", "chpasswd"):
        if shutil.which(tool) is None:
            return f"no {tool} on PATH"
    if not PROXY.exists():
        return f"no configurable-http-proxy at {PROXY} (tests/hub/setup.sh installs it with npm)"
    if not (ENV / "bin" / "jupyterhub").exists():
        return f"no class environment at {ENV} (tests/hub/setup.sh builds it)"
    return driver.unavailable()


REASON = unavailable()
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub"),
              pytest.mark.skipif(REASON is not None, reason=f"hub test: {REASON}")]


def _answer(right):
    """The exercise's answer: the solution's, or the same without the bias w0 (wrong)."""
    nb = json.loads((ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") == "perceptron_forward":
            source = "".join(cell["source"])
            lines = [line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
            code = "\n".join(lines)
            assert "z = w0 + X @ w" in code, code
            return code if right else code.replace("z = w0 + X @ w", "z = X @ w")
    raise AssertionError("no perceptron_forward answer cell in the solution")


def _hidden_test_lines():
    """Every line between BEGIN and END HIDDEN TESTS in the solutions that is long enough to be
    telling and appears nowhere else in them (an import a visible cell repeats is no secret)."""
    lines, visible = set(), set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            inside = False
            for line in "".join(cell["source"]).splitlines():
                if "### BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "### END HIDDEN TESTS" in line:
                    inside = False
                elif inside and len(line.strip()) > 20:
                    lines.add(line.strip())
                else:
                    visible.add(line.strip())
    return lines - visible


def _log_in(page, hub, user):
    """The hub's login form, as a student fills it; wait for their JupyterLab."""
    page.goto(f"{hub.url}/hub/login", wait_until="domcontentloaded")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.passwords[user])
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=180_000)
    page.wait_for_function(
        "() => window.jupyterapp?.commands?.hasCommand('nbgrader:open-assignment-list')",
        timeout=180_000)


def _assignment_list(page):
    page.get_by_text("Nbgrader", exact=True).click()
    page.get_by_text("Assignment List", exact=True).click()


def _type_into_cell(page, index, code):
    editor = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)
    page.keyboard.press("Escape")
    typed = page.evaluate("(i) => window.jupyterapp.shell.currentWidget.content.widgets[i]"
                          ".model.sharedModel.getSource()", index)
    assert typed.strip() == code.strip(), f"typing into cell {index} gave:\n{typed}"


def _wait_saved(page, path, code, timeout=90):
    """Until the notebook on disk holds the answer and JupyterLab has nothing unsaved. A
    student presses Ctrl+S again when nothing happened: so does this, every 20 s (on a loaded
    2-core machine a first press was once lost and the 60 s wait ran out)."""
    deadline = time.monotonic() + timeout
    pressed = time.monotonic()
    while time.monotonic() < deadline:
        dirty = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty")
        if dirty and time.monotonic() - pressed > 20:
            page.keyboard.press("Control+s")
            pressed = time.monotonic()
        try:
            text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        except (OSError, ValueError, KeyError):
            text = ""
        if not dirty and code.strip() in text:
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} was not saved with the answer within {timeout} s")


def _works_and_submits(page, hub, user, right):
    """Fetch, answer, validate, submit; return what Validate said."""
    assert not page.evaluate("() => window.jupyterapp.commands.hasCommand('nbgrader:open-formgrader')"), (
        "a student's JupyterLab offers the formgrader")
    _assignment_list(page)
    released = page.locator("#released_assignments_list")
    released.get_by_text(ASSIGNMENT).wait_for(timeout=60_000)
    released.get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list")
    fetched.locator(".assignment-notebooks-link").get_by_text(ASSIGNMENT).wait_for(timeout=60_000)
    notebook = hub.home(user) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert notebook.is_file(), f"fetching did not put {notebook} in {user}'s home"
    assert notebook.stat().st_uid == hub.uid(user), "the fetched notebook is not the student's"

    fetched.locator(".assignment-notebooks-link").click()
    fetched.locator(f"#nbgrader-{hub.settings['course_id']}-{ASSIGNMENT}").get_by_text(
        ASSIGNMENT, exact=True).click()
    page.wait_for_function(  # the notebook loaded, its exercise cell among its cells
        """() => { const w = window.jupyterapp.shell.currentWidget;
                   return w?.context?.isReady && w.content.widgets.some(c =>
                     (c.model.getMetadata('nbgrader') || {}).grade_id === 'perceptron_forward'); }""",
        timeout=120_000)
    cells = page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets.map(
        (c, i) => [i, (c.model.getMetadata('nbgrader') || {}).grade_id || null])""")
    index = next(i for i, grade_id in cells if grade_id == "perceptron_forward")
    code = _answer(right)
    _type_into_cell(page, index, code)
    page.keyboard.press("Control+s")
    _wait_saved(page, notebook, code)

    page.get_by_role("button", name="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=180_000)
    page.wait_for_function(
        "() => !/Validating/.test(document.querySelector('.jp-Dialog')?.textContent || 'Validating')",
        timeout=180_000)
    said = dialog.inner_text()
    page.screenshot(path=str(SCREENSHOTS / f"{'right' if right else 'wrong'}-validate.png"))
    dialog.get_by_role("button").last.click()

    page.locator('.lm-TabBar-tab[data-id="nbgrader-assignment-list"]').click()
    fetched.get_by_role("button", name="Submit").click()
    page.locator("#submitted_assignments_list").get_by_text(ASSIGNMENT).wait_for(timeout=60_000)
    return said


def _student_reads_feedback(page, hub, user):
    """Fetch Feedback in the Assignments tab, open the page it fetched; its text."""
    page.locator('.lm-TabBar-tab[data-id="nbgrader-assignment-list"]').click()
    submitted = page.locator("#submitted_assignments_list")
    submitted.get_by_role("button", name="Fetch Feedback").first.click()
    submitted.get_by_text("(view feedback)").first.wait_for(timeout=60_000)
    pages = sorted((hub.home(user) / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(pages) == 1, f"{user}: fetched feedback pages {pages}"
    relative = pages[0].relative_to(hub.home(user))
    # as the student opens it: their server serves their own file
    page.goto(f"{hub.url}/user/{user}/files/{relative}", wait_until="domcontentloaded")
    text = page.inner_text("body")
    page.screenshot(path=str(SCREENSHOTS / f"{user}-feedback.png"))
    return text


def _wait_submitted(students, submitted, timeout=600):
    """Until every student's Assignments tab lists the submission (or their browser failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for future in students.values():
            if future.done():
                future.result()  # raises what went wrong in that student's browser
        if all(event.is_set() for event in submitted.values()):
            return
        time.sleep(0.5)
    raise AssertionError(f"not every student submitted within {timeout} s")


def _cannot(hub, user, *args):
    result = hub.as_user(user, *args, check=False)
    return result.returncode != 0


def test_a_class_on_jupyterhub():
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    started = time.perf_counter()
    timings = {}
    try:
        _whole_loop(timings, started)
    finally:
        print("\nhub test timings (s since start): "
              + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))


def _student(hub, user, right, released, submitted, graded, timings, started):
    """One student in a browser of their own: logs in (their server starts), then once the
    notebook is released works and submits, then once graded reads their feedback."""
    with driver.Browser() as browser:
        page = browser.new_page()
        try:
            _log_in(page, hub, user)
            timings[f"{user} logged in"] = time.perf_counter() - started
            assert released.wait(timeout=300), "the instructor's release did not finish"
            said = _works_and_submits(page, hub, user, right)
            timings[f"{user} submitted"] = time.perf_counter() - started
            submitted.set()
            assert graded.wait(timeout=600), "the instructor's grading did not finish"
            feedback = _student_reads_feedback(page, hub, user)
            return said, feedback
        except Exception:
            page.screenshot(path=str(SCREENSHOTS / f"{user}-failure.png"))
            raise
        finally:
            page.context.close()


def _whole_loop(timings, started):
    with TrialClass(students=2, env=ENV, proxy=PROXY, auth="pam",
                    hub_args=["--LabApp.expose_app_in_browser=True"]) as hub:
        timings["setup.sh and hub start"] = time.perf_counter() - started
        right, wrong = hub.students
        released, graded = threading.Event(), threading.Event()
        submitted = {user: threading.Event() for user in hub.students}
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            students = {user: pool.submit(_student, hub, user, user == right, released,
                                          submitted[user], graded,
                                          timings, started) for user in hub.students}
            try:  # the students log in meanwhile
                hub.as_instructor("deploy/jupyterhub/release.sh", ASSIGNMENT)
                timings["released"] = time.perf_counter() - started
                released.set()
                _wait_submitted(students, submitted)
                out = hub.as_instructor("python", "-m", "autograder", "collect",
                                        "--assignment", ASSIGNMENT).stdout
                assert f"{ASSIGNMENT}: collected" in out, out
                hub.as_instructor("python", "-m", "autograder", "grade", ASSIGNMENT)
                hub.as_instructor("python", "-m", "autograder", "feedback", ASSIGNMENT,
                                  "--exchange")
                timings["collected, graded, feedback returned"] = time.perf_counter() - started
                graded.set()
            finally:
                released.set()  # a failed step must not leave a student waiting
                graded.set()
            said = {user: future.result()[0] for user, future in students.items()}
            feedback = {user: future.result()[1] for user, future in students.items()}
        timings["feedback read"] = time.perf_counter() - started
        assert "Success! Your notebook passes all the tests." in said[right], said[right]
        assert "The following cell failed" in said[wrong] and "Success!" not in said[wrong], (
            said[wrong])
        with open(hub.course / "autograder" / "grades.csv", newline="") as f:
            scores = {r["student"]: (float(r["score"]), float(r["max_score"]))
                      for r in csv.DictReader(f) if r["assignment"] == ASSIGNMENT}
        assert scores == {right: (3.0, 3.0), wrong: (0.0, 3.0)}, scores
        assert f"feedback for {right}" in feedback[right] and "Score: 3 / 3" in feedback[right]
        assert f"feedback for {wrong}" in feedback[wrong] and "Score: 0 / 3" in feedback[wrong]
        for user in hub.students:  # nobody sees the other's name in their page
            other = wrong if user == right else right
            assert other not in feedback[user]

        # -- what a student can and cannot read, as that Unix user ---------------------------
        inbound = Path(hub.settings["exchange"]) / hub.settings["course_id"] / "inbound"
        submission = {user: next(inbound.glob(f"{user}+{ASSIGNMENT}+*")) / f"{ASSIGNMENT}.ipynb"
                      for user in hub.students}
        solution = hub.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        gradebook = hub.course / "autograder" / "gradebook.db"
        notebook = {u: hub.home(u) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb" for u in hub.students}
        for user in hub.students:
            other = wrong if user == right else right
            # what the owner, or the instructor, can read: the checks below can fail
            assert not _cannot(hub, user, "cat", submission[user])
            assert not _cannot(hub, user, "cat", notebook[user])
            assert not _cannot(hub, hub.instructor, "cat", submission[other])
            # and what the student cannot
            assert _cannot(hub, user, "cat", submission[other]), "reads the other's submission"
            assert _cannot(hub, user, "ls", inbound), "lists the submissions"
            assert _cannot(hub, user, "cat", notebook[other]), "reads the other's notebook"
            assert _cannot(hub, user, "ls", inbound.parent / "feedback"), "lists all feedback"
            assert _cannot(hub, user, "cat", solution), "reads the solutions (hidden tests)"
            assert _cannot(hub, user, "cat", gradebook), "reads the gradebook"
            assert _cannot(hub, user, "ls", hub.course), "lists the instructor's course"
        for user in hub.students:  # a student's utils: the published files, not the repository
            where = hub.as_user(user, ENV / "bin/python", "-c", "import utils; print(utils.__file__)")
            assert where.stdout.startswith(hub.settings["student_files"]), where.stdout
        # and it holds no answer of the released notebook: the reference computes nothing new
        call = ("import numpy as np, utils; "
                "print(utils.perceptron_forward(np.full((2, 3), 0.123), np.ones(3), 0.5, np.tanh))")
        student = hub.as_user(hub.students[0], ENV / "bin/python", "-c", call, check=False)
        assert student.returncode != 0, f"the students' utils answers 01: {student.stdout}"
        course = hub.as_instructor(ENV / "bin/python", "-c", call, check=False)
        assert course.returncode == 0, course.stderr  # the same call works in the course's utils
        published = Path(hub.settings["student_files"])  # what every student can read
        assert not (published / "deep-learning-course" / "solutions").exists()
        hidden = _hidden_test_lines()
        leaks = [(f, line) for f in published.rglob("*") if f.is_file()
                 for text in [f.read_text(errors="replace")] for line in hidden if line in text]
        assert hidden and not leaks, f"hidden tests in the students' files: {leaks[:3]}"
        assert not _cannot(hub, hub.instructor, "cat", solution)
        assert not _cannot(hub, hub.instructor, "cat", gradebook)
        timings["permissions checked"] = time.perf_counter() - started
    timings["all, cleaned up"] = time.perf_counter() - started
