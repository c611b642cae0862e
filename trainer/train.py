"""
The agent's canvas: a small GPT pretrained for a fixed time budget and scored by val_bpb.

Usage:
    uv run train.py                                # cuda preset on a GPU, the tiny cpu preset otherwise
    AUTORESEARCH_TIME_BUDGET=60 uv run train.py    # seconds of training (default 300)

Reads top to bottom: hyperparameters, model, optimizer, setup, training loop, summary.
The data, the tokenizer, the time budget and the metric live in prepare.py, which stays fixed.
Every 10 steps it prints a `step ...` line; at the end, the summary block that the loop
parses (DESIGN.md section 3). A NaN or diverging loss prints FAIL and exits 1.
A budget of 0 runs no training step: the summary then scores the untrained model.
"""

import math
import resource
import sys
import time

t_start = time.time()

import torch
import torch.nn as nn
import torch.nn.functional as F

import prepare

# ---------------------------------------------------------------------------
# Hyperparameters: the cuda preset, the original autoresearch's scale (~50M parameters). On a cpu
# the setup scales the same values down to a tiny preset (~1.5M parameters), so every knob matters on both.

DEPTH = 8  # transformer layers; one knob: the width follows as DEPTH * ASPECT_RATIO (rounded up to whole heads)
ASPECT_RATIO = 64  # model width per layer (8 * 64 = 512 channels)
HEAD_DIM = 128  # channels per attention head
KV_HEAD_RATIO = 2  # query heads per key/value head (grouped-query attention); 1 = plain MHA
WINDOW_PATTERN = "SSSL"  # per layer, cycled: S = sliding window, L = full context; the last layer is always L
SHORT_WINDOW_RATIO = 0.5  # fraction of the context an S layer sees
VE_GATE_CHANNELS = 32  # input channels of the per-head gate on the value-residual embeddings
LOGIT_SOFTCAP = 15.0  # logits = cap * tanh(logits / cap), bounds them early in training
ROPE_BASE = 10000.0  # rotary embedding base frequency
TOTAL_BATCH_TOKENS = 524288  # tokens per optimizer step (gradient accumulation makes up the rest)
DEVICE_BATCH_SIZE = 64  # rows per forward/backward pass (the original used 128; 64 leaves memory headroom)
MATRIX_LR = 0.04  # Muon learning rate for the 2-D weights inside the blocks
EMBEDDING_LR = 0.6  # AdamW, token and value embeddings (times (width/768)^-0.5)
UNEMBEDDING_LR = 0.004  # AdamW, output head (times (width/768)^-0.5)
SCALAR_LR = 0.5  # AdamW, per-layer residual scalars
WEIGHT_DECAY = 0.2  # Muon's decoupled weight decay (times the LR); fades out with the schedule
ADAM_BETA1 = 0.8  # AdamW first-moment decay
ADAM_BETA2 = 0.95  # AdamW second-moment decay
MUON_MOMENTUM = 0.95  # Muon's Nesterov momentum
NS_STEPS = 5  # Newton-Schulz iterations per Muon update
WARMUP_RATIO = 0.0  # fraction of the budget spent warming the LR up from 0
WARMDOWN_RATIO = 0.5  # fraction of the budget, at the end, spent decaying the LR linearly
FINAL_LR_FRAC = 0.0  # LR multiplier reached at the end of the warmdown
SEED = 42  # torch random seed

# ---------------------------------------------------------------------------
# Model: decoder-only transformer. RMSNorm, RoPE, GQA with QK-norm, value-residual embeddings
# on alternate layers, sliding-window attention, ReLU^2 MLP, logit soft-cap.


def rms_norm(x):
    return F.rms_norm(x, (x.size(-1),))


def rotary_tables(seq_len, head_dim):
    """cos, sin of shape (1, T, 1, head_dim / 2) (RoFormer, Su et al. 2021)."""
    inv_freq = ROPE_BASE ** -(torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return angles.cos()[None, :, None, :], angles.sin()[None, :, None, :]


def apply_rotary(x, cos, sin):  # x: (B, T, H, D)
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).type_as(x)


def window_mask(seq_len, window, device):
    """(T, T) bool, True where query i may attend key j: causal and i - j < window."""
    i = torch.arange(seq_len, device=device)[:, None]
    j = torch.arange(seq_len, device=device)[None, :]
    return (j <= i) & (i - j < window)


def has_value_embed(layer, depth):
    """Alternate layers, always including the last one."""
    return layer % 2 == (depth - 1) % 2


