"""nbgrader's configuration for this course (found when nbgrader runs from autograder/ or with
JUPYTER_CONFIG_PATH pointing here; `python -m autograder` sets that up for you)."""
import os
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when the file is loaded

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

c.CourseDirectory.course_id = os.environ.get("COURSE_ID", "deep-learning")
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lectures"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.db_url = os.environ.get(
    "COURSE_DB_URL", f"sqlite:///{HERE / 'gradebook.db'}")
# Data files beside a notebook are released with it; never caches or checkpoints.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py"]

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading: a generous per-cell limit (a closing experiment trains a model), and the course's
# own kernel so student code runs in the course's environment. (nbgrader's Execute always
# allows errors: `Execute.allow_errors` is not a configurable option in nbgrader 0.9.6.)
c.Execute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT", "120"))
c.Execute.interrupt_on_timeout = True

# Feedback: hidden tests are removed, and tracebacks in cells that had them are reduced to
# the error message, so no hidden line is quoted (nbgrader shows them by default).
from autograder.feedback import RedactHiddenTests  # noqa: E402

c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    RedactHiddenTests,
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# The exchange for a shared machine (JupyterHub): COURSE_EXCHANGE overrides the default.
if os.environ.get("COURSE_EXCHANGE"):
    c.Exchange.root = os.environ["COURSE_EXCHANGE"]

# A student who deletes a test cell gets it back (and is graded on it), instead of nbgrader
# silently grading what is left.
c.OverwriteCells.add_missing_cells = True
