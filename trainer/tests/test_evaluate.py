"""evaluate.py, the harness's own score: it matches prepare.evaluate_bpb for an honest model, and a
model that sees the future (later tokens of its row, or other rows of its batch) fails its causality check."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import evaluate as harness
import prepare

TRAINER = Path(__file__).resolve().parents[1]
WORDS = "the a cat dog sat ran on under mat log red blue big small and then it was happy sad".split()


class Bigram(torch.nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.table = torch.nn.Embedding(vocab, vocab)

    def forward(self, idx):
        return self.table(idx)


class PeeksAhead(Bigram):
    """Logits at t from the token at t + 1: a cheat."""
    def forward(self, idx):
        return self.table(torch.cat([idx[:, 1:], idx[:, -1:]], dim=1))


class PeeksAcrossRows(Bigram):
    """Row r's logits shifted by the next row's tokens: a cheat across the batch."""
    def forward(self, idx):
        return self.table(idx) + 0.5 * self.table(idx.roll(-1, dims=0))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A small prepared corpus (vocab 300) in a cache of its own, as the environment of a subprocess."""
    root = tmp_path_factory.mktemp("evaluate")
    rng = random.Random(0)
    corpus = root / "corpus.txt"
    corpus.write_text("\n\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) + "."
                                  for _ in range(400)))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AUTORESEARCH_")}
    environ.update(AUTORESEARCH_CACHE=str(root / "cache"), AUTORESEARCH_VOCAB_SIZE="300", AUTORESEARCH_DEVICE="cpu",
                   OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "prepare.py", str(corpus)], cwd=TRAINER, env=environ, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return environ


def data_in(env, monkeypatch):
    for key, value in env.items():
        if key.startswith("AUTORESEARCH_"):
            monkeypatch.setenv(key, value)
    return prepare.load_data("cpu")


def export(model, data, path, monkeypatch):
    monkeypatch.setenv(prepare.MODEL_OUT, str(path))
    torch.manual_seed(0)
    assert prepare.export_model(model, data, torch.device("cpu")) == str(path)


def evaluate_in_process(model_path):
    """The evaluator's own function, in this process (the data settings come from data_in)."""
    return harness.evaluate(str(model_path))


def evaluate(model_path, env):
    done = subprocess.run([sys.executable, "evaluate.py", str(model_path)], cwd=TRAINER, env=env, capture_output=True,
                          text=True, timeout=120)
    line = next(l for l in reversed(done.stdout.splitlines()) if l.startswith("evaluation-json: "))
    return done.returncode, json.loads(line.removeprefix("evaluation-json: "))


def test_an_honest_model_scores_what_prepare_scores(env, tmp_path, monkeypatch):
    data = data_in(env, monkeypatch)
    model = Bigram(data.settings.vocab_size)
    export(model, data, tmp_path / "m.pt2", monkeypatch)
    code, result = evaluate(tmp_path / "m.pt2", env)  # the one run as the loop runs it: a process of its own
    expected = prepare.evaluate_bpb(model, data, 32, torch.device("cpu"))
    assert code == 0 and result["causal"] is True and result["causality_max_change"] == 0
    assert result["val_bpb"] == pytest.approx(expected, rel=1e-6)
    assert result["tokens_evaluated"] == prepare.val_rows(data)[:, 1:].size


@pytest.mark.parametrize("cheat", [PeeksAhead, PeeksAcrossRows])
def test_a_model_that_sees_the_future_fails_the_causality_check(env, tmp_path, monkeypatch, cheat):
    data = data_in(env, monkeypatch)
    export(cheat(data.settings.vocab_size), data, tmp_path / "m.pt2", monkeypatch)
    result = evaluate_in_process(tmp_path / "m.pt2")
    assert result["causal"] is False and result["val_bpb"] is None
    assert "changed" in result["causality_problem"]


def test_a_file_that_is_no_exported_model_is_an_error(env, tmp_path):
    (tmp_path / "m.pt2").write_bytes(b"not a model")
    code, result = evaluate(tmp_path / "m.pt2", env)
    assert code == 2 and result["error"]


def test_a_hidden_validation_split_loads_as_empty(env, monkeypatch):
    data = data_in(env, monkeypatch)
    folder = next(Path(env["AUTORESEARCH_CACHE"]).rglob("val.bin")).parent
    assert prepare.token_stream(folder / "val.bin").size == len(data.val) > 0
    empty = folder.parent / "empty.bin"
    empty.write_bytes(b"")
    assert prepare.token_stream(empty).size == 0