class Attention(nn.Module):
    def __init__(self, width, n_head, n_kv_head, value_embed):
        super().__init__()
        self.n_head, self.n_kv_head = n_head, n_kv_head
        self.q = nn.Linear(width, n_head * HEAD_DIM, bias=False)
        self.k = nn.Linear(width, n_kv_head * HEAD_DIM, bias=False)
        self.v = nn.Linear(width, n_kv_head * HEAD_DIM, bias=False)
        self.out = nn.Linear(n_head * HEAD_DIM, width, bias=False)
        self.ve_gate = nn.Linear(VE_GATE_CHANNELS, n_kv_head, bias=False) if value_embed else None

    def forward(self, x, ve, cos, sin, mask):  # x: (B, T, C)
        B, T, _ = x.shape
        q = self.q(x).view(B, T, self.n_head, HEAD_DIM)
        k = self.k(x).view(B, T, self.n_kv_head, HEAD_DIM)
        v = self.v(x).view(B, T, self.n_kv_head, HEAD_DIM)
        if ve is not None:  # value residual: a per-token embedding mixed into v, gated per head in (0, 2)
            gate = 2 * torch.sigmoid(self.ve_gate(x[..., :VE_GATE_CHANNELS]))  # (B, T, n_kv_head)
            v = v + (gate.unsqueeze(-1) * ve.view_as(v)).type_as(v)
        q, k = (rms_norm(apply_rotary(t, cos, sin)).type_as(v) for t in (q, k))  # QK-norm; one dtype for SDPA
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        groups = self.n_head // self.n_kv_head  # GQA: each k/v head serves `groups` query heads
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None)
        return self.out(y.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.up = nn.Linear(width, 4 * width, bias=False)
        self.out = nn.Linear(4 * width, width, bias=False)

    def forward(self, x):
        return self.out(F.relu(self.up(x)).square())  # ReLU^2 (Primer, So et al. 2021)


class Block(nn.Module):
    def __init__(self, width, n_head, n_kv_head, value_embed):
        super().__init__()
        self.attn = Attention(width, n_head, n_kv_head, value_embed)
        self.mlp = MLP(width)

    def forward(self, x, ve, cos, sin, mask):
        x = x + self.attn(rms_norm(x), ve, cos, sin, mask)
        return x + self.mlp(rms_norm(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, seq_len, depth, width, n_head, n_kv_head, windows):
        super().__init__()
        self.windows = windows  # tokens each layer sees; seq_len = full context
        self.wte = nn.Embedding(vocab_size, width)
        self.value_embeds = nn.ModuleDict({str(i): nn.Embedding(vocab_size, n_kv_head * HEAD_DIM)
                                           for i in range(depth) if has_value_embed(i, depth)})
        self.blocks = nn.ModuleList(Block(width, n_head, n_kv_head, has_value_embed(i, depth)) for i in range(depth))
        self.lm_head = nn.Linear(width, vocab_size, bias=False)
        self.resid_lambdas = nn.Parameter(torch.ones(depth))  # per layer: x = r * x + x0_lambda * x0
        self.x0_lambdas = nn.Parameter(torch.zeros(depth))
        cos, sin = rotary_tables(seq_len, HEAD_DIM)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, idx):  # idx: (B, T) -> logits (B, T, vocab)
        T = idx.size(1)
        cos, sin = self.cos[:, :T], self.sin[:, :T]
        masks = {w: window_mask(T, w, idx.device) for w in sorted(set(self.windows)) if w < T}
        x = x0 = rms_norm(self.wte(idx))  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = self.resid_lambdas[i] * x + self.x0_lambdas[i] * x0
            ve = self.value_embeds[str(i)](idx) if str(i) in self.value_embeds else None
            x = block(x, ve, cos, sin, masks.get(self.windows[i]))
        logits = self.lm_head(rms_norm(x)).float()
        return LOGIT_SOFTCAP * torch.tanh(logits / LOGIT_SOFTCAP)


@torch.no_grad()
def init_weights(model, width):
    """Inputs uniform with std width^-0.5; output projections zero, so every block starts as the
    identity; the head nearly zero, so the first logits are nearly uniform."""
    bound = 3**0.5 * width**-0.5
    for name, p in model.named_parameters():
        if name.startswith("wte"):
            p.normal_(0, 1)
        elif name.startswith("lm_head"):
            p.normal_(0, 0.001)
        elif name.endswith("out.weight") or "ve_gate" in name:
            p.zero_()
        elif p.dim() == 2:
            p.uniform_(-bound, bound)


def flops_per_token(model, seq_len):
    """Forward + backward FLOPs per token: 6 per matmul weight (embedding lookups are free) plus
    attention, 12 * heads * head_dim * keys seen per layer (the usual estimate, as nanoGPT)."""
    lookups = model.wte.weight.numel() + sum(e.weight.numel() for e in model.value_embeds.values())
    matmul = sum(p.numel() for p in model.parameters()) - lookups
    attention = sum(12 * b.attn.n_head * HEAD_DIM * min(w, seq_len) for b, w in zip(model.blocks, model.windows))
    return 6 * matmul + attention

# ---------------------------------------------------------------------------
# Optimizer: Muon for the 2-D matrices inside the blocks, AdamW for the rest.


def newton_schulz(G, steps):
    """Approximately U V^T for G = U S V^T: the orthogonalised update of Muon (Jordan et al. 2024),
    a quintic iteration tuned to converge fast rather than exactly."""
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G.bfloat16() if G.is_cuda else G.float()
    transposed = X.size(-2) > X.size(-1)
    if transposed:
        X = X.mT
    X = X / (X.norm() + 1e-7)
    for _ in range(steps):
        A = X @ X.mT
        X = a * X + (b * A + c * A @ A) @ X
    return X.mT if transposed else X


class Muon(torch.optim.Optimizer):
    """SGD with Nesterov momentum whose update is orthogonalised by newton_schulz."""

    def __init__(self, params, lr, momentum, weight_decay):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                buf = self.state[p].setdefault("momentum", torch.zeros_like(p))
                buf.lerp_(p.grad, 1 - group["momentum"])
                update = orthogonalise(p.grad.lerp(buf, group["momentum"]), NS_STEPS)  # Nesterov
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(update.to(p.dtype), alpha=-group["lr"] * max(1, p.size(-2) / p.size(-1)) ** 0.5)


def make_optimizers(model, width):
    """Muon for block matrices; AdamW (LRs scaled by (width/768)^-0.5) for embeddings, head, scalars."""
    scale = (width / 768) ** -0.5
    matrices = [p for p in model.blocks.parameters() if p.dim() == 2]
    embeddings = [model.wte.weight] + [e.weight for e in model.value_embeds.values()]
    scalars = [model.resid_lambdas, model.x0_lambdas]
    groups = [dict(params=embeddings, lr=EMBEDDING_LR * scale), dict(params=[model.lm_head.weight], lr=UNEMBEDDING_LR * scale),
              dict(params=scalars, lr=SCALAR_LR)]
    assert len(matrices) + len(embeddings) + len(scalars) + 1 == len(list(model.parameters()))
    adamw = torch.optim.AdamW(groups, betas=(ADAM_BETA1, ADAM_BETA2), eps=1e-10, weight_decay=0.0,
                              fused=model.lm_head.weight.is_cuda)
    muon = Muon(matrices, lr=MATRIX_LR, momentum=MUON_MOMENTUM, weight_decay=WEIGHT_DECAY)
    for opt in (adamw, muon):
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
    return adamw, muon


def lr_multiplier(progress):
    """Warmup, constant, then a linear warmdown to FINAL_LR_FRAC; progress = share of the budget used."""
    if progress < WARMUP_RATIO:
        return progress / WARMUP_RATIO
    if progress < 1 - WARMDOWN_RATIO:
        return 1.0
    return FINAL_LR_FRAC + (1 - FINAL_LR_FRAC) * (1 - progress) / WARMDOWN_RATIO


def set_schedule(optimizers, progress):
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] * lr_multiplier(progress)
            if isinstance(opt, Muon):
                group["weight_decay"] = WEIGHT_DECAY * (1 - progress)

