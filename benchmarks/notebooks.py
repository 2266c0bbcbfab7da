"""How long each solution notebook takes to run top to bottom (fresh kernel, nbclient).

This is the instructor's notebook with every exercise answered, so every cell runs its real work
(the closing experiments included); the kernel's start is part of the time, as it is for a
student. Goals: under 20 s each, under 2 minutes for the course.
"""
import time
from pathlib import Path

NOTEBOOK_GOAL_S = 20.0
COURSE_GOAL_S = 120.0


def run(root, log=print):
    """Rows {notebook, seconds, errors} for solutions/*/*.ipynb under ``root``."""
    import nbformat
    from nbclient import NotebookClient

    rows = []
    for path in sorted(Path(root, "solutions").glob("*/*.ipynb")):
        if path.stem != path.parent.name:
            continue
        nb = nbformat.read(str(path), as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
        errors = sum(o.get("output_type") == "error" for c in nb.cells
                     for o in c.get("outputs", []))
        rows.append({"notebook": path.stem, "seconds": seconds, "errors": errors})
        log(f"  {path.stem:28s} {seconds:6.1f} s" + (f"  ({errors} errors)" if errors else ""))
    return rows
