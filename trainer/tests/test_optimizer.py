"""train.py's optimizer against a straightforward reference: float64, one matrix at a time, every
formula written out (the trainer stacks matrices by shape and works in place)."""

import numpy as np
import pytest
import torch

import train


def reference_muon(W, G, M, V, lr, momentum, weight_decay, beta2):
    """(W, M, V) after one Muon step on one matrix: Nesterov momentum, Polar Express, NorMuon, cautious decay."""
    rows, cols = W.shape
    M = momentum * M + (1 - momentum) * G
    U = (1 - momentum) * G + momentum * M
    X = U / (1.02 * np.sqrt((U**2).sum()) + 1e-6)
    if rows > cols:
        X = X.T
    for a, b, c in train.POLAR_EXPRESS:
        A = X @ X.T
        X = a * X + b * A @ X + c * A @ A @ X
    if rows > cols:
        X = X.T
    if rows >= cols:  # one second moment per row
        V = beta2 * V + (1 - beta2) * np.array([[np.mean(X[i] ** 2)] for i in range(rows)])
    else:  # one per column
        V = beta2 * V + (1 - beta2) * np.array([[np.mean(X[:, j] ** 2) for j in range(cols)]])
    scaled = X / np.sqrt(np.maximum(V, 1e-10))
    X = scaled * np.sqrt((X**2).sum()) / np.sqrt((scaled**2).sum())
    lr = lr * max(1, rows / cols) ** 0.5
    W = W.copy()
    for i in range(rows):
        for j in range(cols):
            decay = weight_decay * W[i, j] if X[i, j] * W[i, j] >= 0 else 0.0
            W[i, j] -= lr * (X[i, j] + decay)
    return W, M, V


def reference_adamw(p, g, m, v, t, lr, betas, eps):
    m = betas[0] * m + (1 - betas[0]) * g
    v = betas[1] * v + (1 - betas[1]) * g**2
    return p - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps), m, v


def tiny_model():
    torch.manual_seed(0)
    model = train.GPT(vocab_size=32, seq_len=16, depth=2, width=32, head_dim=8, kv_head_ratio=1)
    with torch.no_grad():  # no zero weights, so that the cautious mask has both signs to work on
        for p in model.parameters():
            p.copy_(0.1 * torch.randn_like(p))
    return model


def test_two_optimizer_steps_match_the_reference():
    model = tiny_model()
    adamw, muon = train.make_optimizers(model)
    names = {p: name for name, p in model.named_parameters()}
    params = {name: p.detach().double().numpy().copy() for name, p in model.named_parameters()}
    state = {name: (np.zeros_like(v), None) for name, v in params.items()}
    adam_settings = {p: (g["lr"], g["betas"]) for g in adamw.param_groups for p in g["params"]}
    idx = torch.randint(0, 32, (2, 3, 16))
    for step in range(2):
        model(idx[step], idx[step]).backward()
        grads = {names[p]: p.grad.double().numpy() for p in model.parameters()}
        train.set_schedule(adamw, muon, progress=0.6, step=step)  # in the warmdown: lr x0.8, decay x0.4
        adamw.step()
        muon.step()
        model.zero_grad(set_to_none=True)
        momentum = 0.85 + 0.10 * step / 300
        for p, name in names.items():
            m, v = state[name]
            if p.dim() == 2 and name.startswith("blocks."):
                if v is None:
                    v = np.zeros((p.size(0), 1) if p.size(0) >= p.size(1) else (1, p.size(1)))
                params[name], m, v = reference_muon(params[name], grads[name], m, v, lr=0.04 * 0.8, momentum=momentum,
                                                    weight_decay=0.2 * 0.4, beta2=0.95)
            else:
                lr, betas = adam_settings[p]
                v = np.zeros_like(m) if v is None else v
                params[name], m, v = reference_adamw(params[name], grads[name], m, v, step + 1, lr * 0.8, betas, 1e-10)
            state[name] = (m, v)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.detach().double().numpy(), params[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_adamw_groups_carry_the_originals_learning_rates_and_betas():
    model = tiny_model()
    adamw, muon = train.make_optimizers(model)
    scale = (32 / 768) ** -0.5
    by_param = {p: g for g in adamw.param_groups for p in g["params"]}
    assert by_param[model.lm_head.weight]["lr"] == pytest.approx(0.004 * scale)
    assert by_param[model.wte.weight]["lr"] == pytest.approx(0.6 * scale)
    assert by_param[model.resid_lambdas]["lr"] == 0.005 and by_param[model.resid_lambdas]["betas"] == (0.8, 0.95)
    assert by_param[model.x0_lambdas]["lr"] == 0.5 and by_param[model.x0_lambdas]["betas"] == (0.96, 0.95)
    # one Muon group per shape: q/k/v/out (32, 32), mlp.up (128, 32), mlp.out (32, 128), ve_gate (4, 32)
    assert sorted(tuple(g["params"][0].shape) for g in muon.param_groups) == [(4, 32), (32, 32), (32, 128), (128, 32)]


def test_muon_momentum_warms_up_and_weight_decay_fades():
    adamw, muon = train.make_optimizers(tiny_model())
    for step, progress, momentum, decay in [(0, 0.0, 0.85, 0.2), (150, 0.5, 0.90, 0.1), (900, 1.0, 0.95, 0.0)]:
        train.set_schedule(adamw, muon, progress, step)
        assert muon.param_groups[0]["momentum"] == pytest.approx(momentum)
        assert muon.param_groups[0]["weight_decay"] == pytest.approx(decay)


def test_polar_express_brings_every_singular_value_near_one():
    torch.manual_seed(0)
    for shape in [(4, 64, 16), (4, 16, 64)]:
        singular = torch.linalg.svdvals(train.orthogonalise(torch.randn(shape)).double())
        assert singular.min() > 0.8 and singular.max() < 1.2
