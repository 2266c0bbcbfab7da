"""python -m benchmarks learning: what every notebook's model learns, at full size.

Imports every module of ``utils/experiments/``, runs its ``learning_results(quick)`` and
collects the records ``{"notebook", "experiment", "model", "metric", "value", "seconds"}``
(``metric``: ``test_accuracy``, higher is better; ``test_mse`` and ``heldout_nats_per_char``,
lower is better). Prints them as a table and writes them to ``benchmarks/learning.json``.

    python -m benchmarks learning              # everything, full size (minutes)
    python -m benchmarks learning --quick      # shortened runs (seconds), a smoke test
    python -m benchmarks learning --only 06 --only 09
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
    """Every module of utils.experiments, imported, in name order."""
    import utils.experiments as package

    return [importlib.import_module(f"{package.__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)]


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
    args = parser.parse_args(argv)
    from .report import machine

    info = machine()
    print(f"learning benchmark on {info['cores']} cores, load average {info['load']}"
          + (" (--quick: shortened runs)" if args.quick else ""), flush=True)
    records = run(quick=args.quick, only=args.only,
                  log=lambda line: print(line, flush=True, file=sys.stderr))
    print(table(records))
    Path(args.out).write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return records
