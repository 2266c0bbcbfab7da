"""Feedback that never reveals hidden tests.

nbgrader's feedback shows the autograded notebook, hidden tests included; removing their source
is not enough, because a failing test's traceback quotes the lines around the failure
(nbgrader issue 917). For every cell that held hidden tests this preprocessor drops the hidden
block from the source and replaces each error's traceback with its last line.
"""
import re

from nbconvert.preprocessors import Preprocessor

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_BLOCK = re.compile(re.escape(BEGIN) + r".*?(" + re.escape(END) + r"|\Z)", re.S)


def redact_source(source):
    return HIDDEN_BLOCK.sub("# (hidden tests are not shown)", source)


class RedactHiddenTests(Preprocessor):
    """Remove hidden test source and the tracebacks that could quote it."""

    enabled = True  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            return cell, resources
        cell.source = redact_source(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
