"""
`npm run bench -- gpu [--budget S] [--original PATH]`: our trainer and, when given, the original
autoresearch's train.py, one after the other on this machine's GPU. Prints for each: tokens/s, MFU,
peak VRAM, steps in the budget, compile time and val_bpb.

    ours      trainer/ with `uv run train.py`, or --ours-cmd (e.g. "python3 train.py" for an installed PyTorch);
              AUTORESEARCH_DEVICE=cuda, so a broken GPU fails with its reason instead of timing the cpu preset.
              It reads the prepared data (prepare the same as the original's: `npm run prepare-data -- climbmix`).
    original  a checkout of karpathy/autoresearch (--original or AUTORESEARCH_ORIGINAL), run unchanged with
              --original-cmd (default `uv run train.py`). It reads its own cache, ~/.cache/autoresearch, and
              its budget is fixed at 300 s by its prepare.py, so compare at --budget 300 (the default).

How the figures are read from each log: tokens/s is the median of the per-step figures after the
untimed warm-up steps; compile time is the first step's time less the median step time; MFU, peak
VRAM, steps, training seconds and val_bpb come from the summary block (the original's MFU assumes
an H100's peak, ours the peak of the GPU it names). Full logs go to .autoresearch/bench/.
Without an NVIDIA GPU it prints why and exits 1: there is nothing to measure.
"""

import argparse
import glob
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARMUP_STEPS = 11  # steps left out of the medians: both trainers compile and warm up in their first ~10
STEP_LINE = re.compile(r"^step (\d+)\b.*?\bdt:? ([\d.]+)ms.*?\btok/s(?:ec)?:? ([\d,]+)")
EXTRA_SECONDS = 900  # allowed past the budget per trainer: start-up, compilation, evaluation


def default_command():
    return "uv run train.py" if shutil.which("uv") else "python3 train.py"


def run(name, command, cwd, env, budget, logs):
    """Run one trainer to completion; returns its log text (also written to logs/<name>.log)."""
    log = logs / f"{name}.log"
    print(f"bench gpu: {name}: `{command}` in {cwd} (log {log})", flush=True)
    start = time.time()
    with open(log, "w") as out:
        try:
            done = subprocess.run(shlex.split(command), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=budget + EXTRA_SECONDS)
            status = f"exit {done.returncode}"
        except subprocess.TimeoutExpired:
            status = "timed out"
        except FileNotFoundError as err:
            out.write(f"{err}\n")
            status = "not found"
    text = log.read_text(errors="replace")
    print(f"bench gpu: {name}: {status} after {time.time() - start:.0f}s", flush=True)
    if "\nval_bpb:" not in text:
        tail = "\n".join(text.replace("\r", "\n").strip().splitlines()[-15:])
        print(f"bench gpu: {name} printed no summary; the end of its log:\n{tail}", flush=True)
    return text


def figures(text):
    """The figures of one log: a dict of strings, '-' where the log does not have them."""
    summary = dict(re.findall(r"^(\w+):\s+(\S+)\s*$", text.split("\n---\n")[-1], re.M)) if "\n---\n" in text else {}
    steps = [(int(m[1]), float(m[2]), int(m[3].replace(",", "")))
             for line in text.replace("\r", "\n").splitlines() if (m := STEP_LINE.match(line.strip()))]
    steady = [s for s in steps if s[0] > WARMUP_STEPS]
    row = {key: "-" for key in ("tokens/s", "MFU %", "peak VRAM GB", "steps", "training s", "compile s", "val_bpb")}
    if steady:
        row["tokens/s"] = f"{statistics.median(s[2] for s in steady):,.0f}"
        row["compile s"] = f"{(steps[0][1] - statistics.median(s[1] for s in steady)) / 1000:.1f}"
    if summary:
        row["MFU %"] = summary.get("mfu_percent", "-")
        row["peak VRAM GB"] = f"{float(summary['peak_vram_mb']) / 1024:.1f}" if "peak_vram_mb" in summary else "-"
        row["steps"] = summary.get("num_steps", "-")
        row["training s"] = summary.get("training_seconds", "-")
        row["val_bpb"] = summary.get("val_bpb", "-")
    return row


def table(rows):
    columns = list(next(iter(rows.values())))
    widths = {c: max(len(c), *(len(r[c]) for r in rows.values())) for c in columns}
    lines = ["".ljust(10) + "  ".join(c.rjust(widths[c]) for c in columns)]
    lines += [name.ljust(10) + "  ".join(r[c].rjust(widths[c]) for c in columns) for name, r in rows.items()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description="GPU throughput of our trainer and the original's train.py.")
    parser.add_argument("--budget", type=float, default=300, help="training seconds for our trainer (default 300)")
    parser.add_argument("--original", default=os.environ.get("AUTORESEARCH_ORIGINAL"),
                        help="a checkout of karpathy/autoresearch (default: AUTORESEARCH_ORIGINAL; none: ours only)")
    parser.add_argument("--ours-cmd", default=None, help="our trainer's command in trainer/ (default: uv run train.py)")
    parser.add_argument("--original-cmd", default=None, help="the original's command in its checkout (default: uv run train.py)")
    args = parser.parse_args()

    if not glob.glob("/dev/nvidia[0-9]*"):
        print("bench gpu: no NVIDIA GPU on this machine (no /dev/nvidia*), so nothing to measure. "
              "For CPU figures: npm run bench -- trainer", file=sys.stderr)
        sys.exit(1)
    original = Path(args.original).expanduser().resolve() if args.original else None
    if original and not (original / "train.py").exists():
        sys.exit(f"bench gpu: {original}/train.py does not exist: --original takes a checkout of the original")
    logs = ROOT / ".autoresearch" / "bench" / f"gpu-{time.strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir(parents=True)

    env = dict(os.environ, AUTORESEARCH_TIME_BUDGET=f"{args.budget:g}", AUTORESEARCH_DEVICE="cuda", PYTHONUNBUFFERED="1")
    texts = {"ours": run("ours", args.ours_cmd or default_command(), ROOT / "trainer", env, args.budget, logs)}
    if original:
        if args.budget != 300:
            print("bench gpu: note: the original trains for the 300 s its prepare.py fixes, whatever --budget says")
        texts["original"] = run("original", args.original_cmd or default_command(), original,
                                dict(os.environ, PYTHONUNBUFFERED="1"), 300, logs)

    gpu = re.search(r"^config: device cuda \(([^,)]+)", texts["ours"], re.M)
    data = re.search(r"^data: (.+?) \|", texts["ours"], re.M)
    print(f"\nbench gpu: {gpu[1] if gpu else 'GPU unknown'} | our data: {data[1] if data else 'unknown'} | "
          f"budget {args.budget:g}s | logs {logs}")
    print(table({name: figures(text) for name, text in texts.items()}))
    if not original:
        print("(the original was not run: pass --original PATH or set AUTORESEARCH_ORIGINAL)")


if __name__ == "__main__":
    main()
