"""Keeping committed notebooks clean: no outputs, no widget state, stable cell ids."""
import json
from pathlib import Path

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}
KEEP_CELL_METADATA = ("nbgrader", "tags", "editable", "deletable")


def cell_ids(cells):
    """Stable ids: an nbgrader cell is known by its grade_id, the others by their position."""
    counts = {"markdown": 0, "code": 0, "raw": 0}
    for cell in cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        counts[cell["cell_type"]] += 1
        yield grade_id or f"{cell['cell_type'][:2]}-{counts[cell['cell_type']]:02d}"


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
