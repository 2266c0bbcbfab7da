"""The instructor's command line: python -m autograder {release,bundle,collect,grade,feedback,
export,summary,override,similarity}."""
import argparse
import sys
from pathlib import Path

from . import course


def _assignments(names):
    known = course.assignments()
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown assignment(s) {unknown}; known: {', '.join(known)}")
    return names or known


def release(args):
    """Build lectures/ from solutions/ (nbgrader generate_assignment), cleaned for git."""
    from .notebooks import read, write_clean

    api = course.nbgrader_api()
    for assignment in _assignments(args.assignments):
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            sys.exit(f"{assignment}: generate_assignment failed\n{result.get('log', '')}")
        path = course.LECTURES / assignment / f"{assignment}.ipynb"
        write_clean(read(path), path)
        print(f"{assignment}: released to {path.relative_to(course.ROOT)}")
        if args.exchange:
            result = api.release_assignment(assignment)
            print(f"{assignment}: {'in the exchange' if result['success'] else result['log']}")


def bundle(args):
    """Zip what students need for some lectures, and no answers: no solutions/, autograder/,
    tests, nor the course's implementation of those notebooks' functions or later ones'."""
    from . import handout

    bundled = _assignments(args.assignments)
    out = Path(args.out)
    records = handout.bundle(bundled, out)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB): {', '.join(bundled)}, "
          f"{records} recorded results")


def collect(args):
    """Bring submissions in from an LMS download or from nbgrader's exchange."""
    from . import collect as c

    roster = c.read_roster(args.roster) if args.roster else None
    if args.source:
        if not args.assignment:
            sys.exit("collect PATH needs --assignment ID (which notebook these are)")
        result = c.from_download(args.source, _assignments([args.assignment])[0], roster)
        print(c.report(result, args.assignment))
        print(f"saved under {course.SUBMITTED.relative_to(course.ROOT)}/<student id>/"
              f"{args.assignment}/; names in {c.STUDENTS_CSV.relative_to(course.ROOT)}")
        if roster:
            absent = sorted(set(roster) - set(result["kept"]))
            strangers = sorted(set(result["kept"]) - set(roster))
            if absent:
                print(f"on the roster, no notebook: {', '.join(absent)}")
            if strangers:
                print(f"not on the roster: {', '.join(strangers)}")
    else:
        if roster:
            c.update_students({}, roster)
        c.from_exchange(_assignments([args.assignment] if args.assignment else []))


def grade(args):
    """Grade every new or changed submission in the sandbox; write grades.csv and the exports."""
    from . import grading, summary
    from .collect import students

    assignments = _assignments(args.assignments)
    chosen = grading.resolve_students(args.student)
    print("building the gradebook from solutions/ ...", flush=True)
    results, graded_now, unchanged = grading.grade(assignments, chosen, workers=args.workers,
                                                   force=args.force)
    print(f"graded {graded_now} submission(s); {unchanged} unchanged since last graded")
    roster = students()
    for t in grading.totals(results, roster):
        who = f"{t['name']} ({t['student']})" if t["name"] else t["student"]
        extra = [t["status"]] if t["status"] != "graded" else []
        extra += [f"late -{t['penalty']:g}"] if t["late"] else []
        extra += [f"override {t['overrides']:+g}"] if t["overrides"] else []
        note = f"  ({'; '.join(extra)})" if extra else ""
        print(f"{who:28s} {t['assignment']:26s} {t['total']:5.1f} / {t['max_score']:g}{note}")
    per_student = {}
    for t in grading.totals(grading.results(assignments, chosen), roster):
        got, out_of = per_student.get(t["student"], (0.0, 0.0))
        per_student[t["student"]] = (got + t["total"], out_of + t["max_score"])
    if len(assignments) > 1:
        print("totals:", ", ".join(f"{s} {g:g}/{m:g}" for s, (g, m) in per_student.items()))
    print(f"wrote {course.GRADES_CSV.relative_to(course.ROOT)}, totals.csv, canvas.csv, "
          "moodle.csv, review.html")
    if not args.student:
        summary.write(grading.results(assignments))
        print("wrote autograder/summary.txt, summary.csv, summary.png (python -m autograder summary)")


