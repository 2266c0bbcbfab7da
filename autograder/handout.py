"""What students receive: the bundled lectures and a ``utils`` that holds no answers.

``python -m autograder bundle NN_name ...`` withholds every notebook from the earliest one
bundled onwards (the bundled ones and every later one); earlier notebooks' references ship.

- ``utils/reference/<module>.py`` of a withheld notebook: a function ships as source only if
  a shipped (earlier) graded function needs it; every other function becomes a stub that
  replays recorded results (``utils/exercises/replay.py``).
- ``utils/exercises/<module>.py`` of a withheld notebook: the checks' orchestration ships
  (functions that take the student's function or use the check engine: cases, messages,
  probes); every formula becomes a stub (functions that compute with numpy or the references
  and do not touch the engine, and every module-level lambda: the mistakes).
- the records: each bundled notebook is executed answered (the solution) and blank (the
  lecture), in a copy of the course whose stubs still hold their originals, and every stub
  call's result is kept, keyed by its inputs.

The transformation is generic: it reads the contract and the modules' syntax trees, so a new
notebook's modules are handled without listing anything.
"""
import ast
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from . import course

STUDENT_FILES = ["lectures", "utils", "jupyter", "requirements.txt", "pyproject.toml",
                 "Makefile", "README.md", "LICENSE"]
ENGINE_MODULES = {"checking", "gradcheck", "rules", "replay"}


def withheld(bundled):
    """Notebook ids withheld from a handout of ``bundled``: from the earliest onwards."""
    from utils.contract import NOTEBOOKS

    ids = [nb.id for nb in NOTEBOOKS]
    first = min(ids.index(b) for b in bundled)
    return ids[first:]


def modules_to_strip(bundled):
    """{contract module: the graded functions of it that may ship (earlier notebooks')}."""
    from utils.contract import FUNCTIONS

    held = set(withheld(bundled))
    out = {}
    for f in FUNCTIONS.values():
        out.setdefault(f.module, set())
    for f in FUNCTIONS.values():
        if f.notebook not in held:
            out[f.module].add(f.name)
    return {m: names for m, names in out.items()
            if any(f.module == m and f.notebook in held for f in FUNCTIONS.values())}


def _names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def _params(fn):
    a = fn.args
    return {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs} | {
        p.arg for p in (a.vararg, a.kwarg) if p is not None}


def _stub_def(fn, key, record):
    """``def name(*args, **kwargs): return _replay_.call(key, <original or None>, ...)``."""
    original = "None"
    extra = []
    if record:
        kept = ast.parse(ast.unparse(fn)).body[0]
        kept.name = f"_original__{fn.name}"
        kept.decorator_list = []
        extra = [kept]
        original = kept.name
    stub = ast.parse(f"def {fn.name}(*args, **kwargs):\n"
                     f"    return _replay_.call({key!r}, {original}, args, kwargs)\n").body[0]
    stub.decorator_list = fn.decorator_list
    return extra + [stub]


class _Lambdas(ast.NodeTransformer):
    """Module-level lambdas (the mistakes) -> replaying lambdas."""

    def __init__(self, module, record):
        self.module, self.record = module, record

    def visit_Lambda(self, node):
        key = f"{self.module}:<lambda>:{node.lineno}:{node.col_offset}"
        original = ast.unparse(node) if self.record else "None"
        return ast.parse(f"lambda *args, **kwargs: _replay_.call({key!r}, ({original}), args, "
                         "kwargs)", mode="eval").body

    def visit_FunctionDef(self, node):
        return node  # lambdas inside a shipped function stay (they call stubs)


