"""The reference implementations in ``utils`` against PyTorch on the CPU, float64, course sizes.

Each case times the same computation both ways on the same inputs: ``utils``' numpy code, and
PyTorch (``no_grad`` for a forward pass; autograd's forward and backward for a gradient). The
ratio is utils' time over PyTorch's: the goal is at most 1.5. Cases whose ``utils`` module does
not exist yet are listed as not yet implemented.

Both run on one thread (numpy's BLAS through threadpoolctl, ``torch.set_num_threads(1)``): at
these sizes threads barely help, and on a busy 2-core machine they make timings erratic.
"""
import time
from importlib import import_module

import numpy as np

N, T, D, H, K = 64, 32, 128, 128, 16  # batch, steps, input, hidden, outputs
HEADS = 4
GOAL = 1.5


def _best_of(fn, budget_s=0.4, repeats=7):
    """Median over ``repeats`` rounds of the mean time per call (seconds), loops sized to budget."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    loops = max(1, int(budget_s / repeats / once))
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        rounds.append((time.perf_counter() - start) / loops)
    return float(np.median(rounds))


def _params(rng, shapes):
    return {k: rng.standard_normal(s) / np.sqrt(s[0] if len(s) > 1 else 1)
            for k, s in shapes.items()}


def _torch(params, grad=False):
    import torch

    return {k: torch.tensor(v, requires_grad=grad) for k, v in params.items()}


# -- the cases: each returns (utils_fn, torch_fn) closed over the same inputs ---------------------
def mlp_forward_case(rng):
    import torch
    import utils

    X = rng.standard_normal((N, D))
    p = _params(rng, {"W1": (D, H), "b1": (H,), "W2": (H, K), "b2": (K,)})
    tX, tp = torch.tensor(X), _torch(p)

    def ours():
        return utils.mlp_forward(X, p, utils.tanh)

    def theirs():
        with torch.no_grad():
            return torch.tanh(tX @ tp["W1"] + tp["b1"]) @ tp["W2"] + tp["b2"]

    return ours, theirs


def mlp_backward_case(rng):
    import torch
    import utils

    X, y = rng.standard_normal((N, D)), rng.standard_normal((N, K))
    p = _params(rng, {"W1": (D, H), "b1": (H,), "W2": (H, K), "b2": (K,)})
    tX, ty, tp = torch.tensor(X), torch.tensor(y), _torch(p, grad=True)

    def ours():
        return utils.mlp_loss_and_grads(X, y, p, "tanh")

    def theirs():
        for v in tp.values():
            v.grad = None
        out = torch.tanh(tX @ tp["W1"] + tp["b1"]) @ tp["W2"] + tp["b2"]
        loss = torch.mean((out - ty) ** 2)
        loss.backward()
        return loss

    return ours, theirs


def _rnn_torch(tX, th0, tp):
    import torch

    h, hs = th0, []
    for t in range(tX.shape[1]):
        h = torch.tanh(tX[:, t] @ tp["W_xh"] + h @ tp["W_hh"] + tp["b_h"])
        hs.append(h)
    H_all = torch.stack(hs, 1)
    return H_all, H_all @ tp["W_hy"] + tp["b_y"]


RNN_SHAPES = {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,), "W_hy": (H, K), "b_y": (K,)}


def rnn_forward_case(rng):
    import torch
    import utils

    X, h0 = rng.standard_normal((N, T, D)), np.zeros((N, H))
    p = _params(rng, RNN_SHAPES)
    tX, th0, tp = torch.tensor(X), torch.tensor(h0), _torch(p)

    def ours():
        return utils.rnn_forward(X, h0, p)

    def theirs():
        with torch.no_grad():
            return _rnn_torch(tX, th0, tp)

    return ours, theirs


def rnn_backward_case(rng):
    import torch
    import utils

    X, h0 = rng.standard_normal((N, T, D)), np.zeros((N, H))
    dH = rng.standard_normal((N, T, H))
    p = _params(rng, RNN_SHAPES)
    tX = torch.tensor(X, requires_grad=True)
    th0 = torch.tensor(h0, requires_grad=True)
    tdH, tp = torch.tensor(dH), _torch(p, grad=True)

    def ours():
        H_all, _ = utils.rnn_forward(X, h0, p)
        return utils.rnn_backward(dH, X, h0, H_all, p)

    def theirs():
        for v in [tX, th0, *tp.values()]:
            v.grad = None
        H_all, _ = _rnn_torch(tX, th0, tp)
        H_all.backward(tdH)

    return ours, theirs


def _lstm_torch(tX, th0, tc0, tp):
    import torch

    h, c, hs = th0, tc0, []
    for t in range(tX.shape[1]):
        i, f, g, o = (tX[:, t] @ tp["W_x"] + h @ tp["W_h"] + tp["b"]).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    return torch.stack(hs, 1)


LSTM_SHAPES = {"W_x": (D, 4 * H), "W_h": (H, 4 * H), "b": (4 * H,)}


def lstm_forward_case(rng):
    import torch
    import utils

    X, h0, c0 = rng.standard_normal((N, T, D)), np.zeros((N, H)), np.zeros((N, H))
    p = _params(rng, LSTM_SHAPES)
    tX, th0, tc0, tp = torch.tensor(X), torch.tensor(h0), torch.tensor(c0), _torch(p)

    def ours():
        return utils.lstm_forward(X, h0, c0, p)

    def theirs():
        with torch.no_grad():
            return _lstm_torch(tX, th0, tc0, tp)

    return ours, theirs


def lstm_backward_case(rng):
    import torch
    import utils

    X, h0, c0 = rng.standard_normal((N, T, D)), np.zeros((N, H)), np.zeros((N, H))
    dH = rng.standard_normal((N, T, H))
    p = _params(rng, LSTM_SHAPES)
    tX, th0, tc0 = (torch.tensor(a, requires_grad=True) for a in (X, h0, c0))
    tdH, tp = torch.tensor(dH), _torch(p, grad=True)

    def ours():
        return utils.lstm_backward(dH, X, h0, c0, p)

    def theirs():
        for v in [tX, th0, tc0, *tp.values()]:
            v.grad = None
        _lstm_torch(tX, th0, tc0, tp).backward(tdH)

    return ours, theirs


def attention_forward_case(rng):
    import torch
    import utils

    Q, Kt, V = (rng.standard_normal((N, T, D)) for _ in range(3))
    mask = np.tril(np.ones((T, T), dtype=bool))
    tQ, tK, tV, tmask = (torch.tensor(a) for a in (Q, Kt, V, mask))

    def ours():
        return utils.scaled_dot_product_attention(Q, Kt, V, mask)

    def theirs():
        with torch.no_grad():
            scores = (tQ @ tK.transpose(-1, -2)) / D ** 0.5
            weights = torch.softmax(scores.masked_fill(~tmask, float("-inf")), dim=-1)
            return weights @ tV, weights

    return ours, theirs


def attention_backward_case(rng):
    import torch
    import utils

    Q, Kt, V = (rng.standard_normal((N, T, D)) for _ in range(3))
    dout = rng.standard_normal((N, T, D))
    tQ, tK, tV = (torch.tensor(a, requires_grad=True) for a in (Q, Kt, V))
    tdout = torch.tensor(dout)

    def ours():
        out, weights = utils.scaled_dot_product_attention(Q, Kt, V)
        return utils.attention_backward(dout, Q, Kt, V, weights)

    def theirs():
        for v in (tQ, tK, tV):
            v.grad = None
        weights = torch.softmax((tQ @ tK.transpose(-1, -2)) / D ** 0.5, dim=-1)
        (weights @ tV).backward(tdout)

    return ours, theirs


BLOCK_SHAPES = {**{f"W_{k}": (D, D) for k in "qkvo"}, **{f"b_{k}": (D,) for k in "qkvo"},
                "W1": (D, 4 * D), "b1": (4 * D,), "W2": (4 * D, D), "b2": (D,)}


def block_inputs(rng):
    """X, utils' block params, the causal mask, and a PyTorch layer holding the same weights.

    The layer norms get random scales and shifts (not PyTorch's 1 and 0), so that a weight
    copied to the wrong place shows up in tests/test_reference_transformer.py, which checks
    that both sides compute the same thing.
    """
    X = rng.standard_normal((N, T, D))
    p = _params(rng, BLOCK_SHAPES)
    for k in ("ln1", "ln2"):
        p[f"{k}_gamma"] = 1.0 + 0.1 * rng.standard_normal(D)
        p[f"{k}_beta"] = 0.1 * rng.standard_normal(D)
    mask = np.tril(np.ones((T, T), dtype=bool))
    return X, p, mask, torch_block(p, HEADS)


def torch_block(p, n_heads):
    """``nn.TransformerEncoderLayer(norm_first=True)`` with utils' block params copied in.

    PyTorch computes x @ W.T (our W is its weight transposed) and stacks the three input
    projections row-wise in ``in_proj_weight`` (3D, D) in the order q, k, v.
    """
    import torch

    d_model, d_ff = p["W1"].shape
    layer = torch.nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout=0.0,
                                             activation="relu", batch_first=True,
                                             norm_first=True, dtype=torch.float64)
    attn = layer.self_attn
    copies = [
        (attn.in_proj_weight, np.concatenate([p["W_q"], p["W_k"], p["W_v"]], axis=1).T),
        (attn.in_proj_bias, np.concatenate([p["b_q"], p["b_k"], p["b_v"]])),
        (attn.out_proj.weight, p["W_o"].T), (attn.out_proj.bias, p["b_o"]),
        (layer.linear1.weight, p["W1"].T), (layer.linear1.bias, p["b1"]),
        (layer.linear2.weight, p["W2"].T), (layer.linear2.bias, p["b2"]),
        (layer.norm1.weight, p["ln1_gamma"]), (layer.norm1.bias, p["ln1_beta"]),
        (layer.norm2.weight, p["ln2_gamma"]), (layer.norm2.bias, p["ln2_beta"]),
    ]
    with torch.no_grad():
        for param, value in copies:
            param.copy_(torch.tensor(value))
    return layer


def transformer_forward_case(rng):
    import torch
    import utils

    X, p, mask, layer = block_inputs(rng)
    layer.eval()
    tX, tmask = torch.tensor(X), ~torch.tensor(mask)  # PyTorch masks what may NOT attend

    def ours():
        return utils.transformer_block(X, p, HEADS, mask)

    def theirs():
        with torch.no_grad():
            return layer(tX, src_mask=tmask)

    return ours, theirs


def transformer_backward_case(rng):
    import torch
    from utils.reference.transformer import transformer_block_backward

    X, p, mask, layer = block_inputs(rng)
    dout = rng.standard_normal((N, T, D))
    tX, tdout = torch.tensor(X, requires_grad=True), torch.tensor(dout)
    tmask = ~torch.tensor(mask)

    def ours():  # runs the forward pass itself (as lstm_backward does): forward + backward
        return transformer_block_backward(dout, X, p, HEADS, mask)

    def theirs():
        layer.zero_grad(set_to_none=True)
        tX.grad = None
        out = layer(tX, src_mask=tmask)
        out.backward(tdout)
        return out

    return ours, theirs


# -- notebook 12: one training step of each language model (loss, gradients, clipping, Adam) ---
LM_N, LM_T, LM_V = 32, 64, 65  # the notebook's batches of 32 windows of 64 characters


def _lm_batch(rng):
    ids = rng.integers(0, LM_V, size=(LM_N, LM_T + 1))
    return ids[:, :-1], ids[:, 1:]


def _adam_settings(model):
    """The step size and betas the model trains with (notebook 12's ``model.training``)."""
    return model.training["lr"], model.training["betas"]


def _lm_step_ours(model, inputs, targets):
    from utils.experiments.adam import Adam
    from utils.experiments.language_model import clipped

    lr, betas = _adam_settings(model)
    opt = Adam(model.params, lr=lr, betas=betas)

    def ours():
        loss, grads, _ = model.loss_and_grads(inputs, targets)
        opt.step(clipped(grads, 5.0)[0])
        return loss
    return ours


def _lm_step_theirs(model, tparams, loss_fn, inputs, targets):
    import torch

    lr, betas = _adam_settings(model)
    opt = torch.optim.Adam(list(tparams.values()), lr=lr, betas=betas)
    ti, tt = torch.tensor(inputs), torch.tensor(targets)

    def theirs():
        opt.zero_grad(set_to_none=True)
        logits = loss_fn(ti)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, LM_V), tt.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(tparams.values()), 5.0)
        opt.step()
        return float(loss.detach())
    return theirs


