"""The student's path in a real browser: JupyterLab on loopback, driven in headless Chromium.

- Every lecture notebook: opened, run top to bottom (Shift-Enter through every cell), with no
  error outside the exercise cells and no "Error displaying widget"; each explorer's main
  control moved with the keyboard changes its plot, without an error in the explorer; a
  screenshot of the notebook and of each explorer is saved (build/browser-screenshots/, or
  $BROWSER_SCREENSHOTS). What the browser shows (the layers it stacks: PNG background,
  matplotlib's SVG of the moving artists, PNG layers of what is drawn above them) is compared
  pixel by pixel with the same figure drawn whole by Agg in the kernel.
- One notebook as a student finishes it: fetched from the course's exchange in the Assignments
  tab, exercises typed in, Validate pressed (it passes), submitted from the Assignments tab; the
  instructor's `python -m autograder collect` and `grade` then give it full marks.

Skipped, with the reason, when chromium or the Playwright client is missing
(tests/browser/setup.sh installs both). Nothing is fetched from the network.
"""
import csv
import getpass
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jupyterlab_driver as driver  # noqa: E402

ROOT = driver.ROOT
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", ROOT / "build" / "browser-screenshots"))
REASON = driver.unavailable()

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser"),
              pytest.mark.skipif(REASON is not None, reason=f"browser tests: {REASON}")]


LECTURES = Path(os.environ.get("BROWSER_LECTURES", ROOT / "lectures"))  # another folder: dev


def lectures():
    return sorted(p.name for p in LECTURES.iterdir() if (p / f"{p.name}.ipynb").is_file())


@pytest.fixture(scope="module")
def browser():
    with driver.Browser() as b:
        yield b


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a copy of lectures/ (running cells must not touch committed files)."""
    root = tmp_path_factory.mktemp("lectures")
    for name in lectures():
        shutil.copytree(LECTURES / name, root / name)
    with driver.JupyterLab(root, env={"COURSE_QUICK": "1"}) as server:
        yield server


def _moved(nb, explorer, tries=5):
    """Press the main control until the figure's pixels change; the latency of that press."""
    before = nb.figure_fingerprint(explorer)
    for _ in range(tries):
        latency = nb.press(explorer)
        nb.wait_idle()
        if latency is not None and nb.figure_fingerprint(explorer) != before:
            return latency
    return None


def _same_picture(screen_png, kernel_png, diff_path, what):
    """The figure on screen (layers composed by the browser) against the same state drawn
    whole by Agg in the kernel. Text differs a little (outlines vs hinted glyphs) and edges by
    antialiasing; a missing, misplaced or mis-stacked layer differs by far more (an image
    without its alpha: mean 50-100)."""
    import io

    import numpy as np
    from PIL import Image

    screen = np.asarray(Image.open(io.BytesIO(screen_png)).convert("RGB")).astype(np.int16)
    kernel = np.asarray(Image.open(io.BytesIO(kernel_png)).convert("RGB")).astype(np.int16)
    h, w = kernel.shape[:2]
    assert screen.shape[0] - h in (0, 1) and screen.shape[1] - w in (0, 1), (
        f"{what}: the figure is {screen.shape[:2]} on screen, {kernel.shape[:2]} in the kernel")
    # a figure at a fractional position takes one more row or column in a screenshot
    off = min((np.abs(screen[dy:dy + h, dx:dx + w] - kernel).max(axis=-1)
               for dy in range(screen.shape[0] - h + 1) for dx in range(screen.shape[1] - w + 1)),
              key=np.mean)
    far = (off > 128).mean()
    if off.mean() > 4 or far > 0.015:
        diff_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate([screen[:h, :w], kernel, np.repeat(off[..., None], 3, -1)]
                                       ).astype(np.uint8)).save(diff_path)
        raise AssertionError(f"{what}: the screen differs from Agg's full redraw (mean "
                             f"{off.mean():.1f}, {far:.1%} of pixels by more than half): "
                             f"see {diff_path}")


