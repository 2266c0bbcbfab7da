"""The explorers of notebooks 07 and 08: right numbers, artists that move, axes that stay."""
import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import utils  # noqa: E402
from explorer_checks import assert_axes_fixed  # noqa: E402
from utils.explorers import rnn as er  # noqa: E402

torch = pytest.importorskip("torch", reason="PyTorch checks the Jacobian norms")


def _play(explorer):
    return [w for w in explorer.widget.children[0].children if isinstance(w, widgets.Play)]


# --- 07: hidden states over time ---------------------------------------------------------------

def test_word_states_run_the_reference_network():
    ids, X, H_all = er.word_states("Dog!")
    assert ids.tolist() == [4, 15, 7, 0]  # lower case; '!' becomes a space
    E, params = er.char_rnn()
    np.testing.assert_allclose(X, E[ids])
    h = np.zeros(params["W_hh"].shape[0])
    for t, x in enumerate(X):
        h = np.tanh(x @ params["W_xh"] + h @ params["W_hh"] + params["b_h"])
        np.testing.assert_allclose(H_all[t], h, rtol=1e-12)
    assert len(er.word_states("")[0]) == 0
    assert len(er.word_states("a" * 50)[0]) == er.T_MAX


def test_order_changes_the_final_state():
    assert np.linalg.norm(er.word_states("dog")[2][-1] - er.word_states("god")[2][-1]) > 0.1


def shown_states(explorer):
    """Which cells of the states' map a student sees filled (not the empty grey), as a full
    redraw shows them: (H, T_MAX) booleans."""
    pixels = np.asarray(Image.open(io.BytesIO(explorer.png())).convert("RGB"))
    ax = explorer.fig.axes[2]
    H = er.char_rnn()[1]["W_hh"].shape[0]
    cells = [[ax.transData.transform((j, i)) for j in range(er.T_MAX)] for i in range(H)]
    return np.array([[tuple(pixels[pixels.shape[0] - int(y), int(x)]) != (242, 242, 242)
                      for x, y in row] for row in cells])


def test_hidden_states_shows_the_steps_up_to_t():
    explorer = er.hidden_states("recurrent", t=3)
    shown = shown_states(explorer)
    assert shown.shape == (16, er.T_MAX)
    assert shown[:, :3].all() and not shown[:, 3:].any()
    explorer.set(t=12)
    assert shown_states(explorer).sum(axis=0).tolist() == [16] * 9 + [0] * 3
    explorer.set(word="god", t=2)
    assert explorer.last_error is None
    assert "step 2 of 3" in explorer.fig.get_suptitle()
    explorer.set(word="")
    assert explorer.last_error is None and "type a word" in explorer.fig.get_suptitle()


def test_hidden_states_slider_spans_the_word_so_every_step_moves_the_picture():
    explorer = er.hidden_states("recurrent")
    t, play = explorer.controls["t"], explorer.play
    assert (t.value, t.max, play.max) == (9, 9, 9)  # starts with the whole word shown
    seen = set()
    for step in range(t.max, 0, -1):
        explorer.set(t=step)
        seen.add(int(shown_states(explorer).sum()))
    assert len(seen) == 9
    explorer.set(word="dog")
    assert (t.max, play.max, t.value) == (3, 3, 1) and explorer.last_error is None
    explorer.set(word="")
    assert t.max == 1 and explorer.last_error is None


def test_hidden_states_has_a_play_button_linked_to_t():
    explorer = er.hidden_states()
    (play,) = _play(explorer)
    assert (play.min, play.max) == (explorer.controls["t"].min, explorer.controls["t"].max)
    link = explorer.play_link
    assert link.source == (play, "value") and link.target == (explorer.controls["t"], "value")


def test_hidden_states_axes_never_change():
    assert_axes_fixed(er.hidden_states())


# --- 07: memory --------------------------------------------------------------------------------

def test_memory_fades_below_one_and_lasts_longer_near_one():
    _, table = er.memory_table()

    def steps_to_one_percent(rho, scale):
        below = np.flatnonzero(table[(rho, scale)] < 1e-2)
        return below[0] if len(below) else np.inf

    assert steps_to_one_percent(0.5, 0.25) < steps_to_one_percent(0.9, 0.25) \
        < steps_to_one_percent(1.0, 0.25) < steps_to_one_percent(1.5, 0.25)
    assert table[(2.0, 0.25)].max() > 5  # chaos: the nudge grows
    assert steps_to_one_percent(0.9, 2.0) < steps_to_one_percent(0.9, 0.25)  # saturation
    for curve in table.values():
        assert curve[0] == pytest.approx(1.0)


