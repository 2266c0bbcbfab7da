"""Checks every explorer test shares: a move changes artists, never the axes.

An explorer's ``update`` may only change existing artists through their setters. Whatever
makes a frame expensive (limits, scales, ticks, tick labels, legends, artists added or removed)
is fixed when the figure is built; :func:`assert_axes_fixed` moves every control over its whole
range, alone and together with the others, and compares the axes before and after.
"""
import itertools

import ipywidgets as widgets
import numpy as np


def control_values(control, n=7):
    """Values spread over a control's whole range, both ends included."""
    if isinstance(control, (widgets.Dropdown, widgets.SelectionSlider, widgets.ToggleButtons)):
        return [option[1] if isinstance(option, tuple) else option
                for option in control.options]
    if isinstance(control, widgets.FloatLogSlider):
        return list(control.base ** np.linspace(control.min, control.max, n))
    if isinstance(control, widgets.IntSlider):
        return sorted({int(round(v)) for v in np.linspace(control.min, control.max, n)})
    if isinstance(control, widgets.FloatSlider):
        return list(np.linspace(control.min, control.max, n))
    if isinstance(control, widgets.Text):  # free text: the start, empty, and a few others
        return [control.value, "", "a", "Hello, World!", "x" * 40][:max(n, 2)]
    raise TypeError(f"no sweep for a {type(control).__name__}")


def ends(control):
    values = control_values(control)
    return [values[0], values[-1]] if len(values) > 1 else values


def axes_state(fig):
    """Per axes: limits, scales, tick positions and labels, legend texts, and its artists."""
    state = []
    for ax in fig.axes:
        ticks = []
        for axis in (ax.xaxis, ax.yaxis):
            for minor in (False, True):
                locs = tuple(axis.get_minorticklocs() if minor else axis.get_majorticklocs())
                formatter = axis.get_minor_formatter() if minor else axis.get_major_formatter()
                ticks.append((locs, tuple(formatter.format_ticks(list(locs)))))
        legend = ax.get_legend()
        state.append({
            "limits": (tuple(ax.get_xlim()), tuple(ax.get_ylim())),
            "scales": (ax.get_xscale(), ax.get_yscale()),
            "ticks": tuple(ticks),
            "legend": None if legend is None else (
                id(legend), tuple(t.get_text() for t in legend.get_texts())),
            "artists": tuple(map(id, ax.get_children())),
        })
    return state


def moves(explorer, n=7, seed=0, n_random=30):
    """Settings to visit: each control across its range from the current values, every
    combination of the controls' ends, and random joint settings."""
    start = explorer.values
    controls = explorer.controls
    for name, control in controls.items():
        for value in control_values(control, n):
            yield {**start, name: value}
    names = list(controls)
    corners = list(itertools.product(*(ends(controls[k]) for k in names)))
    for corner in corners[:256]:
        yield dict(zip(names, corner))
    rng = np.random.default_rng(seed)
    for _ in range(n_random):
        yield {k: (lambda v: v[rng.integers(len(v))])(control_values(controls[k], 25))
               for k in names}


def assert_axes_fixed(explorer, check=None, **kwargs):
    """Move every control over its range; after each move the update must have succeeded
    (and pass ``check(explorer, values)`` if given); the axes must end as they began, both
    before and after a real draw (a draw resolves any pending autoscale)."""
    fig = explorer.fig
    fig.canvas.draw()
    before = axes_state(fig)
    visited = 0
    for values in moves(explorer, **kwargs):
        explorer.set(**values)
        assert explorer.last_error is None, f"{values}: {explorer.last_error}"
        if check is not None:
            check(explorer, explorer.values)
        visited += 1
    after = axes_state(fig)
    fig.canvas.draw()
    drawn = axes_state(fig)
    for i, (b, a, d) in enumerate(zip(before, after, drawn)):
        for key in b:
            assert b[key] == a[key] == d[key], (
                f"axes {i} ({fig.axes[i].get_title() or fig.axes[i].get_xlabel()!r}): "
                f"{key} changed by a move: {b[key]} -> {a[key]} -> {d[key]}")
    assert len(before) == len(after) == len(drawn), "axes were added or removed"
    return visited


def inside(ax, x, y):
    """Whether the data point (x, y) lies within ax's limits."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    return bool(x0 <= x <= x1 and y0 <= y <= y1)


def bars(ax):
    """The bars drawn in ``ax`` as one shape (a path of rectangles, ``plotting.rectangles``):
    ``(N, 4)`` rows of left, right, bottom and top, in data units, in the path's order."""
    (patch,) = ax.patches
    return np.array([(c[:, 0].min(), c[:, 0].max(), c[:, 1].min(), c[:, 1].max())
                     for c in patch.get_path().to_polygons()])
