"""The checks behind each notebook's graded exercises, one module per topic.

Every graded function ``f`` has ``check_f(student_fn, *, seed=0, n_random=3, quiet=False)``
in ``utils.exercises.<topic>``. The visible test cell calls it with the defaults; the hidden
test cell calls it again with another seed and more random cases (and adds its own asserts).
"""
from importlib import import_module

from ..contract import FUNCTIONS


def check_for(name):
    """The check function for graded function ``name``."""
    module = import_module(f"{__name__}.{FUNCTIONS[name].module}")
    return getattr(module, f"check_{name}")


def yours_or_reference(*fns):
    """Each function in ``fns`` if it passes its exercise's visible checks, else its reference.

    Lets the plots and experiments of a notebook run before its exercises are done, and says
    in one line which are the student's and which the course's. One function in, one out;
    several in, a tuple out: ``sig, relu = yours_or_reference(sigmoid, relu)``.
    """
    from .checking import passes

    chosen, yours, missing = [], [], []
    for fn in fns:
        name = fn.__name__
        if passes(check_for(name), fn):
            chosen.append(fn)
            yours.append(name)
        else:
            chosen.append(getattr(import_module("utils"), name))
            missing.append(name)
    if yours:
        print(f"Using your {', '.join(yours)}.")
    if missing:
        print(f"Using the course's reference for {', '.join(missing)} (yours does not pass "
              "its tests yet); rerun this cell once it does.")
    return chosen[0] if len(chosen) == 1 else tuple(chosen)


def is_reference(fn):
    """True when ``fn`` is the course's own ``utils.<name>`` (what a fallback hands out)."""
    name = getattr(fn, "__name__", None)
    return name is not None and getattr(import_module("utils"), name, None) is fn


def mark_reference(shown, *fns):
    """Write "reference" in the corner of a figure drawn with the course's functions.

    ``shown`` is a matplotlib figure or an explorer (anything with ``.fig``); it is returned,
    so a cell can end with ``mark_reference(explore.something(...), forward)``. Nothing is
    written when every function in ``fns`` is the student's.
    """
    fig = getattr(shown, "fig", shown)
    used = [fn.__name__ for fn in fns if is_reference(fn)]
    if used:
        fig.text(0.995, 0.005, f"reference: {', '.join(used)}", ha="right", va="bottom",
                 fontsize=7, color="#a11", style="italic")
        if hasattr(shown, "redraw"):  # an explorer drew its still parts once: again, with it
            shown.redraw()
    return shown
