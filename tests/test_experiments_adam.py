"""The experiments' one Adam: PyTorch's steps, in place."""
import numpy as np
import pytest

from utils.experiments.adam import Adam


def test_the_first_step_is_lr_times_the_gradients_sign():
    params = {"w": np.zeros(3)}
    out = Adam(params, lr=0.1).step({"w": np.array([1.0, -2.0, 0.0])})
    assert out is params  # updated in place: a model holding the dict sees the step
    np.testing.assert_allclose(params["w"], [-0.1, 0.1, 0.0], atol=1e-6)


def test_steps_match_torch_optim_adam():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    params = {"a": rng.standard_normal((4, 3)), "b": rng.standard_normal(5)}
    theirs = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    mine = Adam(params, lr=3e-3, betas=(0.8, 0.99), eps=1e-7)
    opt = torch.optim.Adam(list(theirs.values()), lr=3e-3, betas=(0.8, 0.99), eps=1e-7)
    for _ in range(25):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        mine.step(grads)
        for k, t in theirs.items():
            t.grad = torch.tensor(grads[k])
        opt.step()
    for k, t in theirs.items():
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-10, atol=1e-12)
