"""Adam, the optimiser every experiment of 09-12 trains with (one implementation, PyTorch's)."""
import numpy as np


class Adam:
    """Adam (Kingma & Ba, 2015) on a dict of arrays, updated in place.

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        w <- w - lr * m_hat / (sqrt(v_hat) + eps),   m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)

    Each weight gets its own step size: large where its gradients have been small and steady,
    small where they are large or noisy, which suits embeddings and recurrent weights whose
    gradients differ by orders of magnitude. ``step(grads)`` updates the arrays of ``params``
    (the dict given here) and returns it; the step equals ``torch.optim.Adam``'s.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads):
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t  # m and v start at 0: unbias them
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            self.params[k] -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
        return self.params
