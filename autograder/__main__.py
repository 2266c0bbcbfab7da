"""The instructor's command line: python -m autograder {release,bundle,collect,grade,feedback,export,summary,similarity}."""
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

    if args.source:
        if not args.assignment:
            sys.exit("collect PATH needs --assignment ID (which notebook these are)")
        saved = c.from_download(args.source, _assignments([args.assignment])[0])
        print(f"{len(saved)} submission(s) saved under {course.SUBMITTED.relative_to(course.ROOT)}/")
    else:
        c.from_exchange(_assignments([args.assignment] if args.assignment else []))


def grade(args):
    """Grade every new or changed submission in the sandbox; write autograder/grades.csv."""
    from . import grading, summary

    assignments = _assignments(args.assignments)
    print("building the gradebook from solutions/ ...", flush=True)
    results, graded_now, unchanged = grading.grade(assignments, args.student or None,
                                                   workers=args.workers)
    print(f"graded {graded_now} submission(s); {unchanged} unchanged since last graded")
    for r in results:
        got = sum(c["score"] for c in r["cells"])
        out_of = sum(c["max_score"] for c in r["cells"])
        note = "" if r["status"] == "graded" else f"  ({r['status']}: {r['reason']})"
        print(f"{r['student']:20s} {r['assignment']:28s} {got:5.1f} / {out_of:g}{note}")
    print(f"wrote {course.GRADES_CSV.relative_to(course.ROOT)}")
    if not args.student:
        summary.write(grading.results(assignments))
        print("wrote autograder/summary.txt, summary.csv, summary.png (python -m autograder summary)")


def feedback(args):
    """HTML feedback per student and notebook in autograder/feedback/ (no hidden tests)."""
    from . import feedback_pages, grading

    assignments = _assignments(args.assignments)
    results = [r for r in grading.results(assignments, args.student or None)
               if r["status"] != "not graded"]
    for path in feedback_pages.write(results):
        print(f"wrote {path.relative_to(course.ROOT)}")
    if args.exchange:
        api = course.nbgrader_api()
        for r in results:
            api.release_feedback(r["assignment"], r["student"])


def export(args):
    """Rewrite autograder/grades.csv from the graded results."""
    from . import grading

    print(f"wrote {grading.export(args.out).relative_to(course.ROOT)}")


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
    p.set_defaults(run=collect)

    for name, fn in (("grade", grade), ("feedback", feedback), ("summary", summary)):
        p = sub.add_parser(name, help=fn.__doc__)
        p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
        if name != "summary":
            p.add_argument("--student", action="append", help="only this student (repeatable)")
        if name == "grade":
            p.add_argument("--workers", type=int, default=None,
                           help="parallel workers (default: one per core)")
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

    args = parser.parse_args(argv)
    course.prepare_environment()
    args.run(args)


if __name__ == "__main__":
    main()