def strip(source, module, keep_names, record, exercise):
    """The module's source with its formulas replaced by replaying stubs."""
    tree = ast.parse(source)
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    engine = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module in ENGINE_MODULES and node.level:
            engine |= {a.asname or a.name for a in node.names}
    ship = set()
    if exercise:  # orchestration ships: it takes the student's function or uses the engine
        for name, fn in defs.items():
            uses = _names(fn)
            if "student" in _params(fn) or uses & engine or "np" not in uses and not (
                    uses & {"ref"}):
                ship.add(name)
    else:  # a reference module: what the shipped graded functions need, transitively
        todo = [n for n in keep_names if n in defs]
        while todo:
            name = todo.pop()
            if name in ship:
                continue
            ship.add(name)
            todo += [n for n in _names(defs[name]) if n in defs]
    body = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name not in ship:
            body += _stub_def(node, f"{module}.{node.name}", record)
        elif isinstance(node, ast.FunctionDef):
            body.append(node)
        elif exercise:
            body.append(_Lambdas(module, record).visit(node))
        else:
            body.append(node)
    position = 0
    while position < len(body) and (
            isinstance(body[position], ast.ImportFrom) and body[position].module == "__future__"
            or position == 0 and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)):
        position += 1  # after the docstring and any __future__ import
    source = ("from ..exercises import replay as _replay_" if module.startswith("utils.reference")
              else "from . import replay as _replay_")
    body.insert(position, ast.parse(source).body[0])
    tree.body = body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def write_utils(dest, bundled, record):
    """A copy of utils in ``dest`` with the withheld notebooks' formulas stubbed."""
    src = course.ROOT / "utils"
    shutil.copytree(src, dest / "utils", ignore=shutil.ignore_patterns(
        "__pycache__", "recorded.pkl"), dirs_exist_ok=True)
    for module, keep in modules_to_strip(bundled).items():
        for room, exercise in (("reference", False), ("exercises", True)):
            path = src / room / f"{module}.py"
            if path.exists():
                (dest / "utils" / room / f"{module}.py").write_text(strip(
                    path.read_text(encoding="utf-8"), f"utils.{room}.{module}", keep, record,
                    exercise), encoding="utf-8")


def _answered(assignment):
    """The lecture with the solution's answers in its answer cells (nbgrader markers out)."""
    lecture = json.loads((course.LECTURES / assignment / f"{assignment}.ipynb").read_text())
    solution = json.loads((course.SOLUTIONS / assignment / f"{assignment}.ipynb").read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c for c in solution["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for cell in lecture["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers and cell["metadata"]["nbgrader"].get("solution"):
            source = "".join(answers[grade_id]["source"])
            cell["source"] = "\n".join(line for line in source.splitlines()
                                       if "### BEGIN SOLUTION" not in line
                                       and "### END SOLUTION" not in line)
    return lecture


def execute(nb, cwd, env, timeout=600):
    """Run a notebook dict in a fresh kernel (errors allowed), with ``env`` for the kernel."""
    import nbformat
    from nbclient import NotebookClient

    node = nbformat.reads(json.dumps(nb), as_version=4)
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(node, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return json.loads(nbformat.writes(node))


def record(bundled):
    """Run each bundled notebook answered and blank with recording stubs; the records."""
    records = {}
    with tempfile.TemporaryDirectory(prefix="course-record-") as tmp:
        tmp = Path(tmp)
        write_utils(tmp, bundled, record=True)
        out = tmp / "records"
        out.mkdir()
        env = {"PYTHONPATH": os.pathsep.join([str(tmp), os.environ.get("PYTHONPATH", "")]),
               "COURSE_RECORD_TO": str(out), "MPLBACKEND": "Agg"}
        save = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                "id": "save-records", "source": "import utils.exercises.replay as _r\n_r._save()"}
        for assignment in bundled:
            folder = tmp / "lectures" / assignment
            folder.mkdir(parents=True)
            for src in (course.LECTURES / assignment).iterdir():
                if src.is_file() and src.suffix != ".ipynb":
                    shutil.copy(src, folder / src.name)
            blank = json.loads((course.LECTURES / assignment / f"{assignment}.ipynb").read_text())
            for nb in (_answered(assignment), blank):
                nb["cells"].append(dict(save))
                execute(nb, folder, env)
        for path in sorted(out.glob("*.pkl")):
            for key, value in pickle.loads(path.read_bytes()).items():
                records.setdefault(key, value)
    return records


def bundle(bundled, out):
    """Write the handout zip for ``bundled`` notebooks; returns the number of records."""
    records = record(bundled)
    with tempfile.TemporaryDirectory(prefix="course-handout-") as tmp:
        tmp = Path(tmp)
        write_utils(tmp, bundled, record=False)
        (tmp / "utils" / "exercises" / "recorded.pkl").write_bytes(pickle.dumps(records))
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in STUDENT_FILES:
                root = tmp if name == "utils" else course.ROOT
                path = root / name
                files = [path] if path.is_file() else sorted(path.rglob("*")) \
                    if path.is_dir() else []
                for f in files:
                    rel = f.relative_to(root)
                    if not f.is_file() or "__pycache__" in f.parts or \
                            ".ipynb_checkpoints" in f.parts:
                        continue
                    if rel.parts[0] == "lectures" and rel.parts[1] not in bundled:
                        continue
                    archive.write(f, Path("deep-learning-course") / rel)
    return len(records)
