"""Interactive figures for notebook 02: activation functions and their derivatives."""
import ipywidgets as widgets
import numpy as np

from ..reference import activations as ref
from .plotting import EdgeMark
from .widgets import Explorer, figure, slider

REFERENCES = {
    "sigmoid": (ref.sigmoid, ref.sigmoid_grad),
    "tanh": (ref.tanh, ref.tanh_grad),
    "relu": (ref.relu, ref.relu_grad),
}
# Fixed y-ranges, the same for every activation and control setting (the plot never rescales):
# a(z) shows the sigmoid and tanh whole and a ReLU up to a = 2.5; a'(z) shows every slope of
# magnitude up to 1.1: the sigmoid's at every gain (at most |w| / 4 <= 1), tanh's and ReLU's for
# |w| <= 1. Whatever leaves them (a ReLU's right half, a steep gain) runs off the edge, and the
# point z0 is then marked on that edge with its value.
A_LIMITS = (-1.3, 2.5)
SLOPE_LIMITS = (-1.15, 1.15)
GAIN_RANGE, SHIFT_RANGE = (-4.0, 4.0), (-4.0, 4.0)


def _remark(name, slope, peak):
    """A word on the slope at z0: where learning through this unit stalls."""
    if name == "relu" and slope == 0:
        return "  (flat: a ReLU below 0 passes no gradient)"
    if peak > 0 and abs(slope) < 0.02 * peak:
        return "  (saturated: almost no gradient)"
    return ""


def activation_explorer(functions=None, z_range=(-6.0, 6.0), n=401):
    """An activation g(w z + b) with the tangent at a point z0 and the derivative beside it.

    Args:
        functions: dict name -> (g, g_prime) of elementwise functions; by default the
            course's sigmoid, tanh and relu. Pass your own to see them drawn.
        z_range: the z interval shown.
        n: points per curve.
    Returns:
        an :class:`~utils.explorers.widgets.Explorer` with controls ``activation`` (dropdown),
        ``z0`` (where the tangent touches), ``w`` (gain) and ``b`` (shift).

    The left panel shows a(z) = g(w z + b) and its tangent at z0, whose slope is
    a'(z0) = w g'(w z0 + b) (the chain rule); the right panel shows a'(z) and marks z0.
    Both panels keep the same axes for every setting (``A_LIMITS``, ``SLOPE_LIMITS``), so
    activations and gains compare at a glance; a point beyond them is marked on the edge.
    """
    functions = dict(REFERENCES if functions is None else functions)
    zs = np.linspace(*z_range, n)
    fig, (ax, dax) = figure(1, 2, figsize=(8.4, 3.3))
    curve, = ax.plot(zs, np.full(n, np.nan), color="C0", lw=2)
    tangent, = ax.plot([], [], color="C3", lw=1.5, ls="--", label="tangent at $z_0$")
    point, = ax.plot([], [], "o", color="C3")
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    ax.set(xlim=z_range, ylim=A_LIMITS, xlabel="z")
    ax.legend(loc="lower right", fontsize=8)
    title = ax.set_title("", fontsize=10)
    dcurve, = dax.plot(zs, np.full(n, np.nan), color="C2", lw=2)
    dpoint, = dax.plot([], [], "o", color="C3")
    dlevel = dax.axhline(0, color="C3", lw=1, ls=":")
    dax.axhline(0, color="0.8", lw=0.8, zorder=0)
    dax.set(xlim=z_range, ylim=SLOPE_LIMITS, xlabel="z")
    dax.set_title("a'(z) = w g'(w z + b)", fontsize=10)
    a_edge, slope_edge = EdgeMark(ax), EdgeMark(dax)
    label = fig.suptitle("", fontsize=10)
    span = 0.25 * (z_range[1] - z_range[0])

    def update(activation, z0, w, b):
        g, g_prime = functions[activation]
        a = np.asarray(g(w * zs + b), dtype=float)
        da = w * np.asarray(g_prime(w * zs + b), dtype=float)  # chain rule: d/dz g(wz + b)
        a0 = float(g(np.array([w * z0 + b]))[0])
        s0 = w * float(g_prime(np.array([w * z0 + b]))[0])
        tz = np.array([z0 - span, z0 + span])
        curve.set_ydata(a)
        tangent.set_data(tz, a0 + s0 * (tz - z0))
        point.set_data([z0], [a0])
        a_edge.show(z0, a0, f"a(z0) = {a0:.3g}, off the chart")
        sign = "+" if b >= 0 else "-"
        title.set_text(f"a(z) = {activation}({w:.2g} z {sign} {abs(b):.2g})")
        dcurve.set_ydata(da)
        dpoint.set_data([z0], [s0])
        dlevel.set_ydata([s0, s0])
        slope_edge.show(z0, s0, f"a'(z0) = {s0:.3g}, off the chart")
        peak = float(np.max(np.abs(da)))
        label.set_text(f"at z0 = {z0:.2f}: a = {a0:.4f}, slope a'(z0) = {s0:.4f}"
                       + _remark(activation, s0, peak))
        return (curve, tangent, point, a_edge.marker, a_edge.text, title,
                dcurve, dpoint, dlevel, slope_edge.marker, slope_edge.text, label)

    explorer = Explorer(
        fig, update,
        activation=widgets.Dropdown(options=list(functions), value=list(functions)[0],
                                    description="g"),
        z0=slider(1.0, z_range[0], z_range[1], 0.05, "z0"),
        w=slider(1.0, *GAIN_RANGE, 0.05, "gain w"),
        b=slider(0.0, *SHIFT_RANGE, 0.05, "shift b"),
    )
    explorer.artists = {"curve": curve, "tangent": tangent, "point": point,
                        "slope_curve": dcurve, "slope_point": dpoint, "slope_level": dlevel,
                        "title": title, "label": label,
                        "off_chart": (a_edge.marker, a_edge.text, slope_edge.marker,
                                      slope_edge.text)}
    return explorer