@pytest.mark.parametrize("assignment", lectures())
def test_lecture_runs_and_every_explorer_responds(lab, browser, assignment):
    nb = lab.open(browser, f"{assignment}/{assignment}.ipynb")
    shots = SCREENSHOTS / assignment
    shutil.rmtree(shots, ignore_errors=True)
    try:
        nb.run_all()
        problems = [f"cell {i} ({cell_id}): {error}"
                    for i, cell_id, error in nb.errors_outside_exercises()]
        assert not problems, f"{assignment}: errors outside the exercises:\n" + "\n".join(problems)
        for cell in nb.cells():  # a blank answer raises NotImplementedError, nothing else
            if cell["nbgrader"].get("solution"):
                assert all(e["ename"] == "NotImplementedError" for e in cell["errors"]), cell
        assert nb.widget_display_errors() == 0, f"{assignment}: 'Error displaying widget'"
        explorers = nb.explorers()
        assert explorers, f"{assignment}: no explorer (a plot with a control) was shown"
        for number, explorer in enumerate(explorers, 1):
            nb.wait_rendered(explorer)
            latency = _moved(nb, explorer)
            assert latency is not None, (
                f"{assignment}: the explorer in cell {explorer['cell']} did not redraw when "
                "its main control moved")
            assert not nb.error_text_in(explorer), (
                f"{assignment}: the explorer in cell {explorer['cell']} shows an error:\n"
                + nb.error_text_in(explorer)[-3000:])
            nb.screenshot(shots / f"explorer-{number}-cell-{explorer['cell']}.png", explorer)
            nb.wait_idle()
            nb.page.wait_for_timeout(300)  # the last image layer decoded
            _same_picture(nb.figure_fingerprint(explorer), nb.kernel_figure(explorer),
                          shots / f"explorer-{number}-compared.png",
                          f"{assignment}: explorer in cell {explorer['cell']}")
        nb.screenshot(shots / "notebook.png")
        assert nb.widget_display_errors() == 0
        crashes = [e for e in nb.page.console_errors if "ResizeObserver loop" not in e]
        assert not crashes, f"{assignment}: errors in the page: {crashes[:5]}"
    except Exception:
        nb.screenshot(shots / "failure.png")  # what the page showed, for the report
        raise
    finally:
        nb.close()


# -- the whole path of one notebook: fetch, answer, validate, submit, graded -------------------
ASSIGNMENT = "01_perceptron"


