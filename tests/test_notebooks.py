"""Every notebook as code: it keeps the contract's cells, is stored clean, the committed lecture
is exactly nbgrader's build of the solution, and both versions run as they should."""
import copy
import re

import pytest

from autograder import course
from autograder.notebooks import clean, dumps
from conftest import ROOT, assignments, errors, execute, nbgrader_meta, read_notebook
from utils.contract import GRADED

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def solution_path(a):
    return ROOT / "solutions" / a / f"{a}.ipynb"


def lecture_path(a):
    return ROOT / "lectures" / a / f"{a}.ipynb"


def cells_by_grade_id(nb):
    return {nbgrader_meta(c)["grade_id"]: c for c in nb["cells"] if nbgrader_meta(c)}


def test_every_solution_is_a_contract_notebook():
    assert assignments(), "no notebooks in solutions/"
    for a in assignments():
        assert a in GRADED, f"{a} is not a notebook of the curriculum"
        assert lecture_path(a).is_file(), f"{a}: lectures/{a}/{a}.ipynb is missing (release it)"


def test_graded_cells_follow_the_contract(assignment):
    nb = read_notebook(solution_path(assignment))
    cells = cells_by_grade_id(nb)
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in nb["cells"] if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids)), f"duplicate grade ids in {assignment}"
    for f in GRADED[assignment]:
        answer, test = cells.get(f), cells.get(f"test_{f}")
        assert answer is not None, f"{assignment}: no answer cell with grade_id {f!r}"
        assert test is not None, f"{assignment}: no test cell with grade_id 'test_{f}'"
        meta = nbgrader_meta(answer)
        assert meta["solution"] and not meta["grade"], f"{f}: answer cell must be solution-only"
        source = "".join(answer["source"])
        assert re.search(rf"^def {f}\(", source, re.M), f"the answer cell {f} must define {f}"
        assert "### BEGIN SOLUTION" in source
        meta = nbgrader_meta(test)
        assert meta["grade"] and meta["locked"] and meta["points"] > 0
        source = "".join(test["source"])
        visible, _, hidden = source.partition("### BEGIN HIDDEN TESTS")
        assert re.search(rf"\b{f}\b", visible), \
            f"test_{f}: the visible tests must call {f}"
        assert hidden and "### END HIDDEN TESTS" in hidden and re.search(rf"\b{f}\b", hidden), \
            f"test_{f}: hidden tests of {f} are missing"


@pytest.mark.parametrize("folder", ["solutions", "lectures"])
def test_notebooks_are_stored_clean(folder):
    for path in sorted((ROOT / folder).glob("*/*.ipynb")):
        nb = read_notebook(path)
        assert "widgets" not in nb["metadata"], f"{path}: widget state is stored"
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, \
                    f"{path}: outputs are stored (run `python -m autograder release`)"
        assert path.read_text(encoding="utf-8") == dumps(clean(copy.deepcopy(nb))), \
            f"{path} is not in canonical form (python tools/nbtext.py or autograder release)"


def test_lectures_are_the_build_of_solutions(tmp_path):
    """Regenerate every lecture from solutions/ and compare with what is committed."""
    from autograder.notebooks import read, write_clean

    api = course.nbgrader_api(**{
        "CourseDirectory.release_directory": str(tmp_path / "release"),
        "CourseDirectory.db_url": f"sqlite:///{tmp_path / 'gradebook.db'}"})
    for a in assignments():
        result = api.generate_assignment(a, force=True, create=True)
        assert result["success"], result.get("log")
        built = tmp_path / "release" / a / f"{a}.ipynb"
        text = write_clean(read(built), built)
        assert text == lecture_path(a).read_text(encoding="utf-8"), (
            f"lectures/{a} differs from a fresh build of solutions/{a}: "
            "run `python -m autograder release` and commit the result")
        for cell in read_notebook(built)["cells"]:
            source = "".join(cell["source"])
            assert "BEGIN SOLUTION" not in source and "HIDDEN TESTS" not in source


def test_solution_runs_and_passes_every_test(assignment, tmp_path):
    nb = execute(read_notebook(solution_path(assignment)), solution_path(assignment).parent)
    for cell in nb["cells"]:
        assert not errors(cell), (f"{assignment}: cell {cell['id']} failed:\n"
                                  + "\n".join(errors(cell)[0]["traceback"])[-2000:])
    assert nb["metadata"].get("widgets"), f"{assignment}: no widget was displayed"


def test_lecture_runs_with_errors_only_in_exercises(assignment):
    nb = execute(read_notebook(lecture_path(assignment)), lecture_path(assignment).parent)
    state = nb["metadata"].get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
    views = 0
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        for error in errors(cell):
            assert meta.get("solution") or meta.get("grade"), (
                f"{assignment}: cell {cell['id']} outside the exercises raised "
                f"{error['ename']}: {error['evalue']}")
            if meta.get("solution"):
                assert error["ename"] == "NotImplementedError"
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                views += 1
                assert view["model_id"] in state, f"{assignment}: a widget has no saved state"
    assert views > 0, f"{assignment}: the blank lecture shows no widget"
    for f in GRADED[assignment]:
        test = cells_by_grade_id(nb)[f"test_{f}"]
        assert errors(test), f"test_{f} passes on the blank lecture: it cannot fail"
