"""
The fixed harness of the trainer: data, tokenizer, dataloader and the metric.
The agent edits train.py only; everything here stays the same across experiments,
so that val_bpb means the same thing in every row of results.tsv.

Usage:
    uv run prepare.py            # prepare (or check) the data for this machine's device
    uv run train.py              # train.py calls load_data(), which prepares on first use

Data source (env AUTORESEARCH_DATA):
    unset            the offline default: the Python standard library's own .py sources of the
                     running interpreter (sorted, no test suites); nothing is downloaded
    /path/to/text    a local UTF-8 text file, or a folder of them (read recursively, sorted)
    tinystories      TinyStories (V2, GPT-4), downloaded from the Hugging Face hub; needs network
    climbmix         the original autoresearch's web data (karpathy/climbmix-400b-shuffle, one
                     train shard and the pinned val shard); needs network and pyarrow
Documents: a file is cut at `<|endoftext|>` when it has that marker, else at blank lines; the
stdlib default keeps one document per file. Every 10th document (index % 10 == 9) is validation,
except for climbmix, which has its own val shard. The split and the tokenizer are cached under
AUTORESEARCH_CACHE (default ~/.cache/autoresearch/data), one folder per source and vocabulary.

Other settings: AUTORESEARCH_VOCAB_SIZE (BPE vocabulary, default 8192 on cuda, 2048 on cpu),
AUTORESEARCH_TIME_BUDGET (training seconds, default 300), AUTORESEARCH_DEVICE (cuda|cpu, default:
cuda when available).
"""

import fcntl
import hashlib
import json
import math
import os
import platform
import sys
import sysconfig
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

# ---------------------------------------------------------------------------
# Fixed settings (per device type). Changing these changes what val_bpb means.

FORMAT_VERSION = 1          # bump when the split or the cache layout changes
BOS = "<|bos|>"             # the one special token; begins every row and every document
VAL_EVERY = 10              # document i is validation when i % VAL_EVERY == VAL_EVERY - 1
DEFAULT_TIME_BUDGET = 300.0 # seconds of training when AUTORESEARCH_TIME_BUDGET is unset


@dataclass(frozen=True)
class Settings:
    vocab_size: int     # BPE vocabulary including BOS
    seq_len: int        # context length of training and evaluation rows
    eval_tokens: int    # validation tokens scored by evaluate_bpb (capped by the val split)
    untimed_steps: int  # first training steps not counted in the budget (compilation, warm-up)


SETTINGS = {
    "cuda": Settings(vocab_size=8192, seq_len=2048, eval_tokens=20 * 2**20, untimed_steps=10),
    "cpu": Settings(vocab_size=2048, seq_len=256, eval_tokens=2**15, untimed_steps=2),
}

