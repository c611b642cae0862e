"""
The agent's canvas: a small GPT pretrained for a fixed time budget and scored by val_bpb.

Usage:
    uv run train.py                                # the cuda preset on a GPU, the tiny cpu preset otherwise
    AUTORESEARCH_TIME_BUDGET=60 uv run train.py    # seconds of training (default 300)
    python3 train.py                               # the same with an installed PyTorch >= 2.9 (no uv, no network)

Reads top to bottom: hyperparameters, model, optimizer, then main(): setup, training loop, summary.
The device choice, the data (prepared beforehand by prepare.py), the time budget and the metric
live in prepare.py, which stays fixed. On CUDA this is the original autoresearch's recipe: 50.3M
parameters at depth 8, Muon with Polar Express, NorMuon and cautious weight decay, a bf16 residual
stream and the loss inside the compiled graph; sliding-window layers run on FlexAttention.
After the first step (its time includes compilation) and every 10 steps it prints a `step ...`
line; at the end, the summary block that the loop parses.
A NaN or diverging loss prints FAIL and exits 1. A budget of 0 runs no training step: the
summary then scores the untrained model.
The harness may set AUTORESEARCH_TOKEN_BUDGET (train that many tokens instead of for the time budget),
AUTORESEARCH_SEED (overrides SEED) and AUTORESEARCH_MODEL_OUT (the trained model is exported there for
evaluate.py, which scores it; when the harness hides the validation split, no val_bpb is printed).
"""

import gc
import math
import os
import platform
import random
import resource
import sys
import time

t_start = time.time()
if not (os.environ.get("PYTORCH_CUDA_ALLOC_CONF") or os.environ.get("PYTORCH_ALLOC_CONF")):
    # Before torch starts CUDA: growable segments instead of fixed blocks, so activations whose sizes
    # vary (training, then evaluation) do not fragment the GPU memory.
    os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

import prepare

# ---------------------------------------------------------------------------
# Hyperparameters: the cuda preset, the original autoresearch's (50.3M parameters at depth 8). On a
# cpu, main() scales the same values down to a tiny preset (~1.8M parameters), so every knob matters on both.

DEPTH = 8  # transformer layers; one knob: the width follows as DEPTH * ASPECT_RATIO (rounded up to whole heads)
ASPECT_RATIO = 64  # model width per layer (8 * 64 = 512 channels)
HEAD_DIM = 128  # channels per attention head
KV_HEAD_RATIO = 1  # query heads per key/value head: 1 = multi-head attention, 2+ = grouped-query attention
WINDOW_PATTERN = "SSSL"  # per layer, cycled: S = sliding window, L = full context; the last layer is always L
SHORT_WINDOW_RATIO = 0.5  # fraction of the context an S layer sees
VE_GATE_CHANNELS = 32  # input channels of the per-head gate on the value-residual embeddings
LOGIT_SOFTCAP = 15.0  # logits = cap * tanh(logits / cap), bounds them early in training
ROPE_BASE = 10000.0  # rotary embedding base frequency
X0_INIT = 0.1  # initial weight of the embedding (x0) mixed back into every layer's input
TOTAL_BATCH_TOKENS = 524288  # tokens per optimizer step (gradient accumulation makes up the rest)
DEVICE_BATCH_SIZE = 128  # rows per forward/backward pass (about 45 GB on the GPU at depth 8; halve it if memory is short)
MATRIX_LR = 0.04  # Muon learning rate for the 2-D weights inside the blocks
EMBEDDING_LR = 0.6  # AdamW, token and value embeddings (times (width/768)^-0.5)
UNEMBEDDING_LR = 0.004  # AdamW, output head (times (width/768)^-0.5)
RESID_SCALAR_LR = 0.005  # AdamW, the per-layer residual scalars
X0_SCALAR_LR = 0.5  # AdamW, the per-layer x0 scalars
ADAM_BETAS = (0.8, 0.95)  # AdamW moment decays
X0_ADAM_BETAS = (0.96, 0.95)  # AdamW moment decays of the x0 scalars (a slower first moment)
ADAM_EPS = 1e-10  # AdamW denominator floor
WEIGHT_DECAY = 0.2  # Muon's cautious weight decay (times the LR); fades out with the schedule
MUON_MOMENTUM = (0.85, 0.95)  # Muon's Nesterov momentum, warmed up linearly from the first to the second value ...
MUON_MOMENTUM_WARMUP_STEPS = 300  # ... over this many steps
MUON_BETA2 = 0.95  # NorMuon's decay of the per-row second moment of the update
WARMUP_RATIO = 0.0  # fraction of the budget spent warming the LR up from 0
WARMDOWN_RATIO = 0.5  # fraction of the budget, at the end, spent decaying the LR linearly
FINAL_LR_FRAC = 0.0  # LR multiplier reached at the end of the warmdown
GC_EVERY = 5000  # steps between Python garbage collections once the collector is off
SEED = 42  # torch random seed