def _answers():
    """{grade_id: source} of the solution's answer cells, without the nbgrader markers."""
    nb = json.loads((ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    found = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            source = "".join(cell["source"])
            found[meta["grade_id"]] = "\n".join(
                line for line in source.splitlines()
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    return found


def _run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course with ASSIGNMENT released to a fresh exchange; (dir, exchange, env)."""
    course_dir = tmp_path_factory.mktemp("course")
    ignore = shutil.ignore_patterns("__pycache__", "submitted", "autograded", "feedback",
                                    "build", "*.db", "grades.csv")
    for name in ("solutions", "autograder", "utils"):
        shutil.copytree(ROOT / name, course_dir / name, ignore=ignore)
    for name in ("requirements.txt", "pyproject.toml", "README.md", "Makefile"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, course_dir / name)
    exchange = tmp_path_factory.mktemp("exchange")
    env = {**os.environ, "COURSE_EXCHANGE": str(exchange)}
    _run([sys.executable, "-m", "autograder", "release", ASSIGNMENT, "--exchange"], course_dir, env)
    return course_dir, exchange, env


def test_a_student_fetches_answers_validates_submits_and_is_graded(course, browser,
                                                                   tmp_path):
    course_dir, exchange, env = course
    (SCREENSHOTS / "student-path-failure.png").unlink(missing_ok=True)
    home = tmp_path / "student"
    home.mkdir()
    config = tmp_path / "student-config"
    config.mkdir()
    (config / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "c.CourseDirectory.course_id = 'deep-learning'\n"
        f"c.Exchange.cache = {str(tmp_path / 'nbgrader-cache')!r}\n")
    with driver.JupyterLab(home, env={"JUPYTER_CONFIG_PATH": str(config)}) as lab:
        page = browser.new_page()
        try:
            _fetch_answer_validate_submit(lab, page, home)
        except Exception:
            page.screenshot(path=str(SCREENSHOTS / "student-path-failure.png"))
            raise
        finally:
            page.context.close()

    _run([sys.executable, "-m", "autograder", "collect", "--assignment", ASSIGNMENT],
         course_dir, env)
    student = getpass.getuser()
    _run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--student", student],
         course_dir, env)
    with open(course_dir / "autograder" / "grades.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f)
                if r["student"] == student and r["assignment"] == ASSIGNMENT]
    assert rows, "the instructor's grades.csv has no row for the submission"
    for row in rows:
        assert float(row["score"]) == float(row["max_score"]) > 0, row


def _fetch_answer_validate_submit(lab, page, home):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(lab.url(), wait_until="domcontentloaded")
    page.wait_for_function(
        "() => window.jupyterapp?.commands?.hasCommand('nbgrader:open-assignment-list')",
        timeout=90_000)
    # the Assignments tab, from nbgrader's menu, as a student opens it
    page.get_by_text("Nbgrader", exact=True).click()
    page.get_by_text("Assignment List", exact=True).click()
    released = page.locator("#released_assignments_list")
    released.get_by_text(ASSIGNMENT).wait_for(timeout=60_000)
    released.get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list")
    fetched.locator(".assignment-notebooks-link").get_by_text(ASSIGNMENT).wait_for(
        timeout=60_000)
    notebook = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert notebook.is_file(), f"fetching did not put {notebook} in the student's folder"

    fetched.locator(".assignment-notebooks-link").click()  # unfold the notebooks
    notebooks = fetched.locator(f"#nbgrader-deep-learning-{ASSIGNMENT}")
    notebooks.get_by_text(ASSIGNMENT, exact=True).click()  # opens it in JupyterLab
    nb = driver.Notebook(lab, page)
    answers = _answers()
    for cell in nb.cells():
        grade_id = cell["nbgrader"].get("grade_id")
        if cell["nbgrader"].get("solution") and grade_id in answers:
            _type_into_cell(nb, cell["index"], answers[grade_id])
    nb.run_all()
    left = [(c["index"], c["errors"]) for c in nb.cells() if c["errors"]]
    assert not left, f"errors after answering every exercise: {left}"
    nb.page.keyboard.press("Control+s")
    _wait_saved(nb, notebook, answers)
    nb.page.get_by_role("button", name="Validate").first.click()  # saves, then validates
    dialog = nb.page.locator(".jp-Dialog")
    dialog.wait_for(timeout=120_000)
    dialog.get_by_text("Success! Your notebook passes all the tests.").wait_for(timeout=120_000)
    nb.screenshot(SCREENSHOTS / "student-validate.png")
    dialog.get_by_role("button").last.click()
    _wait_saved(nb, notebook, answers)
    page.locator('.lm-TabBar-tab[data-id="nbgrader-assignment-list"]').click()  # back to it
    fetched.get_by_role("button", name="Submit").click()
    page.locator("#submitted_assignments_list").get_by_text(ASSIGNMENT).wait_for(
        timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "student-submitted.png"))


def _wait_saved(nb, path, answers, timeout=60):
    """Until the notebook is saved: not dirty, and the file on disk whole, with the answers and
    not being written (Jupyter writes a notebook in place: a read mid-save sees part of it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not nb.page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty"):
            try:
                text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
            except (OSError, ValueError, KeyError):
                text = ""
            if all(answer.strip() in text for answer in answers.values()):
                written = path.stat().st_mtime_ns
                time.sleep(0.5)  # and no other save under way
                if path.stat().st_mtime_ns == written:
                    return
        time.sleep(0.2)
    raise AssertionError(f"{path} was not saved with the answers within {timeout} s")


def _type_into_cell(nb, index, code):
    """Click into the cell's editor, select its text and type the answer over it."""
    editor = nb.cell_node(index).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    nb.page.keyboard.press("Control+a")
    nb.page.keyboard.insert_text(code)
    nb.page.keyboard.press("Escape")
    typed = nb.page.evaluate(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model"
        ".sharedModel.getSource()", index)
    assert typed.strip() == code.strip(), f"typing into cell {index} gave:\n{typed}"


# -- what a student reads when an answer is wrong: Validate's dialog ---------------------------
def test_validate_shows_the_message_of_a_wrong_answer(lab, browser):
    """A typical wrong answer (01 without the bias), saved, then Validate: the dialog shows the
    check's message with its likely mistake, and no frame of the course's modules."""
    nb = lab.open(browser, f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    wrong = "def perceptron_forward(X, w, w0, g):\n    return g(X @ w)"
    try:
        (index,) = [c["index"] for c in nb.cells()
                    if c["nbgrader"].get("grade_id") == "perceptron_forward"]
        _type_into_cell(nb, index, wrong)
        nb.page.keyboard.press("Control+s")
        _wait_saved(nb, lab.root_dir / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                    {"perceptron_forward": wrong})
        nb.page.get_by_role("button", name="Validate").first.click()
        dialog = nb.page.locator(".jp-Dialog")
        dialog.get_by_text("likely mistake", exact=False).first.wait_for(timeout=120_000)
        text = dialog.inner_text()
        nb.screenshot(SCREENSHOTS / "validate-wrong-answer.png")
        assert "perceptron_forward: case" in text, text
        assert "likely mistake: the bias w0 is not added" in " ".join(text.split()), text
        head = text[:text.index("likely mistake")]
        assert "expected:" in head and "got:" in head, text
        for machinery in ("utils/", "checking.py", "site-packages", "Traceback"):
            assert machinery not in text, f"{machinery!r} in Validate's dialog:\n{text}"
        dialog.get_by_role("button").last.click()
    finally:
        nb.close()