def char_rnn_step_case(rng):
    import torch
    import utils
    from utils.experiments.language_model import CharRNN

    model = CharRNN(LM_V, utils.char_rnn_loss_and_grads)
    inputs, targets = _lm_batch(rng)
    tp = _torch(model.params, grad=True)

    def logits(ti):
        X = tp["E"][ti]
        h, hs = torch.zeros(LM_N, tp["W_hh"].shape[0], dtype=torch.float64), []
        for t in range(X.shape[1]):
            h = torch.tanh(X[:, t] @ tp["W_xh"] + h @ tp["W_hh"] + tp["b_h"])
            hs.append(h)
        return torch.stack(hs, 1) @ tp["W_hy"] + tp["b_y"]
    return (_lm_step_ours(model, inputs, targets),
            _lm_step_theirs(model, tp, logits, inputs, targets))


def char_lstm_step_case(rng):
    import torch
    from utils.experiments.language_model import CharLSTM

    model = CharLSTM(LM_V)
    inputs, targets = _lm_batch(rng)
    tp = _torch(model.params, grad=True)

    def logits(ti):
        zeros = torch.zeros(LM_N, model.H, dtype=torch.float64)
        return _lstm_torch(tp["E"][ti], zeros, zeros, tp) @ tp["W_hy"] + tp["b_y"]
    return (_lm_step_ours(model, inputs, targets),
            _lm_step_theirs(model, tp, logits, inputs, targets))