# Peak dense bf16 tensor FLOP/s by GPU name (substring match, first hit wins), for MFU.
GPU_PEAK_FLOPS = [
    ("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("GH200", 989e12),
    ("B200", 2250e12), ("A100", 312e12), ("L40S", 362e12), ("L40", 181e12), ("L4", 121e12),
    ("A10", 125e12), ("4090", 165e12), ("3090", 71e12),
]


def device_type():
    """'cuda' or 'cpu': AUTORESEARCH_DEVICE if set, else cuda when available."""
    wanted = os.environ.get("AUTORESEARCH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    assert wanted in SETTINGS, f"AUTORESEARCH_DEVICE must be one of {list(SETTINGS)}, got {wanted!r}"
    return wanted


def settings_for(device):
    """The fixed settings for a device type, with the vocabulary override applied."""
    vocab = os.environ.get("AUTORESEARCH_VOCAB_SIZE")
    base = SETTINGS[device]
    return Settings(int(vocab), base.seq_len, base.eval_tokens, base.untimed_steps) if vocab else base


def time_budget():
    """Training seconds from AUTORESEARCH_TIME_BUDGET, else DEFAULT_TIME_BUDGET."""
    return float(os.environ.get("AUTORESEARCH_TIME_BUDGET") or DEFAULT_TIME_BUDGET)


def gpu_peak_flops(name):
    """Peak bf16 FLOP/s of a GPU by its name, or 0.0 when unknown (MFU then reads 0)."""
    return next((flops for key, flops in GPU_PEAK_FLOPS if key in name), 0.0)


def cache_root():
    return Path(os.environ.get("AUTORESEARCH_CACHE") or "~/.cache/autoresearch/data").expanduser()

# ---------------------------------------------------------------------------
# Sources: each returns (key, description, load); load() reads the documents and splits them

STDLIB_SKIP = {"test", "tests", "idlelib", "lib2to3", "turtledemo", "ensurepip", "site-packages",
               "dist-packages", "__pycache__"}


def split_documents(text):
    """Cut one file's text into documents: at <|endoftext|> if present, else at blank lines."""
    parts = text.split("<|endoftext|>") if "<|endoftext|>" in text else text.split("\n\n")
    return [p.strip("\n") for p in parts if p.strip()]


def pinned_split(docs):
    """(train, val): every VAL_EVERY-th document is validation."""
    val = [d for i, d in enumerate(docs) if i % VAL_EVERY == VAL_EVERY - 1]
    train = [d for i, d in enumerate(docs) if i % VAL_EVERY != VAL_EVERY - 1]
    return train, val


def stdlib_source():
    """The running interpreter's standard library sources, one document per file."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if not STDLIB_SKIP.intersection(p.relative_to(root).parts))
    load = lambda: pinned_split([p.read_text(encoding="utf-8", errors="replace") for p in files])
    key = f"stdlib-{platform.python_implementation()}-{platform.python_version()}"
    return key, f"offline default: Python stdlib sources in {root} ({len(files)} files)", load


def read_text_files(path):
    """Sorted (name, text) of a file or of every UTF-8 text file under a folder (binaries skipped)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    texts = []
    for f in files:
        try:
            texts.append((f.name if f == path else str(f.relative_to(path)), f.read_text("utf-8")))
        except UnicodeDecodeError:
            continue
    return texts


def local_source(path):
    """A local text file or folder; the key hashes the content, so an edited corpus gets a fresh cache."""
    if not path.exists():
        sys.exit(f"data: AUTORESEARCH_DATA={path}: no such file or folder")
    texts = read_text_files(path)
    digest = hashlib.sha256()
    for name, text in texts:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")

    def load():
        docs = [d for _, text in texts for d in split_documents(text)]
        if len(docs) < VAL_EVERY:
            sys.exit(f"data: AUTORESEARCH_DATA={path}: {len(docs)} documents, need at least {VAL_EVERY}")
        return pinned_split(docs)
    return f"local-{path.name}-{digest.hexdigest()[:12]}", f"local: {path} ({len(texts)} files)", load


def download(url, name, max_bytes=None):
    """Fetch a URL once into the cache's downloads folder; a clear exit when offline."""
    target = cache_root() / "downloads" / name
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    headers = {"Range": f"bytes=0-{max_bytes - 1}"} if max_bytes else {}
    print(f"data: downloading {url}", flush=True)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
            body = response.read()
    except OSError as err:
        sys.exit(f"data: cannot download {url} ({err}). No network? Unset AUTORESEARCH_DATA for the "
                 "offline default, or point it at a local text file or folder.")
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(body)
    tmp.replace(target)
    return target


TINYSTORIES_URL = "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStoriesV2-GPT4-train.txt"
TINYSTORIES_BYTES = 200 * 2**20  # the first 200 MiB of the 2.2 GB file: about 250k stories


def tinystories_source():
    def load():
        path = download(TINYSTORIES_URL, "TinyStoriesV2-GPT4-train-200MiB.txt", TINYSTORIES_BYTES)
        return pinned_split(split_documents(path.read_text("utf-8", errors="ignore"))[:-1])  # last one is cut
    return "tinystories-200MiB", f"TinyStories V2 (first 200 MiB of {TINYSTORIES_URL})", load


CLIMBMIX_URL = "https://huggingface.co/datasets/karpathy/climbmix-400b-shuffle/resolve/main/shard_{:05d}.parquet"
CLIMBMIX_VAL_SHARD = 6542  # the original's pinned validation shard


def climbmix_source():
    def read_shard(index):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            sys.exit("data: climbmix needs pyarrow: `uv run --with pyarrow train.py`")
        path = download(CLIMBMIX_URL.format(index), f"climbmix-{index:05d}.parquet")
        return pq.read_table(path, columns=["text"]).column("text").to_pylist()
    load = lambda: (read_shard(0), read_shard(CLIMBMIX_VAL_SHARD))
    return "climbmix-0-6542", "climbmix-400b-shuffle (train shard 0, val shard 6542)", load


def resolve_source():
    """(key, description, load) for AUTORESEARCH_DATA; load() returns (train_docs, val_docs)."""
    choice = os.environ.get("AUTORESEARCH_DATA", "")
    named = {"": stdlib_source, "stdlib": stdlib_source, "tinystories": tinystories_source,
             "climbmix": climbmix_source}
    return named[choice]() if choice in named else local_source(Path(choice).expanduser().resolve())

# ---------------------------------------------------------------------------
# Tokenizer: byte-level BPE (every byte is representable, no unknown token), saved as JSON


def train_tokenizer(docs, vocab_size):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(docs, trainer)
    return tokenizer


def token_byte_lengths(tokenizer):
    """UTF-8 bytes of each token id, shape (vocab,); 0 for special tokens. A byte-level token
    spells each of its bytes as one stand-in character, so its length is its byte count."""
    lengths = np.zeros(tokenizer.get_vocab_size(), dtype=np.int32)
    for token, i in tokenizer.get_vocab().items():
        lengths[i] = 0 if token == BOS else len(token)
    return lengths


def encode_stream(tokenizer, docs):
    """One flat uint16 array: [BOS, doc0..., BOS, doc1..., ...]."""
    bos = tokenizer.token_to_id(BOS)
    return np.concatenate([np.array([bos] + enc.ids, dtype=np.uint16) for enc in tokenizer.encode_batch(docs)])

# ---------------------------------------------------------------------------
# Preparation and loading (cached, under a file lock so concurrent runs share one copy)


@dataclass
class Data:
    tokenizer: Tokenizer
    train: np.ndarray        # uint16 token stream, documents prefixed with BOS
    val: np.ndarray          # same for the validation split
    token_bytes: np.ndarray  # int32 (vocab,), UTF-8 bytes per token, 0 for BOS
    bos_id: int
    settings: Settings
    description: str


def prepare(folder, load, description, vocab_size):
    """Write tokenizer.json, train.npy, val.npy and meta.json (last: it marks completion) to folder."""
    train_docs, val_docs = load()
    tokenizer = train_tokenizer(train_docs, vocab_size)
    for name, docs in (("train", train_docs), ("val", val_docs)):
        np.save(folder / f"{name}.npy", encode_stream(tokenizer, docs))
    tokenizer.save(str(folder / "tokenizer.json"))
    meta = {"description": description, "train_docs": len(train_docs), "val_docs": len(val_docs),
            "train_bytes": sum(len(d.encode()) for d in train_docs),
            "val_bytes": sum(len(d.encode()) for d in val_docs)}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))


