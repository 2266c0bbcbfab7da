"""Assertions shared by the exercise-check tests."""
import numpy as np

from utils.exercises.checking import diagnose


def assert_each_mistake_is_diagnosed(mistakes, cases):
    """Every mistake shows its own hint on at least one case (not another mistake's)."""
    for mistake in mistakes:
        shown = set()
        for case in cases:
            with np.errstate(all="ignore"):
                try:
                    got = mistake.fn(*case.args, **case.kwargs)
                except Exception:
                    continue
            shown.add(diagnose(mistakes, case, got))
        assert mistake.hint in shown, mistake.hint
