"""Data preparation is a set-up step: prepare.py builds a cache that the trainer reads; the trainer
itself prepares only the offline demo, and on CUDA refuses the demo unless told to."""

import random
import sys

import numpy as np
import pytest
import torch

import prepare

WORDS = "the a cat dog sat ran on under mat log red blue big small and then it was happy sad".split()


def documents(count, seed=0):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) + "." for _ in range(count)]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache and none of the trainer's settings from the caller's environment."""
    monkeypatch.setenv("AUTORESEARCH_CACHE", str(tmp_path / "cache"))
    for name in ("AUTORESEARCH_DATA", "AUTORESEARCH_ALLOW_DEMO_DATA", "AUTORESEARCH_DEVICE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTORESEARCH_VOCAB_SIZE", "300")  # a small BPE trains in well under a second
    return tmp_path / "cache"


@pytest.fixture
def small_demo(monkeypatch):
    """A small stand-in for the stdlib sources (same key prefix), so preparing the demo is quick."""
    load = lambda: prepare.pinned_split(documents(600, seed=1))
    monkeypatch.setattr(prepare, "stdlib_source", lambda: prepare.in_memory("stdlib-test", "offline default (test)", load))


def test_prepare_py_builds_a_cache_that_the_trainer_reads(cache, tmp_path, monkeypatch):
    docs = documents(200)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(docs))
    monkeypatch.setattr(sys, "argv", ["prepare.py", str(corpus), "--device", "cpu"])
    prepare.main()
    data = prepare.load_data("cpu")  # AUTORESEARCH_DATA unset: the source prepared last
    assert data.description == f"local: {corpus} (1 files)"
    assert len(data.token_bytes) == 300 and data.token_bytes[data.bos_id] == 0
    folder = next(cache.rglob("meta.json")).parent
    tokenizer = prepare.load_tokenizer(folder / "tokenizer.json")
    for stream, first_doc in ((data.train, docs[0]), (data.val, docs[9])):  # document 9 is the first in val
        ids = np.asarray(stream).tolist()
        assert ids[0] == data.bos_id
        first = ids[1:ids.index(data.bos_id, 1)]
        assert tokenizer.decode(first) == first_doc
        assert sum(data.token_bytes[i] for i in first) == len(first_doc.encode())
    x, y = next(prepare.train_batches(data, batch_size=2, device=torch.device("cpu")))
    assert x.shape == y.shape == (2, data.settings.seq_len)


def test_a_source_that_is_not_prepared_ends_the_run_naming_the_command(cache, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(documents(50)))
    monkeypatch.setenv("AUTORESEARCH_DATA", str(corpus))
    with pytest.raises(SystemExit) as exit:
        prepare.load_data("cpu")
    assert "is not prepared" in str(exit.value) and f"npm run prepare-data -- {corpus}" in str(exit.value)
    assert not list(cache.rglob("meta.json"))


def test_cpu_prepares_the_demo_on_first_use(cache, small_demo):
    data = prepare.load_data("cpu")
    assert data.description == "offline default (test)" and len(data.val) > data.settings.seq_len


def test_cuda_refuses_the_demo_data_unless_told_to(cache, small_demo, monkeypatch):
    with pytest.raises(SystemExit) as exit:
        prepare.load_data("cuda")
    message = str(exit.value)
    assert "only a CPU demo" in message and "npm run prepare-data -- climbmix" in message
    assert "AUTORESEARCH_ALLOW_DEMO_DATA=1" in message
    assert not list(cache.rglob("meta.json"))  # refused before preparing anything
    monkeypatch.setenv("AUTORESEARCH_ALLOW_DEMO_DATA", "1")
    assert prepare.load_data("cuda").settings.seq_len == 2048


def test_climbmix_shards_in_the_originals_layout_are_prepared_and_read(cache, monkeypatch):
    pa = pytest.importorskip("pyarrow")  # only the climbmix dependency group has it
    import pyarrow.parquet as pq
    cache.mkdir(parents=True)
    train_docs, val_docs = documents(300, seed=2), documents(100, seed=3)
    for name, docs in (("shard_00000.parquet", train_docs), ("shard_06542.parquet", val_docs)):  # present: no download
        pq.write_table(pa.table({"text": docs}), cache / name, row_group_size=64)
    monkeypatch.setattr(sys, "argv", ["prepare.py", "climbmix", "--shards", "1", "--device", "cpu"])
    prepare.main()
    data = prepare.load_data("cpu")
    assert data.description == "climbmix-400b-shuffle (train shards 0-0, val shard 6542)"
    tokenizer = prepare.load_tokenizer(next(cache.rglob("tokenizer.json")))
    for stream, docs in ((data.train, train_docs), (data.val, val_docs)):
        ids = np.asarray(stream).tolist()
        assert ids.count(data.bos_id) == len(docs)
        assert tokenizer.decode(ids[1:ids.index(data.bos_id, 1)]) == docs[0]
