"""Ready-made interactive figures, one module per notebook topic.

Each function builds a figure once, precomputes what its controls need, and returns an
:class:`utils.explorers.widgets.Explorer` whose update only changes artists and returns them.
Tests call ``explorer.set(...)`` under the Agg backend and check the artists changed.
"""
