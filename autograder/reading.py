"""Reading a submitted notebook the way a lenient editor would.

JupyterLab, Notebook, VS Code and Colab all write nbformat 4 files, but not the same ones:
VS Code keeps cell ids in a 4.2 file, Colab writes 4.0 with its own metadata and outputs,
some tools write sources as one string and others as a list of lines. The grader needs only
each cell's type, source and nbgrader metadata, so it repairs what a strict validator rejects
and refuses only a file it cannot read at all (not JSON, cut short, not a notebook), with a
reason the instructor can act on.
"""
import json


class Unreadable(Exception):
    """The file is not a notebook the grader can read; the message says why."""


def _json(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        if not text.strip():
            raise Unreadable("the file is empty") from None
        if len(text) - error.pos <= 2 or "Unterminated" in error.msg or error.pos >= len(
                text.rstrip()):
            raise Unreadable(f"the file is cut short after {len(text)} characters (an "
                             "interrupted download or save?): it is not a complete notebook"
                             ) from None
        raise Unreadable(f"not valid JSON (line {error.lineno}, column {error.colno}: "
                         f"{error.msg})") from None


def _text(source):
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""


def read(path):
    """(notebook dict with nbformat 4 cells, [what was repaired]) or raise Unreadable."""
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable("not UTF-8 text (is it a notebook?)") from None
    nb = _json(text)
    repairs = []
    if not isinstance(nb, dict):
        raise Unreadable("not a notebook: the file holds JSON but no notebook object")
    major = nb.get("nbformat")
    if major == 3 or "worksheets" in nb:
        import nbformat

        nb = json.loads(nbformat.writes(nbformat.reads(text, as_version=4)))
        repairs.append("converted from nbformat 3")
    elif major != 4 and "cells" not in nb:
        raise Unreadable(f"not a notebook (nbformat {major!r}, no cells)")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise Unreadable("not a notebook: it has no list of cells")
    clean = []
    for cell in cells:
        if not isinstance(cell, dict):
            repairs.append("dropped a cell that was not an object")
            continue
        kind = cell.get("cell_type")
        if kind not in ("code", "markdown", "raw"):
            repairs.append(f"read a cell of type {kind!r} as markdown")
            kind = "markdown"
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        if not isinstance(metadata.get("nbgrader", {}), dict):
            metadata = {k: v for k, v in metadata.items() if k != "nbgrader"}
            repairs.append("dropped unreadable nbgrader metadata")
        if not isinstance(cell.get("source", ""), (str, list)):
            repairs.append("read a cell without text as empty")
        clean.append({"cell_type": kind, "metadata": metadata,
                      "source": _text(cell.get("source", ""))})
    nb = {"nbformat": 4, "nbformat_minor": nb.get("nbformat_minor", 0)
          if isinstance(nb.get("nbformat_minor"), int) else 0,
          "metadata": nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {},
          "cells": clean}
    return nb, repairs
