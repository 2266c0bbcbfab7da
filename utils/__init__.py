"""The course's package: one facade over three rooms.

    utils.reference     the maths: every graded function's reference implementation, with
                        shapes and the formula in its docstring (``utils.<name>`` for short)
    utils.exercises     the checks the notebooks' tests call, on ``utils.exercises.checking``
                        (the check engine) and ``utils.exercises.gradcheck`` (finite differences)
    utils.explorers     the interactive figures, on ``utils.explorers.widgets`` (the engine)
    utils.data          the data sets (generated, or shipped with the course)
    utils.contract      the curriculum (curriculum.toml): notebooks, graded functions, points

Every graded function of the course is importable as ``utils.<name>``, from the module the
contract names. Submodules load on first use, so ``import utils`` is instant and pulls in
neither matplotlib nor ipywidgets.
"""
from importlib import import_module

from .contract import FUNCTIONS as _FUNCTIONS

# name -> utils.reference.<module> holding its reference implementation (from the contract)
_REFERENCES = {name: f.module for name, f in _FUNCTIONS.items()}
# short names for the rooms' modules a notebook uses often
_SUBMODULES = {
    "reference": "reference", "exercises": "exercises", "explorers": "explorers",
    "data": "data", "contract": "contract",
    "checking": "exercises.checking", "gradcheck": "exercises.gradcheck",
    "widgets": "explorers.widgets", "plotting": "explorers.plotting",
    "shapes": "reference.shapes",
}

__all__ = sorted(_REFERENCES)


def __getattr__(name):
    if name in _REFERENCES:
        value = getattr(import_module(f"{__name__}.reference.{_REFERENCES[name]}"), name)
    elif name in _SUBMODULES:
        value = import_module(f"{__name__}.{_SUBMODULES[name]}")
    else:
        raise AttributeError(f"module 'utils' has no attribute {name!r}")
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_REFERENCES) | set(_SUBMODULES))
