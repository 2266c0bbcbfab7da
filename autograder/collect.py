"""Bring submissions into autograder/submitted/<student>/<assignment>/<assignment>.ipynb.

From nbgrader's exchange (a shared JupyterHub), or from a folder or .zip of notebooks downloaded
from an LMS. Who a downloaded file belongs to:

- Canvas names files ``name[_LATE]_userid_submissionid_original`` (``_LATE`` when handed in
  after the due date; ``original-1``, ``-2`` for resubmissions of the same file). The student
  is the user id (two students of the same name stay two), the name is kept beside it, and the
  late flag is recorded;
- otherwise the file's sub-folder (``alice/01_perceptron.ipynb``), or the part of the file name
  before the first underscore (``alice_01_perceptron.ipynb``).

A student with several notebooks keeps one: the highest resubmission number ``-N``, then the
newest date (the zip entry's own date: extracting a zip resets file times), then a file named
like the assignment. Beside each kept notebook, ``submission.json`` records which file
was kept and why, when it was handed in and whether it was late. Student ids and names go to
``autograder/students.csv`` (merged with a roster: id, name, email, section).
"""
import csv
import json
import re
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from . import course

SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")
CANVAS = re.compile(r"^(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<submission>\d+)_"
                    r"(?P<original>.+)$", re.I)
RESUBMISSION = re.compile(r"-(\d+)$")
STUDENTS_CSV = course.HERE / "students.csv"
STUDENT_COLUMNS = ["id", "name", "email", "section"]


def safe(text):
    return SAFE_ID.sub("-", text).strip("-.") or "unknown"


class File:
    """One notebook of a download: whose it is and how it compares to the same student's other
    files (resubmission number, then date)."""

    def __init__(self, relative, date, read):
        self.relative, self.date, self.read = PurePosixPath(relative), date, read
        name = self.relative.name
        canvas = CANVAS.match(name)
        if canvas:
            self.student, self.name = canvas["user"], canvas["name"]
            self.late, self.original = bool(canvas["late"]), canvas["original"]
            self.submission = int(canvas["submission"])
        else:
            parts = self.relative.parts
            self.name = parts[-2] if len(parts) > 1 else name.split("_", 1)[0].removesuffix(
                ".ipynb")
            self.student, self.late, self.original, self.submission = safe(self.name), None, \
                name, 0
        stem = self.original.removesuffix(".ipynb")
        number = RESUBMISSION.search(stem)
        self.number = int(number[1]) if number else 0
        self.stem = RESUBMISSION.sub("", stem)

    def rank(self, assignment):
        named = assignment in self.stem or self.stem in assignment
        return (self.number, self.date, named, self.submission, str(self.relative))


def _listing(source):
    """[(relative path, date, read-bytes function)] of every file in a folder or .zip."""
    source = Path(source)
    if not source.exists():
        raise SystemExit(f"{source}: no such file or folder (give the .zip or folder you "
                         "downloaded from the LMS)")
    if source.is_dir():
        return [(p.relative_to(source).as_posix(),
                 datetime.fromtimestamp(p.stat().st_mtime, timezone.utc), p.read_bytes)
                for p in sorted(source.rglob("*")) if p.is_file()]
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise SystemExit(f"{source}: not a .zip file (nor a folder)") from None
    return [(info.filename, datetime(*info.date_time),
             lambda info=info: archive.read(info))
            for info in archive.infolist() if not info.is_dir()]


def skip_reason(relative):
    parts = PurePosixPath(relative).parts
    if any(p.startswith(".") or p in ("__MACOSX", ".ipynb_checkpoints") for p in parts):
        return "hidden or system file"
    if not relative.endswith(".ipynb"):
        return "not a notebook"
    return None


def from_download(source, assignment, roster=None):
    """Save each student's notebook from a folder or .zip; returns a report dict:
    seen, kept {student: File}, merged [(dropped File, kept File)], dropped [(path, why)]."""
    files, dropped = [], []
    for relative, date, read in _listing(source):
        why = skip_reason(relative)
        if why:
            dropped.append((relative, why))
        else:
            files.append(File(relative, date, read))
    by_student = {}
    for f in files:
        by_student.setdefault(f.student, []).append(f)
    kept, merged, names = {}, [], {}
    for student, mine in sorted(by_student.items()):
        mine.sort(key=lambda f: f.rank(assignment), reverse=True)
        best = kept[student] = mine[0]
        merged += [(other, best) for other in mine[1:]]
        names[student] = best.name
        target = course.SUBMITTED / student / assignment
        if target.exists():
            shutil.rmtree(target)  # a new download replaces the old submission whole
        target.mkdir(parents=True)
        (target / f"{assignment}.ipynb").write_bytes(best.read())
        info = {"file": str(best.relative), "kept_because": why_kept(best, mine[1:]),
                "others": [str(o.relative) for o in mine[1:]],
                "submitted_at": best.date.isoformat(), "late": best.late}
        (target / "submission.json").write_text(json.dumps(info, indent=1))
    update_students(names, roster)
    return {"seen": len(files) + len(dropped), "kept": kept, "merged": merged,
            "dropped": dropped}


