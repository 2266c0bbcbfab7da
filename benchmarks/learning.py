"""python -m benchmarks learning: what every notebook's model learns, at full size.

Imports every module of ``utils/experiments/``, runs its ``learning_results(quick)`` and
collects the records ``{"notebook", "experiment", "model", "metric", "value", "seconds"}``
(``metric``: ``test_accuracy``, higher is better; ``test_mse`` and ``heldout_nats_per_char``,
lower is better). Prints them as a table and writes them to ``benchmarks/learning.json``.

    python -m benchmarks learning              # everything, full size (minutes)
    python -m benchmarks learning --quick      # shortened runs (seconds), a smoke test
    python -m benchmarks learning --only 06 --only 09 --merge   # replace those notebooks' records
    python -m benchmarks learning --update-readme-only         # the README table from the json
"""
import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
METRICS = ("test_accuracy", "test_mse", "heldout_nats_per_char")
KEYS = ("notebook", "experiment", "model", "metric", "value", "seconds")


def experiment_modules():
    """Every module of utils.experiments with ``learning_results``, imported, in name order
    (shared parts, such as the optimiser, measure nothing themselves)."""
    import utils.experiments as package

    modules = [importlib.import_module(f"{package.__name__}.{info.name}")
               for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)]
    return [m for m in modules if hasattr(m, "learning_results")]


def check_record(record, module):
    """A record as the README and the tests read it: the six keys, a known metric, a number."""
    if set(record) != set(KEYS):
        raise ValueError(f"{module}: a record needs the keys {KEYS}, got {sorted(record)}")
    if record["metric"] not in METRICS:
        raise ValueError(f"{module}: unknown metric {record['metric']!r} (one of {METRICS})")
    return {key: record[key] for key in KEYS}


def selected(module, only):
    """Skip a module whose notebooks are all unselected, without running it: each module
    lists them in ``NOTEBOOKS`` when it can (optional)."""
    names = getattr(module, "NOTEBOOKS", None)
    return not only or names is None or any(n.startswith(p) for n in names for p in only)


def run(quick=False, only=(), log=print):
    """Run every experiment (or those of the notebooks whose number or id starts with one of
    ``only``); return the records sorted by notebook, each module's in its own order."""
    records = []
    for module in experiment_modules():
        if not selected(module, only):
            continue
        for record in module.learning_results(quick=quick):
            if only and not any(record["notebook"].startswith(p) for p in only):
                continue
            record = check_record(record, module.__name__)
            log(row(record))
            records.append(record)
    return sorted(records, key=lambda r: r["notebook"])


def _value(record):
    if record["metric"] == "test_accuracy":
        return f"{record['value']:.1%}"
    return f"{record['value']:.4g}"


def row(record):
    return (f"{record['notebook']:26s} {record['model'][:44]:44s} {record['metric']:22s} "
            f"{_value(record):>8s} {record['seconds']:8.1f} s   {record['experiment']}")


def table(records):
    head = (f"{'notebook':26s} {'model':44s} {'metric':22s} {'value':>8s} {'time':>10s}   "
            "experiment")
    return "\n".join([head, "-" * len(head), *map(row, records)])


README = HERE.parent / "README.md"
BEGIN, END = "<!-- learning:begin -->", "<!-- learning:end -->"
GOALS = {"lower": "lower is better", "higher": "higher is better"}


def readme_table(records):
    """The README's table: one row per record, in notebook order."""
    rows = ["| notebook | experiment | model | result | training |",
            "|---|---|---|---:|---:|"]
    names = {"test_accuracy": "test accuracy", "test_mse": "test MSE",
             "heldout_nats_per_char": "held-out nats/char"}
    for r in records:
        rows.append(f"| {r['notebook'][:2]} | {r['experiment']} | {r['model']} | "
                    f"{names[r['metric']]} {_value(r)} | {r['seconds']:.0f} s |")
    return "\n".join(rows)


def update_readme(records, path=README):
    import re

    text = path.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{readme_table(records)}\n{END}"
    new, count = re.subn(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text,
                         flags=re.S)
    if count != 1:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} block")
    path.write_text(new, encoding="utf-8")


def merged(old, new, only):
    """``old`` with the records of the notebooks in ``only`` replaced by ``new``'s."""
    keep = [r for r in old if not any(r["notebook"].startswith(p) for p in only)]
    return sorted(keep + new, key=lambda r: r["notebook"])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks learning",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="shortened runs (what the tests do): the figures are not the "
                             "learning goals'")
    parser.add_argument("--only", action="append", default=[], metavar="NN",
                        help="only notebooks whose number (or id) starts with NN; repeatable")
    parser.add_argument("--out", default=str(HERE / "learning.json"),
                        help="where to write the records (default benchmarks/learning.json)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other notebooks' records already in --out")
    parser.add_argument("--update-readme", action="store_true",
                        help="also rewrite the README's table of what every notebook learns")
    parser.add_argument("--update-readme-only", action="store_true",
                        help="only rewrite the README's table from --out, running nothing")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.update_readme_only:
        update_readme(json.loads(out.read_text(encoding="utf-8")))
        print(f"rewrote the learning table in {README}")
        return None
    from .report import machine

    info = machine()
    print(f"learning benchmark on {info['cores']} cores, load average {info['load']}"
          + (" (--quick: shortened runs)" if args.quick else ""), flush=True)
    records = run(quick=args.quick, only=args.only,
                  log=lambda line: print(line, flush=True, file=sys.stderr))
    print(table(records))
    if args.merge and out.is_file():
        records = merged(json.loads(out.read_text(encoding="utf-8")), records, args.only)
    out.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    if args.update_readme:
        update_readme(records)
    return records