def test_memory_explorer_moves_the_eigenvalues_with_rho():
    explorer = er.memory(rho=0.5)
    dots = explorer.fig.axes[0].lines[1]  # after the unit circle
    radius = np.max(np.hypot(*dots.get_data()))
    assert radius == pytest.approx(0.5, rel=1e-9)
    explorer.set(rho=1.5)
    assert explorer.last_error is None
    assert np.max(np.hypot(*dots.get_data())) == pytest.approx(1.5, rel=1e-9)


def test_memory_axes_never_change():
    assert_axes_fixed(er.memory(), n_random=15)


# --- 08: gradient through time -----------------------------------------------------------------

def test_jacobian_norms_match_autograd():
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 5, 3, 4
    X, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    p = {"W_xh": rng.standard_normal((D, H)), "W_hh": rng.standard_normal((H, H)),
         "b_h": rng.standard_normal(H), "W_hy": np.zeros((H, 1)), "b_y": np.zeros(1)}
    norms, slopes = er.jacobian_norms(X, h0, p)
    assert norms.shape == (T + 1, N)
    W_xh, W_hh, b_h = (torch.tensor(p[k]) for k in ("W_xh", "W_hh", "b_h"))
    for n in range(N):
        for t in range(T + 1):
            def h_T(h_t, n=n, t=t):
                h = h_t
                for s in range(t, T):
                    h = torch.tanh(torch.tensor(X[n, s]) @ W_xh + h @ W_hh + b_h)
                return h
            h_t = torch.tensor(h0[n]) if t == 0 else torch.tensor(
                utils.rnn_forward(X[n:n + 1], h0[n:n + 1], p)[0][0, t - 1])
            J = torch.autograd.functional.jacobian(h_T, h_t)
            assert norms[t, n] == pytest.approx(J.norm().item() / np.sqrt(H), rel=1e-10)


def test_gradients_vanish_below_and_explode_above_the_edge():
    table = er.gradient_table()
    start = {key: value[0][0] for key, value in table.items()}  # ||dh_T/dh_0||
    assert start[(0.5, 0.1)] < 1e-10  # vanishes
    assert start[(2.0, 0.1)] > 10  # explodes
    assert start[(2.0, 2.0)] < 1e-10  # saturated tanh: vanishes however large W_hh
    assert start[(1.0, 0.1)] > start[(1.0, 0.5)] > start[(1.0, 2.0)]
    for norms, shares in table.values():
        assert norms[-1] == pytest.approx(1.0) and shares.sum() == pytest.approx(1.0)


def test_gradient_axes_never_change():
    assert_axes_fixed(er.gradient_through_time(), n_random=15)


# --- 08: clipping run --------------------------------------------------------------------------

def _history(rng, steps=40, per_epoch=10, spikes=False):
    norms = np.exp(rng.standard_normal(steps)) * (10 if spikes else 1)
    return {"grad_norm": list(norms), "steps_per_epoch": per_epoch,
            "test_accuracy": list(np.linspace(0.5, 0.9, steps // per_epoch))}


def test_clipping_run_follows_the_step():
    rng = np.random.default_rng(0)
    clipped, plain = _history(rng), _history(rng, spikes=True)
    explorer = er.clipping_run(clipped, plain, max_norm=1.0)
    explorer.set(step=25)
    assert explorer.last_error is None
    assert "epoch 3" in explorer.fig.get_suptitle()
    marker = explorer.fig.axes[0].lines[1]  # the unclipped run's marker
    assert marker.get_ydata()[0] == pytest.approx(plain["grad_norm"][24])
    assert _play(explorer)


def test_clipping_run_axes_never_change():
    rng = np.random.default_rng(1)
    assert_axes_fixed(er.clipping_run(_history(rng), _history(rng, spikes=True)))


def test_updates_are_cheap():
    import time

    for explorer, values in ((er.memory(), [{"rho": r, "input_scale": 0.5} for r in er.RHOS]),
                             (er.gradient_through_time(),
                              [{"rho": r, "input_scale": 0.5} for r in er.RHOS]),
                             (er.hidden_states(), [{"word": "recurrent", "t": t}
                                                   for t in range(1, 13)])):
        start = time.perf_counter()
        for v in values:
            explorer._update(**v)
        per_call_ms = (time.perf_counter() - start) / len(values) * 1e3
        print(f"{per_call_ms:.2f} ms per update")  # figures, not an assertion (a shared machine)
