"""python -m benchmarks: the course's speed, measured side by side in one run.

Prints three tables and writes them to benchmarks/latest.md with a plot, benchmarks/latest.png
(and the raw figures to benchmarks/latest.json):

1. widget latency in JupyterLab (headless Chromium): key press → new frame for every explorer
   of every lecture, against the floor of a slider that only updates a text label, and the
   kernel's share of each move;
2. notebook run times: each solution top to bottom in a fresh kernel (nbclient), each lecture
   Shift-Entered through in the browser, and the time to its first widget;
3. the reference implementations in utils against PyTorch (CPU, float64).

`python -m benchmarks learning [--quick] [--only NN]` measures something else: what every
notebook's model learns (benchmarks/learning.py, written to benchmarks/learning.json).
`python -m benchmarks kernel [--only NN]` steps every explorer of every notebook in a kernel,
without a browser, in about two minutes (benchmarks/kernel.py, written to benchmarks/kernel.md).

Run it on a quiet machine: the figures are wall-clock times.
"""
import argparse
import json
import sys
from pathlib import Path

from . import browser, notebooks, reference, report

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["learning"]:
        from . import learning

        learning.main(argv[1:])
        return
    if argv[:1] == ["kernel"]:
        from . import kernel

        kernel.main(argv[1:])
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presses", type=int, default=30,
                        help="key presses stepping each explorer, and as many on the floor "
                             "beside it (default 30; medians reported); half as many on "
                             "the floor at each notebook's end")
    parser.add_argument("--lectures", default=str(ROOT / "lectures"),
                        help="folder of lecture notebooks to open in the browser")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["browser", "notebooks", "reference"], help="leave a part out")
    parser.add_argument("--out", default=str(HERE), help="where latest.md and latest.png go")
    parser.add_argument("--update-readme", action="store_true",
                        help="also rewrite the figures in README.md's Speed section")
    parser.add_argument("--from-json", metavar="PATH",
                        help="measure nothing: rewrite the tables and the plot from a "
                             "latest.json written by an earlier run")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        info, browser_result, reason = saved["machine"], saved["browser"], saved["reason"]
        nbclient_rows, reference_rows = saved["notebooks"], saved["reference"]
    else:
        info, browser_result, reason, nbclient_rows, reference_rows = measure(args)
        (out / "latest.json").write_text(json.dumps(
            {"machine": info, "browser": browser_result, "reason": reason,
             "notebooks": nbclient_rows, "reference": reference_rows}, indent=1))

    text = report.markdown(info, browser_result, reason, nbclient_rows, reference_rows)
    print()
    print(text)
    (out / "latest.md").write_text(text, encoding="utf-8")
    report.plot(out / "latest.png", browser_result, nbclient_rows, reference_rows)
    print(f"\nwrote {out / 'latest.md'} and {out / 'latest.png'}")
    if args.update_readme:
        block = report.readme_block(info, browser_result, nbclient_rows, reference_rows)
        if report.update_readme(ROOT / "README.md", block):
            print("updated README.md's Speed section")
        else:
            print("README.md has no speed markers: not updated", file=sys.stderr)


def measure(args):
    info = report.machine()
    print(f"benchmarks on {info['cores']} cores, load average {info['load']}")
    browser_result, reason = None, "skipped (--skip browser)"
    if "browser" not in args.skip:
        print("widget latency and notebooks in the browser ...")
        browser_result, reason = browser.run(args.lectures, presses=args.presses)
        if reason:
            print(f"  not measured: {reason}")
    nbclient_rows = None
    if "notebooks" not in args.skip:
        print("notebooks top to bottom (nbclient) ...")
        nbclient_rows = notebooks.run(ROOT)
    reference_rows = None
    if "reference" not in args.skip:
        print("utils against PyTorch ...")
        reference_rows = reference.run()

    return info, browser_result, reason, nbclient_rows, reference_rows


if __name__ == "__main__":
    main()