def why_kept(best, others):
    if not others:
        return "the only notebook"
    if any(o.number != best.number for o in others) and best.number >= max(
            o.number for o in others):
        numbers = sorted({best.number, *(o.number for o in others)})
        return (f"resubmission -{best.number}, the highest of "
                f"{', '.join(f'-{n}' if n else 'the first upload' for n in numbers)}")
    if any(o.date != best.date for o in others):
        return f"the newest ({best.date:%Y-%m-%d %H:%M}) of {len(others) + 1} notebooks"
    return f"the first of {len(others) + 1} notebooks by name"


def read_roster(path):
    """{id: {id, name, email, section}} from a CSV with those columns (headers as Canvas or
    Moodle spell them are accepted: "ID"/"SIS User ID"/"User ID", "Student"/"Name", ...)."""
    aliases = {"id": ("id", "user id", "userid", "canvas id", "student id", "id number"),
               "name": ("name", "student", "full name", "student name"),
               "email": ("email", "email address", "e-mail", "sis login id"),
               "section": ("section", "sections", "group", "groups")}
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    headers = {h.strip().lower(): h for h in rows[0]}
    pick = {field: next((headers[a] for a in names if a in headers), None)
            for field, names in aliases.items()}
    if pick["id"] is None:
        raise SystemExit(f"{path}: a roster needs an id column (id, name, email, section)")
    roster = {}
    for row in rows:
        sid = safe((row.get(pick["id"]) or "").strip())
        if sid and sid != "unknown" and not sid.lower().startswith("points"):
            roster[sid] = {k: (row.get(pick[k]) or "").strip() if pick[k] else ""
                           for k in STUDENT_COLUMNS}
            roster[sid]["id"] = sid
    return roster


def students():
    """{id: {id, name, email, section}} from autograder/students.csv (empty if none)."""
    if not STUDENTS_CSV.is_file():
        return {}
    with open(STUDENTS_CSV, newline="", encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def update_students(names, roster=None):
    """Merge the names seen in a download and a roster into autograder/students.csv."""
    known = students()
    for sid, name in names.items():
        known.setdefault(sid, {"id": sid, "name": name, "email": "", "section": ""})
    for sid, row in (roster or {}).items():
        known[sid] = {**known.get(sid, {}), **{k: v for k, v in row.items() if v}}
    if known:
        STUDENTS_CSV.parent.mkdir(parents=True, exist_ok=True)
        with open(STUDENTS_CSV, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=STUDENT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for sid in sorted(known):
                writer.writerow({k: known[sid].get(k, "") for k in STUDENT_COLUMNS})


def report(result, assignment):
    """The lines `collect` prints: files seen, kept, merged and dropped, and which was kept."""
    kept, merged, dropped = result["kept"], result["merged"], result["dropped"]
    lines = [f"{assignment}: {result['seen']} file(s) seen: {len(kept)} submission(s) kept, "
             f"{len(merged)} older notebook(s) merged into them, {len(dropped)} dropped"]
    by_kept = {}
    for old, best in merged:
        by_kept.setdefault(best.student, []).append(old)
    for student, olds in sorted(by_kept.items()):
        best = kept[student]
        lines.append(f"  {best.name} ({student}): kept {best.relative.name} "
                     f"({why_kept(best, olds)}); not {', '.join(o.relative.name for o in olds)}")
    late = [f for f in kept.values() if f.late]
    if late:
        lines.append(f"  late (the LMS's flag): {', '.join(f'{f.name} ({f.student})' for f in late)}")
    names = {}
    for f in kept.values():
        names.setdefault(f.name, []).append(f.student)
    for name, ids in sorted(names.items()):
        if len(ids) > 1:
            lines.append(f"  {len(ids)} students named {name}: ids {', '.join(sorted(ids))} "
                         "(kept apart)")
    for path, why in dropped:
        lines.append(f"  dropped {path}: {why}")
    return "\n".join(lines)


def from_exchange(assignments):
    """Run nbgrader's collect for each assignment (the exchange of a shared machine)."""
    api = course.nbgrader_api()
    for assignment in assignments:
        result = api.collect(assignment, update=True)
        print(f"{assignment}: {'collected' if result['success'] else 'failed'}")
        if not result["success"]:
            print(result.get("log", ""))
