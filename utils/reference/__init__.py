"""The reference implementations: the maths each notebook derives, one module per topic.

Every graded function ``f`` of the contract (``utils/curriculum.toml``) lives in the module the
contract names and is importable as ``utils.<f>``. Each has the same signature as the exercise,
its shapes and formula in the docstring, and raises ``ValueError`` naming the argument and both
shapes on bad input. Tests hold them to PyTorch and to finite differences.
"""