# ---------------------------------------------------------------------------
# Model: decoder-only transformer. RMSNorm, RoPE, attention with QK-norm, value-residual embeddings
# on alternate layers, sliding-window attention, ReLU^2 MLP, logit soft-cap.


def rms_norm(x):
    return F.rms_norm(x, (x.size(-1),))


def rotary_tables(seq_len, head_dim, dtype):
    """cos, sin of shape (1, T, 1, head_dim / 2) (RoFormer, Su et al. 2021)."""
    inv_freq = ROPE_BASE ** -(torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return angles.cos()[None, :, None, :].to(dtype), angles.sin()[None, :, None, :].to(dtype)


def apply_rotary(x, cos, sin):  # x: (B, T, H, D)
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).type_as(x)


def window_mask(seq_len, window, device):
    """(T, T) bool, True where query i may attend key j: causal and i - j < window."""
    i = torch.arange(seq_len, device=device)[:, None]
    j = torch.arange(seq_len, device=device)[None, :]
    return (j <= i) & (i - j < window)


def sliding_window_block_mask(seq_len, window, device):
    """The same mask for FlexAttention: its kernel skips the 128 x 128 blocks that are wholly masked,
    so a half-context S layer costs about half an L layer instead of a full one."""
    def visible(batch, head, q, kv):
        return (kv <= q) & (q - kv < window)
    return create_block_mask(visible, B=None, H=None, Q_LEN=seq_len, KV_LEN=seq_len, device=device)


def attend(q, k, v, window, block_mask):  # q, k, v: (B, H, T, D)
    """Causal attention over the last `window` keys. Full context: SDPA's causal kernel (flash on
    CUDA). A sliding window: FlexAttention when a block mask is given (CUDA), else SDPA with the
    dense boolean mask, which is correct but computes the full square (the cpu preset)."""
    T = q.size(-2)
    if window >= T:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    if block_mask is not None:
        return flex_attention(q, k, v, block_mask=block_mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=window_mask(T, window, q.device))


def has_value_embed(layer, depth):
    """Alternate layers, always including the last one."""
    return layer % 2 == (depth - 1) % 2