def prepared_folder(vocab_size):
    """The cache folder of the configured source and vocabulary, prepared on first use. A file
    lock makes concurrent runs (lanes on one host) wait for one preparation instead of racing."""
    key, description, load = resolve_source()
    folder = cache_root() / f"v{FORMAT_VERSION}" / key / f"vocab{vocab_size}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "meta.json").exists():
            start = time.time()
            print(f"data: preparing {description} with a {vocab_size}-token BPE (first run only)", flush=True)
            prepare(folder, load, description, vocab_size)
            print(f"data: prepared in {time.time() - start:.1f}s", flush=True)
    return folder


def load_data(device):
    """The data for a device type. Prints one line naming the source and its sizes."""
    settings = settings_for(device)
    folder = prepared_folder(settings.vocab_size)
    meta = json.loads((folder / "meta.json").read_text())
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    train, val = (np.load(folder / f"{name}.npy", allow_pickle=False) for name in ("train", "val"))
    assert len(val) > settings.seq_len + 1, f"validation split too small: {len(val)} tokens"
    print(f"data: {meta['description']} | train {meta['train_bytes'] / 1e6:.2f} MB = {len(train) / 1e6:.2f}M tokens"
          f" | val {meta['val_bytes'] / 1e6:.2f} MB = {len(val) / 1e6:.2f}M tokens | vocab {settings.vocab_size}"
          f" | cache {folder}", flush=True)
    return Data(tokenizer, train, val, token_byte_lengths(tokenizer), tokenizer.token_to_id(BOS), settings,
                meta["description"])