def char_transformer_step_case(rng):
    import torch
    from utils.experiments.language_model import CharTransformer

    model = CharTransformer(LM_V)
    inputs, targets = _lm_batch(rng)
    layers = [torch_block(model._block(k), model.n_heads) for k in range(model.n_blocks)]
    tp = {**_torch({k: model.params[k] for k in ("E", "W_out", "b_out")}, grad=True),
          **{f"{k}.{name}": w for k, layer in enumerate(layers)
             for name, w in layer.named_parameters()}}
    pe, mask = torch.tensor(model.pe), ~torch.tensor(model.mask)

    def logits(ti):
        x = tp["E"][ti] + pe
        for layer in layers:
            x = layer(x, src_mask=mask)
        return x @ tp["W_out"] + tp["b_out"]
    return (_lm_step_ours(model, inputs, targets),
            _lm_step_theirs(model, tp, logits, inputs, targets))


CASES = [  # (model, pass, module that must exist in utils, case)
    ("MLP", "forward", "mlp", mlp_forward_case),
    ("MLP", "forward + backward", "backprop", mlp_backward_case),
    ("RNN", "forward", "rnn", rnn_forward_case),
    ("RNN", "forward + backward", "rnn", rnn_backward_case),
    ("LSTM", "forward", "gated", lstm_forward_case),
    ("LSTM", "forward + backward", "gated", lstm_backward_case),
    ("attention", "forward", "attention", attention_forward_case),
    ("attention", "forward + backward", "attention", attention_backward_case),
    ("transformer block", "forward", "transformer", transformer_forward_case),
    ("transformer block", "forward + backward", "transformer", transformer_backward_case),
    ("char-RNN (12)", "training step", "language_model", char_rnn_step_case),
    ("char-LSTM (12)", "training step", "language_model", char_lstm_step_case),
    ("char-transformer (12)", "training step", "language_model", char_transformer_step_case),
]
SIZES = {"MLP": f"N={N}, D={D}, H={H}, K={K}", "RNN": f"N={N}, T={T}, D={D}, H={H}, K={K}",
         "LSTM": f"N={N}, T={T}, D={D}, H={H}",
         "attention": f"N={N}, T={T}, d={D} (forward: causal mask)",
         "transformer block": f"N={N}, T={T}, D={D}, {HEADS} heads, causal",
         "char-RNN (12)": f"{LM_N}x{LM_T} chars, V={LM_V}, D=32, H=256, Adam, clip 5",
         "char-LSTM (12)": f"{LM_N}x{LM_T} chars, V={LM_V}, D=32, H=192, Adam, clip 5",
         "char-transformer (12)": f"{LM_N}x{LM_T} chars, V={LM_V}, D=96, 2 blocks, 4 heads, "
                                  "causal, Adam, clip 5"}


def run(log=print):
    """Time every case; returns rows {model, pass, size, utils_ms, torch_ms, ratio, status}."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            return _run(log)
    finally:
        torch.set_num_threads(threads)


def _run(log):
    rows = []
    for model, kind, module, case in CASES:
        row = {"model": model, "pass": kind, "size": SIZES[model], "utils_ms": None,
               "torch_ms": None, "ratio": None, "status": "ok"}
        try:
            import_module(f"utils.reference.{module}")
        except ModuleNotFoundError:
            row["status"] = "not yet implemented"
            rows.append(row)
            continue
        try:
            ours, theirs = case(np.random.default_rng(0))
            row["utils_ms"] = _best_of(ours) * 1e3
            row["torch_ms"] = _best_of(theirs) * 1e3
            row["ratio"] = row["utils_ms"] / row["torch_ms"]
            row["status"] = "ok" if row["ratio"] <= GOAL else f"slower than {GOAL}x"
        except Exception as error:  # a module in progress: say so, keep going
            row["status"] = f"error: {type(error).__name__}: {error}"[:120]
        log(f"  {model:18s} {kind:20s} {row['status']}")
        rows.append(row)
    return rows
