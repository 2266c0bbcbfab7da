"""The README's course table, written from the contract (utils/curriculum.toml).

    python tools/course_table.py            # print the table
    python tools/course_table.py --update   # rewrite it in README.md, between its markers

tests/test_contract.py fails when the README's table is not this one.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from utils.contract import NOTEBOOKS  # noqa: E402

README = ROOT / "README.md"
BEGIN, END = "<!-- course:begin -->", "<!-- course:end -->"


def table():
    """One row per notebook of the contract; a notebook not written yet says so."""
    rows = ["| # | notebook | you implement (points) |", "|---|----------|---------------|"]
    for nb in NOTEBOOKS:
        written = (ROOT / "solutions" / nb.id / f"{nb.id}.ipynb").is_file()
        where = f"`lectures/{nb.id}`" if written else f"{nb.title} (coming)"
        names = ", ".join(f"`{f.name}` ({f.points:g})" for f in nb.functions)
        rows.append(f"| {nb.id[:2]} | {where} | {names} |")
    return "\n".join(rows)


def readme_table(text):
    """The table between the README's markers."""
    match = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    return match.group(1) if match else None


def update(path=README):
    text = path.read_text(encoding="utf-8")
    new = re.sub(re.escape(BEGIN) + r"\n.*?\n" + re.escape(END),
                 lambda _: f"{BEGIN}\n{table()}\n{END}", text, flags=re.S)
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        update()
        print(f"rewrote the course table in {README}")
    else:
        print(table())