# ---------------------------------------------------------------------------
# Dataloader: rows of seq_len + 1 tokens, each beginning with BOS. Documents are packed back to
# back; a document that does not fit continues in the next row after a fresh BOS, so no token is
# dropped and no row is padded.


def take_row(stream, pos, seq_len, bos_id):
    """(row, next_pos): BOS followed by the next tokens of the stream from pos."""
    if stream[pos] == bos_id:
        row = stream[pos:pos + seq_len + 1]
    else:
        row = np.concatenate(([bos_id], stream[pos:pos + seq_len]))
    consumed = len(row) - (0 if stream[pos] == bos_id else 1)
    return row, pos + consumed


def make_rows(stream, pos, num_rows, seq_len, bos_id):
    """(rows (num_rows, seq_len + 1) int64, next_pos); wraps to the start at the stream's end."""
    rows = np.empty((num_rows, seq_len + 1), dtype=np.int64)
    for r in range(num_rows):
        if pos + seq_len + 1 > len(stream):
            pos = 0  # next epoch
        rows[r], pos = take_row(stream, pos, seq_len, bos_id)
    return rows, pos


def train_batches(data, batch_size, device):
    """Endless (x, y) batches of shape (batch_size, seq_len) from the training stream."""
    pos, seq_len = 0, data.settings.seq_len
    while True:
        rows, pos = make_rows(data.train, pos, batch_size, seq_len, data.bos_id)
        rows = torch.from_numpy(rows)
        if device.type == "cuda":
            rows = rows.pin_memory().to(device, non_blocking=True)
        yield rows[:, :-1], rows[:, 1:]

# ---------------------------------------------------------------------------
# The metric


def val_rows(data):
    """The fixed validation rows: the first eval_tokens of the val split, in whole rows."""
    seq_len = data.settings.seq_len
    available = (len(data.val) - 1) // seq_len  # rows without wrapping (a lower bound)
    num_rows = max(1, min(data.settings.eval_tokens // seq_len, available))
    return make_rows(data.val, 0, num_rows, seq_len, data.bos_id)[0]


@torch.no_grad()
def evaluate_bpb(model, data, batch_size, device):
    """Bits per byte on the fixed validation rows. model(x) returns logits (B, T, vocab).
    Sums cross-entropy in nats over every target that is not a special token, and divides by
    ln(2) times the UTF-8 bytes of those same targets."""
    rows = torch.from_numpy(val_rows(data))
    token_bytes = torch.from_numpy(data.token_bytes).to(device)
    total_nats = torch.zeros((), dtype=torch.float64, device=device)
    total_bytes = torch.zeros((), dtype=torch.int64, device=device)
    for i in range(0, len(rows), batch_size):
        batch = rows[i:i + batch_size].to(device)
        x, y = batch[:, :-1], batch[:, 1:]
        logits = model(x).float()
        nats = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="none")
        nbytes = token_bytes[y.reshape(-1)]
        total_nats += (nats * (nbytes > 0)).sum(dtype=torch.float64)
        total_bytes += nbytes.sum()
    return (total_nats / (math.log(2) * total_bytes)).item()


if __name__ == "__main__":
    load_data(device_type())