class Attention(nn.Module):
    def __init__(self, width, head_dim, n_head, n_kv_head, value_embed):
        super().__init__()
        self.head_dim, self.n_head, self.n_kv_head = head_dim, n_head, n_kv_head
        self.q = nn.Linear(width, n_head * head_dim, bias=False)
        self.k = nn.Linear(width, n_kv_head * head_dim, bias=False)
        self.v = nn.Linear(width, n_kv_head * head_dim, bias=False)
        self.out = nn.Linear(n_head * head_dim, width, bias=False)
        self.ve_gate = nn.Linear(VE_GATE_CHANNELS, n_kv_head, bias=False) if value_embed else None

    def forward(self, x, ve, cos, sin, window, block_mask):  # x: (B, T, C)
        B, T, _ = x.shape
        q = self.q(x).view(B, T, self.n_head, self.head_dim)
        k = self.k(x).view(B, T, self.n_kv_head, self.head_dim)
        v = self.v(x).view(B, T, self.n_kv_head, self.head_dim)
        if ve is not None:  # value residual: a per-token embedding mixed into v, gated per head in (0, 2)
            gate = 2 * torch.sigmoid(self.ve_gate(x[..., :VE_GATE_CHANNELS]))  # (B, T, n_kv_head)
            v = v + (gate.unsqueeze(-1) * ve.view_as(v)).type_as(v)
        q, k = (rms_norm(apply_rotary(t, cos, sin)).type_as(v) for t in (q, k))  # QK-norm; one dtype for the kernels
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        if self.n_head > self.n_kv_head:  # grouped-query: each k/v head serves n_head / n_kv_head query heads
            k, v = (t.repeat_interleave(self.n_head // self.n_kv_head, dim=1) for t in (k, v))
        y = attend(q, k, v, window, block_mask)
        return self.out(y.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.up = nn.Linear(width, 4 * width, bias=False)
        self.out = nn.Linear(4 * width, width, bias=False)

    def forward(self, x):
        return self.out(F.relu(self.up(x)).square())  # ReLU^2 (Primer, So et al. 2021)


class Block(nn.Module):
    def __init__(self, width, head_dim, n_head, n_kv_head, value_embed):
        super().__init__()
        self.attn = Attention(width, head_dim, n_head, n_kv_head, value_embed)
        self.mlp = MLP(width)

    def forward(self, x, ve, cos, sin, window, block_mask):
        x = x + self.attn(rms_norm(x), ve, cos, sin, window, block_mask)
        return x + self.mlp(rms_norm(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, seq_len, depth, width, head_dim, kv_head_ratio, embed_dtype=torch.float32):
        super().__init__()
        assert width % (head_dim * kv_head_ratio) == 0 and head_dim % 2 == 0 and VE_GATE_CHANNELS <= width
        assert set(WINDOW_PATTERN) <= {"S", "L"}
        self.head_dim, self.n_head = head_dim, width // head_dim
        n_kv_head = self.n_head // kv_head_ratio
        pattern = [WINDOW_PATTERN[i % len(WINDOW_PATTERN)] for i in range(depth - 1)] + ["L"]
        self.windows = [seq_len if kind == "L" else max(1, int(SHORT_WINDOW_RATIO * seq_len)) for kind in pattern]
        self.block_masks = {}  # (T, window) -> FlexAttention block mask; see use_flex_attention
        self.wte = nn.Embedding(vocab_size, width, dtype=embed_dtype)
        self.value_embeds = nn.ModuleDict({str(i): nn.Embedding(vocab_size, n_kv_head * head_dim, dtype=embed_dtype)
                                           for i in range(depth) if has_value_embed(i, depth)})
        self.blocks = nn.ModuleList(Block(width, head_dim, self.n_head, n_kv_head, has_value_embed(i, depth))
                                    for i in range(depth))
        self.lm_head = nn.Linear(width, vocab_size, bias=False)
        self.resid_lambdas = nn.Parameter(torch.ones(depth))  # per layer: x = r * x + x0_lambda * x0
        self.x0_lambdas = nn.Parameter(torch.zeros(depth))
        cos, sin = rotary_tables(seq_len, head_dim, embed_dtype)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def use_flex_attention(self, seq_len):
        """Sliding-window layers at this sequence length run on FlexAttention (made once, here)."""
        for w in set(self.windows):
            if w < seq_len:
                self.block_masks[(seq_len, w)] = sliding_window_block_mask(seq_len, w, self.cos.device)

    def forward(self, idx, targets=None):  # idx: (B, T) -> logits (B, T, vocab), or the mean loss given targets
        T = idx.size(1)
        cos, sin = self.cos[:, :T], self.sin[:, :T]
        x = x0 = rms_norm(self.wte(idx))  # (B, T, C), in the embeddings' dtype: bf16 on cuda, so is the residual stream
        for i, block in enumerate(self.blocks):
            x = self.resid_lambdas[i] * x + self.x0_lambdas[i] * x0
            ve = self.value_embeds[str(i)](idx) if str(i) in self.value_embeds else None
            window = self.windows[i]
            x = block(x, ve, cos, sin, window, self.block_masks.get((T, window)))
        logits = self.lm_head(rms_norm(x)).float()
        logits = LOGIT_SOFTCAP * torch.tanh(logits / LOGIT_SOFTCAP)
        if targets is None:
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))  # in the compiled graph


@torch.no_grad()
def init_weights(model):
    """Inputs uniform with std width^-0.5; output projections zero, so every block starts as the
    identity; the head nearly zero, so the first logits are nearly uniform."""
    bound = 3**0.5 * model.wte.weight.size(1) ** -0.5
    for name, p in model.named_parameters():
        if name.startswith("wte"):
            p.normal_(0, 1)
        elif name.startswith("lm_head"):
            p.normal_(0, 0.001)
        elif name.endswith("out.weight") or "ve_gate" in name:
            p.zero_()  # ve_gate: 2 * sigmoid(0) = 1, a neutral gate
        elif name == "resid_lambdas":
            p.fill_(1.0)
        elif name == "x0_lambdas":
            p.fill_(X0_INIT)
        else:  # q, k, v, mlp.up, value embeddings
            p.uniform_(-bound, bound)


def flops_per_token(model, seq_len):
    """Forward + backward FLOPs per token: 6 per matmul weight (embedding lookups and the scalars
    are free) plus attention, 12 * heads * head_dim * keys seen per layer (the usual estimate)."""
    free = model.wte.weight.numel() + sum(e.weight.numel() for e in model.value_embeds.values())
    free += model.resid_lambdas.numel() + model.x0_lambdas.numel()
    matmul = sum(p.numel() for p in model.parameters()) - free
    attention = sum(12 * model.n_head * model.head_dim * min(w, seq_len) for w in model.windows)
    return 6 * matmul + attention

# ---------------------------------------------------------------------------
# Optimizer: Muon for the 2-D matrices inside the blocks, AdamW for the rest.

# Polar Express (Amsel et al. 2025): per-iteration (a, b, c) of X <- a X + b (X X^T) X + c (X X^T)^2 X,
# each step tuned so that after 5 steps in bf16 every singular value lies close to 1.
POLAR_EXPRESS = [
    (8.156554524902461, -22.48329292557795, 15.878769915207462),
    (4.042929935166739, -2.808917465908714, 0.5000178451051316),
    (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
    (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
    (2.3465413258596377, -1.7097828382687081, 0.42323551169305323),
]


def orthogonalise(G):  # G: (N, rows, cols) -> about U V^T of each G = U S V^T
    """Muon's orthogonalised update (Jordan et al. 2024) by the Polar Express iteration; bf16 on
    cuda (tensor cores), fp32 on cpu."""
    X = G.bfloat16() if G.is_cuda else G.float()
    X = X / (X.norm(dim=(-2, -1), keepdim=True) * 1.02 + 1e-6)  # all singular values below 1, with margin
    tall = X.size(-2) > X.size(-1)
    if tall:
        X = X.mT  # iterate on the smaller Gram matrix
    for a, b, c in POLAR_EXPRESS:
        A = X @ X.mT
        X = a * X + (b * A + c * A @ A) @ X
    return X.mT if tall else X


def muon_update(grads, weights, momentum_buffer, second_moment, momentum, lr, weight_decay, beta2):
    """One Muon step for N stacked matrices of one shape (N, rows, cols), in place on the weights and
    buffers. The hyperparameters are 0-d tensors, so new values do not recompile it."""
    momentum_buffer.lerp_(grads, 1 - momentum)
    update = orthogonalise(grads.lerp_(momentum_buffer, momentum))  # Nesterov: the gradient pushed along the momentum
    # NorMuon (Li et al. 2025): divide each row (each column when the matrix is wide) by the running
    # RMS of its updates, then restore the update's overall norm: only the balance between rows changes.
    reduce_dim = -1 if update.size(-2) >= update.size(-1) else -2
    squares = update.float().square()
    second_moment.lerp_(squares.mean(dim=reduce_dim, keepdim=True), 1 - beta2)
    scale = second_moment.clamp_min(1e-10).rsqrt()
    norm = squares.sum(dim=(-2, -1), keepdim=True).sqrt()
    scaled_norm = (squares * scale.square()).sum(dim=(-2, -1), keepdim=True).sqrt()
    update = update * (scale * norm / scaled_norm.clamp_min(1e-10)).to(update.dtype)
    # Cautious weight decay: decay only the weights that the update moves the same way
    agree = (update * weights) >= 0
    weights.sub_(lr * update + lr * weight_decay * weights * agree)


class Muon(torch.optim.Optimizer):
    """Muon with Polar Express and NorMuon. Matrices of one shape form one group and are updated as
    one stacked batch: one (compiled, on cuda) call per shape instead of one per matrix."""

    def __init__(self, params, lr, momentum, beta2, weight_decay):
        shapes = sorted({tuple(p.shape) for p in params})
        groups = [dict(params=[p for p in params if tuple(p.shape) == shape]) for shape in shapes]
        super().__init__(groups, dict(lr=lr, momentum=momentum, beta2=beta2, weight_decay=weight_decay))
        self.update = torch.compile(muon_update, dynamic=False, fullgraph=True) if params[0].is_cuda else muon_update
        self.hyper = {name: torch.tensor(0.0) for name in ("momentum", "lr", "weight_decay", "beta2")}

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            params = group["params"]
            n, (rows, cols) = len(params), params[0].shape
            state = self.state[params[0]]  # the group's stacked buffers live with its first matrix
            if not state:
                state["momentum"] = torch.zeros(n, rows, cols, device=params[0].device)
                moment_shape = (n, rows, 1) if rows >= cols else (n, 1, cols)
                state["second_moment"] = torch.zeros(moment_shape, device=params[0].device)
            for name in ("momentum", "weight_decay", "beta2"):
                self.hyper[name].fill_(group[name])
            self.hyper["lr"].fill_(group["lr"] * max(1, rows / cols) ** 0.5)  # tall matrices: same RMS change per entry
            weights = torch.stack(params)
            self.update(torch.stack([p.grad for p in params]), weights, state["momentum"], state["second_moment"],
                        **self.hyper)
            torch._foreach_copy_(params, list(weights.unbind(0)))


def make_optimizers(model):
    """AdamW for the head, the embeddings (LRs times (width/768)^-0.5, as tuned at width 768) and
    the scalars; Muon for every matrix inside the blocks."""
    scale = (model.wte.weight.size(1) / 768) ** -0.5
    embeddings = [model.wte.weight] + [e.weight for e in model.value_embeds.values()]
    matrices = list(model.blocks.parameters())
    groups = [dict(params=[model.lm_head.weight], lr=UNEMBEDDING_LR * scale),
              dict(params=embeddings, lr=EMBEDDING_LR * scale),
              dict(params=[model.resid_lambdas], lr=RESID_SCALAR_LR),
              dict(params=[model.x0_lambdas], lr=X0_SCALAR_LR, betas=X0_ADAM_BETAS)]
    assert sum(len(g["params"]) for g in groups) + len(matrices) == len(list(model.parameters()))
    assert all(p.dim() == 2 for p in matrices)
    adamw = torch.optim.AdamW(groups, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0.0,
                              fused=model.lm_head.weight.is_cuda)
    muon = Muon(matrices, lr=MATRIX_LR, momentum=MUON_MOMENTUM[0], beta2=MUON_BETA2, weight_decay=WEIGHT_DECAY)
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


def set_schedule(adamw, muon, progress, step):
    for opt in (adamw, muon):
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] * lr_multiplier(progress)
    start, end = MUON_MOMENTUM
    for group in muon.param_groups:
        group["momentum"] = start + (end - start) * min(step / MUON_MOMENTUM_WARMUP_STEPS, 1)
        group["weight_decay"] = WEIGHT_DECAY * (1 - progress)

# ---------------------------------------------------------------------------
# Setup, training loop, evaluation and summary


def main():
    device = torch.device(prepare.device_type())  # exits with the reason when a GPU is present but unusable
    depth, aspect_ratio, head_dim = DEPTH, ASPECT_RATIO, HEAD_DIM
    batch_tokens, device_batch = TOTAL_BATCH_TOKENS, DEVICE_BATCH_SIZE
    if device.type == "cpu":  # the cpu preset: 4 layers, 128 wide, 4 heads of 32, 2048 tokens per step (8 rows x 256)
        depth, aspect_ratio, head_dim = max(1, depth // 2), max(1, aspect_ratio // 2), max(2, head_dim // 4)
        batch_tokens, device_batch = batch_tokens // 256, max(1, device_batch // 16)
    cuda = device.type == "cuda"
    seed = prepare.seed(SEED)
    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_float32_matmul_precision("high")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)

    data = prepare.load_data(device.type)
    seq_len, vocab_size = data.settings.seq_len, data.settings.vocab_size
    head_group = head_dim * KV_HEAD_RATIO  # the width is rounded up to whole groups of query heads
    width = -(-depth * aspect_ratio // head_group) * head_group
    grad_accum = max(1, round(batch_tokens / (device_batch * seq_len)))
    step_tokens = grad_accum * device_batch * seq_len  # batch_tokens, rounded to whole passes

    with torch.device(device):
        model = GPT(vocab_size, seq_len, depth, width, head_dim, KV_HEAD_RATIO,
                    embed_dtype=torch.bfloat16 if cuda else torch.float32)
    init_weights(model)
    if cuda:
        model.use_flex_attention(seq_len)
    adamw, muon = make_optimizers(model)
    num_params = sum(p.numel() for p in model.parameters())
    token_flops = flops_per_token(model, seq_len)
    peak_flops = prepare.gpu_peak_flops(torch.cuda.get_device_name()) if cuda else 0.0
    compiled = torch.compile(model, dynamic=False) if cuda else model  # on cpu compiling costs more than it saves
    budget, token_budget = prepare.time_budget(), prepare.token_budget()
    if cuda:
        free, total = torch.cuda.mem_get_info()
        where = f"cuda ({torch.cuda.get_device_name()}, {free / 2**30:.0f} of {total / 2**30:.0f} GiB free)"
    else:
        where = "cpu"
    print(f"config: device {where} | depth {depth} width {width} heads {model.n_head}/{model.n_head // KV_HEAD_RATIO} kv "
          f"| windows {model.windows} | vocab {vocab_size} seq {seq_len} | params {num_params / 1e6:.2f}M "
          f"| batch {step_tokens} tokens = {device_batch} rows x {grad_accum} accum | budget "
          f"{f'{token_budget:,} tokens' if token_budget else f'{budget:.0f}s'}", flush=True)

    # Training loop: runs until the timed steps have used the budget (the first untimed_steps steps,
    # compilation and warm-up, are not counted), or, with a token budget, until that many tokens were
    # trained on (every step counted). Schedules follow the share of the budget used.
    batches = prepare.train_batches(data, device_batch, device)
    x, y = next(batches)
    step, training_seconds, timed_tokens = 0, 0.0, 0

    def progress():
        if token_budget:
            return step * step_tokens / token_budget
        return training_seconds / budget if budget > 0 else 1.0  # a budget of 0 scores the untrained model

    try:
        while progress() < 1:
            t0 = time.time()
            for _ in range(grad_accum):
                with autocast:
                    loss = compiled(x, y)
                (loss / grad_accum).backward()
                x, y = next(batches)  # the next batch loads while the device works
            set_schedule(adamw, muon, progress(), step)
            adamw.step()
            muon.step()
            model.zero_grad(set_to_none=True)
            loss_value = loss.item()  # the one host sync per step
            if not math.isfinite(loss_value) or loss_value > 2 * math.log(vocab_size):
                print(f"step {step:05d} | loss {loss_value} | diverged\nFAIL", flush=True)
                sys.exit(1)
            dt = time.time() - t0
            step += 1
            if step == 1:  # what lives on (model, compiled graphs) is frozen out of the collector, which
                gc.collect()  # would otherwise pause training for up to half a second to scan it
                gc.freeze()
                gc.disable()
            elif step % GC_EVERY == 0:
                gc.collect()
            if step > data.settings.untimed_steps:
                training_seconds += dt
                timed_tokens += step_tokens
            if step == 1 or step % 10 == 0:  # step 1's dt includes compilation
                print(f"step {step:05d} | loss {loss_value:.4f} | lr x{lr_multiplier(min(progress(), 1)):.2f} "
                      f"| dt {dt * 1000:.0f}ms | tok/s {step_tokens / dt:,.0f} "
                      f"| elapsed {training_seconds:.1f}s | progress {100 * progress():.1f}%", flush=True)
        if training_seconds:
            print(f"train: {step} steps | {timed_tokens / training_seconds:,.0f} tok/s over the timed steps", flush=True)
        val_bpb = None  # hidden validation split: the harness scores the exported model
        if not prepare.validation_hidden(data):
            with autocast:
                val_bpb = prepare.evaluate_bpb(compiled, data, device_batch, device)
        prepare.export_model(model, data, device, autocast_dtype=torch.bfloat16 if cuda else None)
    except torch.OutOfMemoryError as err:
        free, total = torch.cuda.mem_get_info()
        print(f"out of memory at step {step}: {str(err).splitlines()[0]}\nGPU: {free / 2**30:.1f} GiB free of "
              f"{total / 2**30:.1f} GiB (another process on it?); try a smaller DEVICE_BATCH_SIZE\nFAIL", flush=True)
        sys.exit(1)
    finally:  # hand the frozen objects back, so that the interpreter frees them at exit
        gc.unfreeze()
        gc.enable()

    if val_bpb is not None and not math.isfinite(val_bpb):
        print(f"val_bpb {val_bpb}\nFAIL", flush=True)
        sys.exit(1)
    if cuda:
        peak_memory_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    mfu = 100 * token_flops * timed_tokens / training_seconds / peak_flops if peak_flops and training_seconds else 0.0
    summary = {
        **({"val_bpb": f"{val_bpb:.6f}"} if val_bpb is not None else {}),
        "training_seconds": f"{training_seconds:.1f}",
        "total_seconds": f"{time.time() - t_start:.1f}",
        "peak_vram_mb": f"{peak_memory_mb:.1f}",
        "mfu_percent": f"{mfu:.2f}",
        "total_tokens_M": f"{step * step_tokens / 1e6:.1f}",
        "num_steps": f"{step}",
        "num_params_M": f"{num_params / 1e6:.1f}",
        "depth": f"{depth}",
        "total_tokens": f"{step * step_tokens}",  # exact: total_tokens_M above rounds to 0.1 M
        "device_name": torch.cuda.get_device_name() if cuda else cpu_model(),  # the lane's machine class
    }
    print("---")
    for key, value in summary.items():
        print(f"{key + ':':<18}{value}")


def cpu_model():
    """The host's CPU model, a CPU lane's machine class (runs on one model compare with each other only)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


if __name__ == "__main__":
    main()