# ---------------------------------------------------------------------------
# Setup

device = torch.device(prepare.device_type())
if device.type == "cpu":  # the cpu preset: 8 -> 4 layers, 512 -> 128 wide, 2048 tokens per step, ~1.5M parameters
    DEPTH, ASPECT_RATIO, HEAD_DIM = max(1, DEPTH // 2), max(1, ASPECT_RATIO // 2), max(2, HEAD_DIM // 4)
    TOTAL_BATCH_TOKENS, DEVICE_BATCH_SIZE = TOTAL_BATCH_TOKENS // 256, max(1, DEVICE_BATCH_SIZE // 8)
torch.manual_seed(SEED)
torch.set_float32_matmul_precision("high")
orthogonalise = torch.compile(newton_schulz) if device.type == "cuda" else newton_schulz
autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
log_every = 10  # steps between progress lines

data = prepare.load_data(device.type)
seq_len, vocab_size = data.settings.seq_len, data.settings.vocab_size
head_group = HEAD_DIM * KV_HEAD_RATIO  # the width is rounded up to whole groups of query heads
width = -(-DEPTH * ASPECT_RATIO // head_group) * head_group
n_head = width // HEAD_DIM
n_kv_head = n_head // KV_HEAD_RATIO
pattern = [WINDOW_PATTERN[i % len(WINDOW_PATTERN)] for i in range(DEPTH - 1)] + ["L"]
windows = [seq_len if kind == "L" else max(1, int(SHORT_WINDOW_RATIO * seq_len)) for kind in pattern]
assert HEAD_DIM % 2 == 0 and VE_GATE_CHANNELS <= width and set(WINDOW_PATTERN) <= {"S", "L"}
grad_accum = max(1, round(TOTAL_BATCH_TOKENS / (DEVICE_BATCH_SIZE * seq_len)))
step_tokens = grad_accum * DEVICE_BATCH_SIZE * seq_len  # TOTAL_BATCH_TOKENS, rounded to whole passes

with torch.device(device):
    model = GPT(vocab_size, seq_len, DEPTH, width, n_head, n_kv_head, windows)
init_weights(model, width)
optimizers = make_optimizers(model, width)
num_params = sum(p.numel() for p in model.parameters())
token_flops = flops_per_token(model, seq_len)
peak_flops = prepare.gpu_peak_flops(torch.cuda.get_device_name()) if device.type == "cuda" else 0.0
compiled = torch.compile(model) if device.type == "cuda" else model  # on cpu compiling costs more than it saves
budget = prepare.time_budget()
print(f"config: device {device.type} | depth {DEPTH} width {width} heads {n_head}/{n_kv_head} kv "
      f"| windows {windows} | vocab {vocab_size} seq {seq_len} | params {num_params / 1e6:.2f}M "
      f"| batch {step_tokens} tokens = {DEVICE_BATCH_SIZE} rows x {grad_accum} accum | budget {budget:.0f}s",
      flush=True)

# ---------------------------------------------------------------------------
# Training loop: runs until the timed steps have used the budget (the first untimed_steps steps,
# compilation and warm-up, are not counted). Schedules follow the share of the budget used.

batches = prepare.train_batches(data, DEVICE_BATCH_SIZE, device)
x, y = next(batches)
step, training_seconds, timed_tokens = 0, 0.0, 0
while training_seconds < budget:
    t0 = time.time()
    for _ in range(grad_accum):
        with autocast:
            loss = F.cross_entropy(compiled(x).view(-1, vocab_size), y.reshape(-1))
        (loss / grad_accum).backward()
        x, y = next(batches)  # the next batch loads while the device works
    set_schedule(optimizers, training_seconds / budget)
    for opt in optimizers:
        opt.step()
    model.zero_grad(set_to_none=True)
    loss_value = loss.item()  # the one host sync per step
    if not math.isfinite(loss_value) or loss_value > 2 * math.log(vocab_size):
        print(f"step {step:05d} | loss {loss_value} | diverged\nFAIL", flush=True)
        sys.exit(1)
    dt = time.time() - t0
    step += 1
    if step > data.settings.untimed_steps:
        training_seconds += dt
        timed_tokens += step_tokens
    if step % log_every == 0:
        print(f"step {step:05d} | loss {loss_value:.4f} | lr x{lr_multiplier(training_seconds / budget):.2f} "
              f"| dt {dt * 1000:.0f}ms | tok/s {step_tokens / dt:,.0f} "
              f"| elapsed {training_seconds:.1f}s | progress {100 * training_seconds / budget:.1f}%", flush=True)

if training_seconds:
    print(f"train: {step} steps | {timed_tokens / training_seconds:,.0f} tok/s over the timed steps", flush=True)

# ---------------------------------------------------------------------------
# Evaluation and summary

with autocast:
    val_bpb = prepare.evaluate_bpb(compiled, data, DEVICE_BATCH_SIZE, device)
if not math.isfinite(val_bpb):
    print(f"val_bpb {val_bpb}\nFAIL", flush=True)
    sys.exit(1)
if device.type == "cuda":
    peak_memory_mb = torch.cuda.max_memory_allocated() / 2**20
else:
    peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
mfu = 100 * token_flops * timed_tokens / training_seconds / peak_flops if peak_flops and training_seconds else 0.0
summary = {
    "val_bpb": f"{val_bpb:.6f}",
    "training_seconds": f"{training_seconds:.1f}",
    "total_seconds": f"{time.time() - t_start:.1f}",
    "peak_vram_mb": f"{peak_memory_mb:.1f}",
    "mfu_percent": f"{mfu:.2f}",
    "total_tokens_M": f"{step * step_tokens / 1e6:.1f}",
    "num_steps": f"{step}",
    "num_params_M": f"{num_params / 1e6:.1f}",
    "depth": f"{DEPTH}",
}
print("---")
for key, value in summary.items():
    print(f"{key + ':':<18}{value}")
