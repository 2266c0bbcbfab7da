"""The explorers of notebook 09: right numbers, cheap updates, axes that never move."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import utils  # noqa: E402
from explorer_checks import assert_axes_fixed  # noqa: E402
from utils.experiments.gated import adding_problem  # noqa: E402
from utils.explorers import gated as eg  # noqa: E402


def test_trace_matches_the_reference_steps():
    rng = np.random.default_rng(0)
    p = {"W_x": rng.standard_normal((2, 12)), "W_h": rng.standard_normal((3, 12)),
         "b": rng.standard_normal(12)}
    X, _ = adding_problem(4, 7, rng)
    trace = eg.lstm_trace(p, X)
    np.testing.assert_allclose(trace["h"], utils.lstm_forward(X, np.zeros((4, 3)),
                                                              np.zeros((4, 3)), p), rtol=1e-12)
    h = c = np.zeros((4, 3))
    for t in range(7):
        h, c = utils.lstm_step(X[:, t], h, c, p)
        np.testing.assert_allclose(trace["c"][:, t], c, rtol=1e-12)
    assert trace["i"].shape == trace["g"].shape == (4, 7, 3)
    assert np.all((trace["f"] > 0) & (trace["f"] < 1)) and np.all(np.abs(trace["g"]) < 1)


def test_the_wired_lstm_solves_the_adding_problem():
    params, (W_y, b_y) = eg.wired_lstm()
    X, y = adding_problem(200, 40, np.random.default_rng(1))
    h_T = utils.lstm_forward(X, np.zeros((200, 1)), np.zeros((200, 1)), params)[:, -1]
    assert np.max(np.abs(h_T @ W_y + b_y - y)) < 0.05  # "within a few percent" of a sum <= 2
    assert np.mean((h_T @ W_y + b_y - y) ** 2) < 1e-3
    leaky = {**params, "b": params["b"].copy()}
    leaky["b"][1] = 2.0
    h_T = utils.lstm_forward(X, np.zeros((200, 1)), np.zeros((200, 1)), leaky)[:, -1]
    assert np.mean((h_T @ W_y + b_y - y) ** 2) > 0.05  # the first value leaks away


def test_gate_explorer_moves_the_marks():
    explorer = eg.gate_activations()
    explorer.set(first=2, second=30)
    assert explorer.last_error is None
    ax_in, ax_gate, ax_cell, _ = explorer.fig.axes[:4]
    i_line = ax_gate.lines[0]
    assert np.argmax(i_line.get_ydata()) in (2, 30)  # the input gate opens at a mark
    assert np.sum(np.asarray(i_line.get_ydata()) > 0.5) == 2
    cell = np.asarray(ax_cell.lines[0].get_ydata())
    assert cell[1] == pytest.approx(0, abs=1e-3) and cell[-1] > 0
    assert "marked steps 3 and 31" in explorer.fig.get_suptitle()


def test_gate_explorer_axes_stay_fixed():
    rng = np.random.default_rng(2)
    H = 4
    p = {"W_x": rng.standard_normal((2, 4 * H)), "W_h": rng.standard_normal((H, 4 * H)),
         "b": rng.standard_normal(4 * H)}
    for explorer in (eg.gate_activations(T=20),
                     eg.gate_activations(p, T=16, readout=(np.ones((H, 1)), np.zeros(1)))):
        assert assert_axes_fixed(explorer, n_random=10) > 10


def test_gradient_curves_tell_the_notebooks_story():
    rnn, lstm = eg.precompute()
    assert rnn[0.8][0] < 1e-6 * rnn[0.8][-1]  # contracting: vanishes
    assert rnn[1.5][0] > 100 * rnn[1.5][-1]  # expanding: explodes backwards
    assert lstm[0.0][0] < 1e-10 * lstm[0.0][-1]  # forgetting gates: vanishes
    assert lstm[3.0][0] > 0.1 * lstm[3.0][-1]  # f ~ 0.95: survives 99 steps
    assert all(np.all(curve[:1] <= 10 * curve.max()) for curve in lstm.values())
    assert all(np.all(np.isfinite(c)) for c in [*rnn.values(), *lstm.values()])


def test_gradient_curves_match_a_finite_difference():
    """||dJ/dx_1|| of the RNN curve, recomputed by nudging x_1 (one sequence)."""
    g = eg.rnn_input_gradients(1.0, T=6, H=4, N=1, seed=3)
    rng = np.random.default_rng(3)
    X, _ = adding_problem(1, 6, rng)
    q, r = np.linalg.qr(rng.standard_normal((4, 4)))
    k = 0.5
    params = {"W_xh": rng.uniform(-k, k, (2, 4)), "W_hh": q * np.sign(np.diag(r)),
              "b_h": np.zeros(4), "W_hy": np.zeros((4, 1)), "b_y": np.zeros(1)}
    dH = eg._direction(rng, 1, 6, 4)
    from utils.exercises.gradcheck import numerical_gradient

    def J(X_):
        return np.sum(dH * utils.rnn_forward(X_, np.zeros((1, 4)), params)[0])

    numeric = numerical_gradient(J, X)
    np.testing.assert_allclose(g, np.linalg.norm(numeric, axis=2).mean(axis=0), rtol=1e-6)


def test_gradient_explorer_swaps_lines_only():
    explorer = eg.gradient_over_time()
    ax = explorer.fig.axes[0]
    explorer.set(radius=0.5, forget_bias=6.0)
    low = np.asarray(ax.lines[0].get_ydata()).copy()
    explorer.set(radius=1.5)
    assert not np.allclose(low, ax.lines[0].get_ydata())
    assert "RNN x" in ax.texts[0].get_text()
    assert_axes_fixed(explorer, n_random=10)
    for line in ax.lines:  # every curve inside the fixed limits
        y = np.asarray(line.get_ydata())
        assert np.all((y >= eg.FLOOR) & (y <= ax.get_ylim()[1]))


def test_updates_return_the_artists_they_changed():
    explorer = eg.gradient_over_time()
    changed = explorer._update(radius=1.0, forget_bias=1.0)
    assert len(changed) == 3 and all(a.figure is explorer.fig for a in changed)
