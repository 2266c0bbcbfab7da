"""Keeping committed notebooks clean: no outputs, no widget state, stable cell ids."""
import json
from pathlib import Path

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}
KEEP_CELL_METADATA = ("nbgrader", "tags", "editable", "deletable")


def cell_ids(cells):
    """Stable ids: an nbgrader cell is known by its grade_id; any other cell keeps the id it was
    given once (by JupyterLab, VS Code or this function); a cell without one, or with one
    already taken, gets a fresh random id. Inserting a cell never renames the others."""
    import uuid

    taken = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells} - {None}
    for cell in cells:
        cell_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell_id is None:
            cell_id = cell.get("id")
            while not cell_id or cell_id in taken:
                cell_id = uuid.uuid4().hex[:8]
        taken.add(cell_id)
        yield cell_id


def clean(nb):
    """Strip outputs, execution counts and widget state; normalise metadata and ids (in place)."""
    nb["nbformat"], nb["nbformat_minor"] = 4, 5
    nb["metadata"] = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    for cell, cell_id in zip(nb["cells"], cell_ids(nb["cells"])):
        cell["id"] = cell_id
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items()
                            if k in KEEP_CELL_METADATA}
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if not cell.get("attachments"):
                cell.pop("attachments", None)
    return nb


def dumps(nb):
    """The canonical text of a notebook: what gets committed."""
    import nbformat

    node = nbformat.from_dict(nb)
    return nbformat.writes(node, version=4) + "\n"


def read(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_clean(nb, path):
    """Clean ``nb`` and write it to ``path`` in canonical form; returns the text written."""
    text = dumps(clean(nb))
    Path(path).write_text(text, encoding="utf-8")
    return text
