"""
The harness's own score of a trained model, in a process of its own (part of the fixed harness).

Usage:
    uv run evaluate.py MODEL.pt2     # MODEL.pt2: what train.py exported (prepare.export_model)

It loads the exported graph (torch.export.load) and never imports train.py or anything the agent
can edit: the loop runs it from a copy of the run's base commit (this file and prepare.py only). It
computes the loss from the model's logits itself, bits per byte on the validation split exactly as
prepare.evaluate_bpb does, and checks causality: the logits at position t must not change when the
tokens after t change, nor when the other rows of the batch change. It prints a summary, then one
JSON line (`evaluation-json: {...}`) that the loop reads. Exit 0 when it could score the model (a
failed causality check included: the loop decides), 2 when the model cannot be loaded or run.
"""

import json
import math
import os
import sys
import time

import torch

import prepare

BATCH_SIZE = {"cpu": 32, "cuda": 32}  # validation rows per forward pass
CAUSALITY_ROWS = 4                      # rows of the validation split the causality check perturbs
# Largest change of a logit allowed where it must not change: float32 on cpu is bitwise stable; bf16
# kernels on cuda may pick other tilings for other contents. A model that peeks moves logits by O(1).
CAUSALITY_TOLERANCE = {"cpu": 1e-4, "cuda": 5e-2}


def cuts(seq_len):
    """Positions t after which the causality check replaces every token: early, middle and late."""
    return sorted({1, seq_len // 4, seq_len // 2, seq_len - 2})


@torch.no_grad()
def causality_problem(model, rows, vocab_size, tolerance, generator):
    """(None, largest change) when the model is causal on rows (B, T) within tolerance, else (a sentence
    saying where it is not, largest change). Random replacement tokens: a model cannot know them ahead."""
    x = rows
    base = model(x).float()
    if base.shape != (*x.shape, vocab_size):
        return f"logits have shape {tuple(base.shape)}, expected {(*x.shape, vocab_size)}", math.inf
    worst = (0.0, None)
    for t in cuts(x.size(1)):
        changed = x.clone()
        changed[:, t + 1:] = torch.randint(0, vocab_size, changed[:, t + 1:].shape, generator=generator).to(x.device)
        delta = (model(changed).float()[:, :t + 1] - base[:, :t + 1]).abs().max().item()
        if not delta <= worst[0]:
            worst = (delta, f"the logits up to position {t} changed by {delta:.3g} when the tokens after {t} changed")
    if x.size(0) > 1:  # the other rows of a batch are the future of a row too (rows are consecutive text)
        others = x.clone()
        others[1:] = torch.randint(0, vocab_size, others[1:].shape, generator=generator).to(x.device)
        delta = (model(others).float()[0] - base[0]).abs().max().item()
        if not delta <= worst[0]:
            worst = (delta, f"the logits of a row changed by {delta:.3g} when the other rows of its batch changed")
    return worst[1] if not worst[0] <= tolerance else None, worst[0]


def evaluate(model_path):
    start = time.time()
    device = torch.device(prepare.device_type())
    data = prepare.load_data(device.type)
    if prepare.validation_hidden(data):
        raise SystemExit("evaluate: the validation split is empty here (hidden?): cannot score")
    model = torch.export.load(model_path).module().to(device)
    load_seconds = time.time() - start
    rows = torch.from_numpy(prepare.val_rows(data)).to(device)
    generator = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
    problem, max_change = causality_problem(model, rows[:CAUSALITY_ROWS, :-1], data.settings.vocab_size,
                                            CAUSALITY_TOLERANCE[device.type], generator)
    val_bpb = prepare.evaluate_bpb(model, data, BATCH_SIZE[device.type], device) if problem is None else float("nan")
    return {
        "val_bpb": val_bpb if math.isfinite(val_bpb) else None,
        "causal": problem is None,
        "causality_problem": problem,
        "causality_max_change": max_change,
        "causality_tolerance": CAUSALITY_TOLERANCE[device.type],
        "tokens_evaluated": int(rows[:, 1:].numel()),
        "load_seconds": round(load_seconds, 2),
        "eval_seconds": round(time.time() - start, 2),
        "device": device.type,
    }


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: evaluate.py MODEL.pt2")
    try:
        result = evaluate(sys.argv[1])
    except SystemExit:
        raise
    except Exception as err:  # an unloadable or failing graph: the loop names it in the row
        result = {"error": f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"[:500]}
        print(f"evaluate: {result['error']}", flush=True)
        print("evaluation-json: " + json.dumps(result), flush=True)
        sys.exit(2)
    print("---")
    for key in ("val_bpb", "causal", "tokens_evaluated", "eval_seconds"):
        print(f"{key + ':':<18}{result[key]}")
    if result["causality_problem"]:
        print(f"causality:        {result['causality_problem']}")
    print("evaluation-json: " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
