"""A submission's result: its schema, the zero result, writing it atomically, reading it back.

One JSON file per student and notebook under autograder/build/results/<assignment>/<student>.json:

    student, assignment   who and what (the student key: an LMS user id or a login)
    key                   hash of everything that decides the grade (runner.plan computes it)
    status, reason        "graded", or why the whole submission scored 0 ("missing notebook",
                          "renamed notebook", "unreadable notebook", "timeout", "crashed",
                          "not graded")
    cells                 per graded test cell: grade_id, functions, score, max_score, status
                          ("passed", "failed", "timeout", "crashed", "out of memory",
                          "missing"), message, output (visible tests only), note
    answers               {function: the source that was graded (its last definition)}
    notes                 what the grader did that the student and instructor should know
                          (duplicated answer cells, a scratch cell stopped, a notebook repaired)
    seconds               grading time

Written only here (and by the worker, through `write`), so the schema has one home.
"""
import json
import os
from pathlib import Path

from . import course

RESULTS = course.BUILD / "results"


def path(student, assignment):
    return RESULTS / assignment / f"{student}.json"


def read(student, assignment):
    """The stored result, or None (never graded, or a file cut short by a crash)."""
    try:
        return json.loads(path(student, assignment).read_text())
    except (OSError, ValueError):
        return None


def write(target, data):
    """Write ``data`` as JSON atomically: a reader never sees half a file."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, target)


def zero(student, assignment, key, status, reason, cells, notes=()):
    """A result giving every graded cell 0 points for one reason.

    ``cells``: [(grade_id, functions, points)] of the assignment's test cells.
    """
    return {"student": student, "assignment": assignment, "key": key, "status": status,
            "reason": reason, "answers": {}, "notes": list(notes), "seconds": 0, "cells": [
                {"grade_id": g, "functions": list(f), "score": 0.0, "max_score": float(p),
                 "status": status, "message": reason, "output": "", "note": ""}
                for g, f, p in cells]}


def zero_for(student, assignment, key, status, reason, notes=()):
    """`zero` with the assignment's graded cells read from its solution notebook."""
    cells = [(g, [], points) for g, points in course.graded_cells(assignment)]
    return zero(student, assignment, key, status, reason, cells, notes)
