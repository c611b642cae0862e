"""evaluate.py, the harness's own score: it matches prepare.evaluate_bpb for an honest model; a model
that sees the future (later tokens of its row at any position, or other rows of its batch) fails its
causality check; an archive that could run code or keep state when loaded is refused unrun."""

import io
import json
import os
import random
import subprocess
import sys
import zipfile
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


class PeeksAlternate(Bigram):
    """Peeks at the next token at every odd position but 1: none of the positions a 4-cut check probed."""
    def forward(self, idx):
        t = torch.arange(idx.size(1))
        ahead = torch.cat([idx[:, 1:], idx[:, -1:]], dim=1)
        return self.table(torch.where((t % 2 == 1) & (t > 1), ahead, idx))


class PeeksTwoAheadOnce(Bigram):
    """Peeks at the token two ahead, at one late position only."""
    def forward(self, idx):
        t = torch.arange(idx.size(1))
        ahead = torch.cat([idx[:, 2:], idx[:, -2:]], dim=1)
        return self.table(torch.where(t == 200, ahead, idx))


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
    assert result["positions_checked"] == data.settings.seq_len - 1


@pytest.mark.parametrize("cheat", [PeeksAhead, PeeksAlternate, PeeksTwoAheadOnce, PeeksAcrossRows])
def test_a_model_that_sees_the_future_fails_the_causality_check(env, tmp_path, monkeypatch, cheat):
    data = data_in(env, monkeypatch)
    export(cheat(data.settings.vocab_size), data, tmp_path / "m.pt2", monkeypatch)
    result = evaluate_in_process(tmp_path / "m.pt2")
    assert result["causal"] is False and result["val_bpb"] is None
    assert "changed" in result["causality_problem"]
    if cheat is not PeeksAcrossRows:
        assert result["causality_problem"].startswith("the logits up to position ")


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


# ---------------------------------------------------------------------------
# Archives that could run code or keep state: refused before anything of them runs


class Payload:
    """Unpickling it writes the marker file (an attacker's code would patch the scoring instead)."""
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def pickled(marker):
    buffer = io.BytesIO()
    torch.save(Payload(marker), buffer)
    return buffer.getvalue()


def rewrite(path, edit):
    """Rewrites the archive at path: edit(files) changes the dict {name: bytes} in place."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    edit(files)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)


def one(files, suffix):
    return next(name for name in files if name.endswith(suffix))


def pickle_a_payload(config_suffix, marker, path_name=None):
    def edit(files):
        config_name = one(files, config_suffix)
        config = json.loads(files[config_name])
        fqn, meta = next(iter(config["config"].items()))
        meta["use_pickle"] = True
        if path_name:
            meta["path_name"] = path_name
        folder = config_name.rsplit("/", 1)[0]
        files[f"{folder}/{meta['path_name']}"] = pickled(marker)
        files[config_name] = json.dumps(config).encode()
    return edit


class WithConstant(Bigram):
    def __init__(self, vocab):
        super().__init__(vocab)
        self.register_buffer("shift", torch.zeros(vocab), persistent=False)  # saved as a constant

    def forward(self, idx):
        return self.table(idx) + self.shift


def edit_sample_inputs(marker):
    def edit(files):
        files[one(files, "sample_inputs/model.pt")] = pickled(marker)
    return edit


def edit_target(target):
    def edit(files):
        name = one(files, "models/model.json")
        program = json.loads(files[name])
        program["graph_module"]["graph"]["nodes"][-1]["target"] = target
        files[name] = json.dumps(program).encode()
    return edit


def edit_signature(files):
    name = one(files, "models/model.json")
    program = json.loads(files[name])
    program["graph_module"]["signature"]["output_specs"].append(
        {"buffer_mutation": {"arg": {"name": "table"}, "buffer_name": "table.weight"}})
    files[name] = json.dumps(program).encode()


@pytest.mark.parametrize("case, model, edit, reason", [
    ("pickled weight", Bigram, lambda m: pickle_a_payload("model_weights_config.json", m), "pickle"),
    ("pickled constant", WithConstant, lambda m: pickle_a_payload("model_constants_config.json", m), "pickle"),
    ("custom object", WithConstant,
     lambda m: pickle_a_payload("model_constants_config.json", m, path_name="custom_obj_0"), "custom_obj_0"),
    ("example inputs", Bigram, edit_sample_inputs, "example inputs"),
    ("an op from elsewhere", Bigram, lambda m: edit_target("torch.save"), "not an op of aten/prims"),
    ("an in-place op", Bigram, lambda m: edit_target("torch.ops.aten.add_.Tensor"), "writes to its input"),
    ("a mutated buffer", Bigram, lambda m: edit_signature, "buffer_mutation output"),
    ("a file-reading op", Bigram, lambda m: edit_target("torch.ops.aten.from_file.default"), "does not run"),
])
def test_an_archive_that_could_run_code_is_refused_unrun(env, tmp_path, monkeypatch, case, model, edit, reason):
    data = data_in(env, monkeypatch)
    export(model(data.settings.vocab_size), data, tmp_path / "m.pt2", monkeypatch)
    marker = tmp_path / "payload-ran"
    rewrite(tmp_path / "m.pt2", edit(marker))
    code, result = evaluate(tmp_path / "m.pt2", env)
    assert code == 2 and result["error"].startswith("refused: ") and reason in result["error"], result
    assert not marker.exists()


@torch.library.custom_op("evaluate_test::shift", mutates_args=())
def custom_shift(x: torch.Tensor) -> torch.Tensor:
    return x + 1


@custom_shift.register_fake
def _(x):
    return torch.empty_like(x)


class CustomOp(Bigram):
    def forward(self, idx):
        return custom_shift(self.table(idx))


class Stateful(Bigram):
    """Remembers the last batch it saw in a buffer: could tell a causality probe from its base row."""
    def __init__(self, vocab):
        super().__init__(vocab)
        self.register_buffer("last", torch.zeros(256, dtype=torch.long))

    def forward(self, idx):
        self.last.copy_(idx[0])
        return self.table(idx)


@pytest.mark.parametrize("cheat, reason", [(CustomOp, "a custom op"), (Stateful, "a stateful graph")])
def test_a_custom_op_or_a_stateful_graph_is_refused(env, tmp_path, monkeypatch, cheat, reason):
    data = data_in(env, monkeypatch)
    export(cheat(data.settings.vocab_size), data, tmp_path / "m.pt2", monkeypatch)
    code, result = evaluate(tmp_path / "m.pt2", env)
    assert code == 2 and result["error"].startswith("refused: ") and reason in result["error"], result


def test_an_autocast_region_runs_as_torch_runs_it(env, tmp_path, monkeypatch):
    """The CUDA export holds its autocast region as a higher-order op with a subgraph: the harness runs it."""
    data = data_in(env, monkeypatch)
    model = torch.nn.Sequential(torch.nn.Embedding(data.settings.vocab_size, 32),
                                torch.nn.Linear(32, data.settings.vocab_size))
    monkeypatch.setenv(prepare.MODEL_OUT, str(tmp_path / "m.pt2"))
    prepare.export_model(model, data, torch.device("cpu"), autocast_dtype=torch.bfloat16)
    rows = torch.from_numpy(prepare.val_rows(data))[:4, :-1]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = model(rows).float()
    assert torch.equal(harness.load_model(tmp_path / "m.pt2", torch.device("cpu"))(rows), expected)