def feedback(args):
    """HTML feedback per student and notebook in autograder/feedback/ (no hidden tests)."""
    from . import feedback_pages, grading

    assignments = _assignments(args.assignments)
    results = [r for r in grading.results(assignments, grading.resolve_students(args.student))
               if r["status"] != "not graded"]
    from .collect import students

    for path in feedback_pages.write(results, grading.totals(results, students())):
        print(f"wrote {path.relative_to(course.ROOT)}")
    if args.exchange:
        api = course.nbgrader_api()
        for r in results:
            api.release_feedback(r["assignment"], r["student"])


def export(args):
    """Write grades.csv, totals.csv, canvas.csv, moodle.csv and review.html from the results."""
    from . import grading

    for path in grading.export(args.out):
        print(f"wrote {path.relative_to(course.ROOT)}")


def override(args):
    """Set (or --clear) one exercise's points for one student, with a reason; kept across
    regrades and shown in every export."""
    from . import grading

    student = grading.resolve_students([args.student])[0]
    assignment = _assignments([args.assignment])[0]
    grade_id = args.exercise if args.exercise.startswith("test_") else f"test_{args.exercise}"
    if args.score is None and not args.clear:
        sys.exit("give the points (override STUDENT ASSIGNMENT EXERCISE POINTS --reason ...) "
                 "or --clear")
    grading.set_override(student, assignment, grade_id, None if args.clear else args.score,
                         args.reason or "")
    for path in grading.export():
        print(f"wrote {path.relative_to(course.ROOT)}")


def summary(args):
    """Per exercise: score distribution and the commonest failures, as a table and a plot."""
    from . import grading
    from . import summary as s

    print(s.write(grading.results(_assignments(args.assignments))))
    print("wrote autograder/summary.txt, summary.csv, summary.png")


def similarity(args):
    """Compare each exercise's answers across the class and with the course's code."""
    from . import similarity as s

    rows = []
    for assignment in _assignments(args.assignments):
        rows += s.compare(assignment, args.threshold)
    print(s.write(rows, args.threshold))
    print(f"wrote {s.CSV.relative_to(course.ROOT)} and {s.HTML.relative_to(course.ROOT)}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help=release.__doc__)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--exchange", action="store_true", help="also release to nbgrader's exchange")
    p.set_defaults(run=release)

    p = sub.add_parser("bundle", help=bundle.__doc__)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--out", default=str(course.ROOT / "dist" / "student-bundle.zip"))
    p.set_defaults(run=bundle)

    p = sub.add_parser("collect", help=collect.__doc__)
    p.add_argument("source", nargs="?", help="folder or .zip of downloaded notebooks (omit: exchange)")
    p.add_argument("--assignment", help="the assignment id of the downloaded notebooks")
    p.add_argument("--roster", help="CSV of the class: id, name, email, section")
    p.set_defaults(run=collect)

    for name, fn in (("grade", grade), ("feedback", feedback), ("summary", summary)):
        p = sub.add_parser(name, help=fn.__doc__)
        p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
        if name != "summary":
            p.add_argument("--student", action="append", help="only this student (repeatable)")
        if name == "grade":
            p.add_argument("--workers", type=int, default=None,
                           help="parallel workers (default: one per core)")
            p.add_argument("--force", action="store_true",
                           help="regrade the chosen submissions even if unchanged")
        if name == "feedback":
            p.add_argument("--exchange", action="store_true", help="also return it via the exchange")
        p.set_defaults(run=fn)

    p = sub.add_parser("similarity", help=similarity.__doc__)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--threshold", type=float, default=0.6,
                   help="report pairs at least this similar (0 to 1; default 0.6)")
    p.set_defaults(run=similarity)

    p = sub.add_parser("export", help=export.__doc__)
    p.add_argument("--out", default=str(course.GRADES_CSV))
    p.set_defaults(run=export)

    p = sub.add_parser("override", help=override.__doc__)
    p.add_argument("student", help="student id (or name, if only one student has it)")
    p.add_argument("assignment")
    p.add_argument("exercise", help="the graded function or its test cell's grade_id")
    p.add_argument("score", type=float, nargs="?", help="the points to give")
    p.add_argument("--reason", help="why (shown in every export and the feedback)")
    p.add_argument("--clear", action="store_true", help="remove the override")
    p.set_defaults(run=override)

    args = parser.parse_args(argv)
    course.prepare_environment()
    args.run(args)


if __name__ == "__main__":
    main()
