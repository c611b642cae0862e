"""train.py end to end on the cpu preset: the summary block, and clear learning in ~20 s."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TRAINER = Path(__file__).resolve().parents[1]
CORPUS = TRAINER.parent / ".." / "shared" / "data" / "tinyshakespeare.txt"  # tests may use ../shared
SUMMARY_KEYS = ["val_bpb", "training_seconds", "total_seconds", "peak_vram_mb", "mfu_percent",
                "total_tokens_M", "num_steps", "num_params_M", "depth"]

# With ../shared the corpus is prepared first (the set-up step) and the trainer reads it as the data
# prepared last; a clone on its own trains on the offline default, which the trainer prepares on first use.
ENV = {"AUTORESEARCH_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}  # one thread: steadier on a loaded CI machine
UNSET = ("AUTORESEARCH_DATA", "AUTORESEARCH_VOCAB_SIZE", "AUTORESEARCH_ALLOW_DEMO_DATA")


def run(script, cache, *args, **env):
    environ = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run([sys.executable, script, *args], cwd=TRAINER, capture_output=True, text=True, timeout=300,
                          env=dict(environ, **ENV, AUTORESEARCH_CACHE=str(cache), **env))


def train(budget, cache):
    """Run train.py for a budget; returns (summary dict, stdout)."""
    done = run("train.py", cache, AUTORESEARCH_TIME_BUDGET=str(budget))
    assert done.returncode == 0, done.stdout + done.stderr
    block = done.stdout.split("\n---\n")[-1].strip().splitlines()
    return dict(line.split(":", 1) for line in block), done.stdout


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    if CORPUS.exists():
        done = run("prepare.py", cache, str(CORPUS.resolve()))
        assert done.returncode == 0, done.stdout + done.stderr
    return cache


@pytest.fixture(scope="module")
def untrained(cache):
    return train(0, cache)  # a budget of 0 runs no step: it scores the initial model


def test_untrained_model_prints_the_nine_key_summary(untrained):
    summary, stdout = untrained
    assert list(summary) == SUMMARY_KEYS + ["total_tokens", "device_name"]  # the original's nine first; the exact token count; the device
    assert summary["total_tokens"].strip() == "0"
    assert summary["device_name"].strip()  # the CPU's model here: the lane's machine class
    assert ("data: local: " if CORPUS.exists() else "offline default") in stdout  # it says which data it uses
    assert float(summary["num_steps"]) == 0
    assert all(line.startswith(f"{key}:".ljust(18)) for key, line in zip(SUMMARY_KEYS, stdout.split("\n---\n")[-1].splitlines()))


def test_ten_seconds_of_training_beat_the_untrained_model_clearly(cache, untrained):
    trained, stdout = train(10, cache)
    print(f"untrained {untrained[0]}\ntrained {trained}")
    assert "step 00010 | loss" in stdout
    assert float(trained["training_seconds"]) >= 10
    assert float(trained["val_bpb"]) < 0.8 * float(untrained[0]["val_bpb"])
    assert abs(int(trained["total_tokens"]) / 1e6 - float(trained["total_tokens_M"])) <= 0.05  # the exact count, rounded there
