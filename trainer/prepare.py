"""
The fixed harness of the trainer: device choice, data, tokenizer, dataloader and the metric.
The agent edits train.py only; everything here stays the same across experiments,
so that val_bpb means the same thing in every row of results.tsv.

Usage (data preparation is a set-up step, run once; train.py only reads what it wrote):
    uv run prepare.py                        # the offline default (a CPU demo; also prepared on first use)
    uv run prepare.py climbmix [--shards N]  # the original autoresearch's web data: N train shards (10) + its val shard
    uv run prepare.py tinystories            # TinyStories V2 (the first 200 MiB)
    uv run prepare.py /path/to/text          # a local UTF-8 text file, or a folder of them (read recursively)
    python3 prepare.py ...                   # the same with an installed PyTorch, numpy and tokenizers
Options: --device cuda|cpu picks the vocabulary it prepares for (default: this machine's device,
or AUTORESEARCH_DEVICE), so data for a GPU machine can be prepared on a machine without one.

Sources:
    stdlib       the offline default: the running interpreter's standard library .py sources (sorted,
                 no test suites, about 3M tokens); nothing is downloaded. A CPU demo: on CUDA the
                 trainer refuses it unless AUTORESEARCH_ALLOW_DEMO_DATA=1.
    climbmix     karpathy/climbmix-400b-shuffle from the Hugging Face hub; needs network and pyarrow
                 (`uv run --group climbmix prepare.py climbmix`). The parquet shards are stored in the
                 cache folder under the original's names (shard_00000.parquet ...), which is the
                 original's own data folder when AUTORESEARCH_CACHE is unset, so its prepare.py finds them.
    tinystories  TinyStories V2 (GPT-4), the first 200 MiB of the train file; needs network
    PATH         a local file or folder. A file is cut into documents at `<|endoftext|>` when it has
                 that marker, else at blank lines.
Every 10th document (index % 10 == 9) is validation, except for climbmix, which has its own val shard.

Which data train.py reads: AUTORESEARCH_DATA (any source above) if set, else the source prepared last
for its vocabulary, else the offline default. Only the offline default is prepared on first use;
any other source that is not prepared ends the run with the command that prepares it.

Cache (AUTORESEARCH_CACHE, default ~/.cache/autoresearch/data): v2/<source>/vocab<V>/ holds
tokenizer.json, train.bin and val.bin (uint16 token streams, each document prefixed with BOS),
token_bytes.npy and meta.json (written last: it marks completion); v2/selected-vocab<V>.json names
the source prepared last.

Other settings: AUTORESEARCH_VOCAB_SIZE (BPE vocabulary, default 8192 on cuda, 2048 on cpu),
AUTORESEARCH_TIME_BUDGET (training seconds, default 300), AUTORESEARCH_TOKEN_BUDGET (training tokens;
when set, training stops there instead of at the time budget), AUTORESEARCH_SEED (the trainer's random
seed), AUTORESEARCH_MODEL_OUT (where export_model saves the trained model for evaluate.py),
AUTORESEARCH_DEVICE (cuda|cpu).
"""

import argparse
import fcntl
import functools
import glob
import hashlib
import json
import math
import os
import platform
import sys
import sysconfig
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------
# Fixed settings (per device type). Changing these changes what val_bpb means.

FORMAT_VERSION = 2          # bump when the split or the cache layout changes
BOS = "<|bos|>"             # the one special token; begins every row and every document
VAL_EVERY = 10              # document i is validation when i % VAL_EVERY == VAL_EVERY - 1
DEFAULT_TIME_BUDGET = 300.0 # seconds of training when AUTORESEARCH_TIME_BUDGET is unset
MIN_TORCH = (2, 9)          # FlexAttention and the compiled optimizer as train.py uses them


@dataclass(frozen=True)
class Settings:
    vocab_size: int     # BPE vocabulary including BOS
    seq_len: int        # context length of training and evaluation rows
    eval_tokens: int    # validation tokens scored by evaluate_bpb (capped by the val split)
    untimed_steps: int  # first training steps not counted in the budget (compilation, warm-up)


SETTINGS = {  # cuda: the original autoresearch's context, vocabulary and validation size
    "cuda": Settings(vocab_size=8192, seq_len=2048, eval_tokens=20 * 2**20, untimed_steps=10),
    "cpu": Settings(vocab_size=2048, seq_len=256, eval_tokens=2**15, untimed_steps=2),
}

# Peak dense bf16 tensor FLOP/s by GPU name (substring match, first hit wins), for MFU.
GPU_PEAK_FLOPS = [
    ("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("GH200", 989e12),
    ("B200", 2250e12), ("A100", 312e12), ("L40S", 362e12), ("L40", 181e12), ("L4", 121e12),
    ("A10", 125e12), ("4090", 165e12), ("3090", 71e12),
]


def settings_for(device):
    """The fixed settings for a device type, with the vocabulary override applied."""
    vocab = os.environ.get("AUTORESEARCH_VOCAB_SIZE")
    base = SETTINGS[device]
    return Settings(int(vocab), base.seq_len, base.eval_tokens, base.untimed_steps) if vocab else base


def time_budget():
    """Training seconds from AUTORESEARCH_TIME_BUDGET, else DEFAULT_TIME_BUDGET."""
    return float(os.environ.get("AUTORESEARCH_TIME_BUDGET") or DEFAULT_TIME_BUDGET)


def token_budget():
    """Training tokens from AUTORESEARCH_TOKEN_BUDGET, or None: then the time budget applies."""
    value = os.environ.get("AUTORESEARCH_TOKEN_BUDGET")
    return int(value) if value else None


def seed(default):
    """The random seed: AUTORESEARCH_SEED when set, else the trainer's own default."""
    value = os.environ.get("AUTORESEARCH_SEED")
    return int(value) if value else default


def gpu_peak_flops(name):
    """Peak bf16 FLOP/s of a GPU by its name, or 0.0 when unknown (MFU then reads 0)."""
    return next((flops for key, flops in GPU_PEAK_FLOPS if key in name), 0.0)


def cache_root():
    return Path(os.environ.get("AUTORESEARCH_CACHE") or "~/.cache/autoresearch/data").expanduser()

# ---------------------------------------------------------------------------
# Device: a GPU that is present but unusable is an error, never a silent fall back to the cpu preset


def nvidia_gpu_present():
    """Whether the machine has an NVIDIA GPU, whatever PyTorch thinks of it (device nodes or the driver)."""
    return bool(glob.glob("/dev/nvidia[0-9]*")) or bool(glob.glob("/proc/driver/nvidia/gpus/*"))


def requested_device():
    """'cuda' or 'cpu' as asked: AUTORESEARCH_DEVICE if set, else cuda when a GPU is present or usable."""
    wanted = os.environ.get("AUTORESEARCH_DEVICE") or (
        "cuda" if nvidia_gpu_present() or torch.cuda.is_available() else "cpu")
    if wanted not in SETTINGS:
        sys.exit(f"device: AUTORESEARCH_DEVICE must be one of {list(SETTINGS)}, got {wanted!r}")
    return wanted


def cuda_problem():
    """Why CUDA cannot train here, or None: initialises it and allocates, as training would."""
    if torch.version.cuda is None and torch.version.hip is None:
        return f"this PyTorch ({torch.__version__}) is a CPU-only build"
    try:
        torch.cuda.init()
        torch.zeros(1, device="cuda")
    except Exception as err:  # no driver, a driver older than PyTorch's CUDA, a busy or full device
        return f"{type(err).__name__}: {str(err).strip()}"
    return None


def device_type():
    """The device to train on, checked: 'cpu' only when asked for or when there is no GPU at all."""
    if tuple(int(part) for part in torch.__version__.split(".")[:2]) < MIN_TORCH:
        sys.exit(f"device: train.py needs PyTorch >= {'.'.join(map(str, MIN_TORCH))}, found {torch.__version__}")
    device = requested_device()
    if device == "cuda":
        problem = cuda_problem()
        if problem:
            asked = "AUTORESEARCH_DEVICE=cuda" if os.environ.get("AUTORESEARCH_DEVICE") else "a GPU is present"
            built = f"PyTorch {torch.__version__} is built for CUDA {torch.version.cuda}. " if torch.version.cuda else ""
            sys.exit(f"device: {asked} but CUDA is unusable: {problem}\n{built}Fix the driver or the PyTorch "
                     "install, or set AUTORESEARCH_DEVICE=cpu to train the tiny cpu preset instead.")
    return device

# ---------------------------------------------------------------------------
# Sources: each is (key, description, train_docs, val_docs); the last two return iterables of documents


def split_documents(text):
    """Cut one file's text into documents: at <|endoftext|> if present, else at blank lines."""
    parts = text.split("<|endoftext|>") if "<|endoftext|>" in text else text.split("\n\n")
    return [p.strip("\n") for p in parts if p.strip()]


def pinned_split(docs):
    """(train, val): every VAL_EVERY-th document is validation."""
    val = [d for i, d in enumerate(docs) if i % VAL_EVERY == VAL_EVERY - 1]
    train = [d for i, d in enumerate(docs) if i % VAL_EVERY != VAL_EVERY - 1]
    return train, val


def in_memory(key, description, load):
    """A source whose documents fit in memory: load() -> (train, val), read once on first use."""
    split = functools.cache(load)
    return key, description, lambda: split()[0], lambda: split()[1]


STDLIB_SKIP = {"test", "tests", "idlelib", "lib2to3", "turtledemo", "ensurepip", "site-packages",
               "dist-packages", "__pycache__"}


def stdlib_source():
    """The running interpreter's standard library sources, one document per file."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if not STDLIB_SKIP.intersection(p.relative_to(root).parts))
    load = lambda: pinned_split([p.read_text(encoding="utf-8", errors="replace") for p in files])
    key = f"stdlib-{platform.python_implementation()}-{platform.python_version()}"
    return in_memory(key, f"offline default: Python stdlib sources in {root} ({len(files)} files)", load)


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
        sys.exit(f"data: {path}: no such file or folder")
    texts = read_text_files(path)
    digest = hashlib.sha256()
    for name, text in texts:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")

    def load():
        docs = [d for _, text in texts for d in split_documents(text)]
        if len(docs) < VAL_EVERY:
            sys.exit(f"data: {path}: {len(docs)} documents, need at least {VAL_EVERY}")
        return pinned_split(docs)
    return in_memory(f"local-{path.name}-{digest.hexdigest()[:12]}", f"local: {path} ({len(texts)} files)", load)


DOWNLOAD_ATTEMPTS = 4  # tries per file, 2, 4, 8 s apart


def download(url, target, max_bytes=None):
    """Fetch a URL once to target (streamed, retried); a clear exit when offline."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    headers = {"Range": f"bytes=0-{max_bytes - 1}"} if max_bytes else {}
    tmp = target.with_name(target.name + ".tmp")
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response, \
                    open(tmp, "wb") as out:
                while chunk := response.read(2**20):
                    out.write(chunk)
            tmp.replace(target)
            print(f"data: downloaded {url}", flush=True)
            return target
        except OSError as err:
            if attempt == DOWNLOAD_ATTEMPTS:
                sys.exit(f"data: cannot download {url} ({err}). No network? Prepare on a machine with network and "
                         "copy the cache folder, or use the offline default or a local text file or folder.")
            time.sleep(2**attempt)


TINYSTORIES_URL = "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStoriesV2-GPT4-train.txt"
TINYSTORIES_BYTES = 200 * 2**20  # the first 200 MiB of the 2.2 GB file: about 250k stories


def tinystories_source():
    def load():
        path = download(TINYSTORIES_URL, cache_root() / "downloads" / "TinyStoriesV2-GPT4-train-200MiB.txt",
                        TINYSTORIES_BYTES)
        return pinned_split(split_documents(path.read_text("utf-8", errors="ignore"))[:-1])  # the last one is cut
    return in_memory("tinystories-200MiB", f"TinyStories V2 (first 200 MiB of {TINYSTORIES_URL})", load)


CLIMBMIX_URL = "https://huggingface.co/datasets/karpathy/climbmix-400b-shuffle/resolve/main/shard_{:05d}.parquet"
CLIMBMIX_VAL_SHARD = 6542   # the original's pinned validation shard (the last one)
CLIMBMIX_SHARDS = 10        # train shards by default, as the original's prepare.py
DOWNLOAD_WORKERS = 8        # shards fetched in parallel


def climbmix_shard_path(index):
    return cache_root() / f"shard_{index:05d}.parquet"  # the original's name and folder


def climbmix_source(shards):
    def documents(indices):
        import pyarrow.parquet as pq
        for index in indices:
            shard = pq.ParquetFile(climbmix_shard_path(index))
            for group in range(shard.num_row_groups):
                yield from shard.read_row_group(group, columns=["text"]).column("text").to_pylist()

    def fetch():  # before reading: all shards at once, in parallel
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            sys.exit("data: climbmix needs pyarrow: `uv run --group climbmix prepare.py climbmix` "
                     "(or `pip install pyarrow` for an installed PyTorch)")
        indices = [*range(shards), CLIMBMIX_VAL_SHARD]
        with ThreadPoolExecutor(DOWNLOAD_WORKERS) as pool:
            list(pool.map(lambda i: download(CLIMBMIX_URL.format(i), climbmix_shard_path(i)), indices))

    def train_docs():
        fetch()
        return documents(range(shards))
    return (f"climbmix-{shards}", f"climbmix-400b-shuffle (train shards 0-{shards - 1}, val shard {CLIMBMIX_VAL_SHARD})",
            train_docs, lambda: documents([CLIMBMIX_VAL_SHARD]))


def resolve_source(choice, shards=CLIMBMIX_SHARDS):
    """(key, description, train_docs, val_docs) of a source name or a local path."""
    named = {"": stdlib_source, "stdlib": stdlib_source, "tinystories": tinystories_source,
             "climbmix": lambda: climbmix_source(shards)}
    return named[choice]() if choice in named else local_source(Path(choice).expanduser().resolve())

# ---------------------------------------------------------------------------
# Tokenizer: byte-level BPE (every byte is representable, no unknown token), saved as JSON.
# Only preparation needs the tokenizers package; training reads token ids and token_bytes.npy.

TOKENIZER_CHARS = 250_000_000  # training text for the BPE (8192 merges settle long before; bounds its memory)
TOKENIZER_DOC_CHARS = 10_000   # at most this much of each document goes to the BPE trainer
ENCODE_BATCH = 4096            # documents encoded per batch (the tokenizer parallelises within one)


def train_tokenizer(docs, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(docs, trainer)
    return tokenizer


def load_tokenizer(path):
    from tokenizers import Tokenizer
    return Tokenizer.from_file(str(path))


def capped_text(docs):
    """The first TOKENIZER_CHARS of the documents, each cut at TOKENIZER_DOC_CHARS."""
    total = 0
    for doc in docs:
        if total >= TOKENIZER_CHARS:
            return
        doc = doc[:TOKENIZER_DOC_CHARS]
        total += len(doc)
        yield doc


def token_byte_lengths(tokenizer):
    """UTF-8 bytes of each token id, shape (vocab,); 0 for special tokens. A byte-level token
    spells each of its bytes as one stand-in character, so its length is its byte count."""
    lengths = np.zeros(tokenizer.get_vocab_size(), dtype=np.int32)
    for token, i in tokenizer.get_vocab().items():
        lengths[i] = 0 if token == BOS else len(token)
    return lengths


def batched(docs, size):
    batch = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def encode_to_file(tokenizer, docs, path):
    """Write [BOS, doc0..., BOS, doc1..., ...] as uint16 to path, batch by batch; returns (docs, tokens, bytes)."""
    bos = tokenizer.token_to_id(BOS)
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)  # fast: no offsets
    num_docs = num_tokens = num_bytes = 0
    with open(path, "wb") as out:
        for batch in batched(docs, ENCODE_BATCH):
            ids = np.concatenate([np.array([bos] + enc.ids, dtype=np.uint16) for enc in encode(batch)])
            ids.tofile(out)
            num_docs, num_tokens = num_docs + len(batch), num_tokens + len(ids)
            num_bytes += sum(len(d.encode()) for d in batch)
    return num_docs, num_tokens, num_bytes

# ---------------------------------------------------------------------------
# Preparation and loading (cached, under a file lock so concurrent runs share one copy)


@dataclass
class Data:
    train: np.ndarray        # uint16 token stream, documents prefixed with BOS (memory-mapped)
    val: np.ndarray          # same for the validation split
    token_bytes: np.ndarray  # int32 (vocab,), UTF-8 bytes per token, 0 for BOS
    bos_id: int
    settings: Settings
    description: str


def data_folder(key, vocab_size):
    return cache_root() / f"v{FORMAT_VERSION}" / key / f"vocab{vocab_size}"


def selection_file(vocab_size):
    return cache_root() / f"v{FORMAT_VERSION}" / f"selected-vocab{vocab_size}.json"


def is_prepared(folder):
    return (folder / "meta.json").exists()


def prepare(source, vocab_size):
    """Prepare a source for a vocabulary (once; concurrent callers wait on a lock). Returns its folder."""
    key, description, train_docs, val_docs = source
    assert vocab_size <= 2**16, "token ids are stored as uint16"
    folder = data_folder(key, vocab_size)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_prepared(folder):
            return folder
        start = time.time()
        print(f"data: preparing {description} with a {vocab_size}-token BPE", flush=True)
        tokenizer = train_tokenizer(capped_text(train_docs()), vocab_size)
        tokenizer.save(str(folder / "tokenizer.json"))
        meta = {"description": description, "vocab_size": vocab_size, "bos_id": tokenizer.token_to_id(BOS)}
        for name, docs in (("train", train_docs()), ("val", val_docs())):
            meta[f"{name}_docs"], meta[f"{name}_tokens"], meta[f"{name}_bytes"] = \
                encode_to_file(tokenizer, docs, folder / f"{name}.bin")
        np.save(folder / "token_bytes.npy", token_byte_lengths(tokenizer))
        (folder / "meta.json").write_text(json.dumps(meta, indent=2))
        print(f"data: prepared in {time.time() - start:.1f}s into {folder}", flush=True)
    return folder


def select(folder, vocab_size):
    """Record folder as the data train.py reads for this vocabulary when AUTORESEARCH_DATA is unset."""
    relative = str(folder.relative_to(cache_root()))
    selection_file(vocab_size).write_text(json.dumps({"folder": relative}) + "\n")


def demo_refusal():
    return ("data: on CUDA the offline default (Python stdlib sources, about 3M tokens) is only a CPU demo: a "
            "5-minute GPU run would see it over 100 times and score on a tiny validation set.\n"
            "Prepare real data once (needs network), then train again:\n"
            "    npm run prepare-data -- climbmix        # 10 shards, as the original; or: tinystories, /path/to/text\n"
            "    cd trainer && uv run --group climbmix prepare.py climbmix   # the same from trainer/\n"
            "    python3 prepare.py climbmix             # with an installed PyTorch (+ pyarrow, tokenizers)\n"
            "or set AUTORESEARCH_ALLOW_DEMO_DATA=1 to train on the demo data anyway.")


def training_folder(device, vocab_size):
    """The prepared folder train.py reads: AUTORESEARCH_DATA, else the selection, else the offline default."""
    choice = os.environ.get("AUTORESEARCH_DATA", "")
    selected = selection_file(vocab_size)
    if choice or not selected.exists():
        source = resolve_source(choice)
        folder = data_folder(source[0], vocab_size)
    else:
        source, folder = None, cache_root() / json.loads(selected.read_text())["folder"]
    demo = folder.parent.name.startswith("stdlib-")
    if demo and device == "cuda" and os.environ.get("AUTORESEARCH_ALLOW_DEMO_DATA") != "1":
        sys.exit(demo_refusal())
    if not is_prepared(folder):
        if source is None:
            sys.exit(f"data: {selected} names {folder}, which is not prepared: run prepare.py again")
        if not demo:  # downloads and big corpora belong to set-up, not to a timed experiment
            sys.exit(f"data: {source[1]} is not prepared for vocab {vocab_size}. Prepare it first:\n"
                     f"    npm run prepare-data -- {choice}   (or in trainer/: uv run prepare.py {choice})")
        prepare(source, vocab_size)  # the demo: small and offline, so the quick start needs no set-up step
    return folder


def token_stream(path):
    """A uint16 token file, memory-mapped (an empty file, which cannot be mapped, is an empty array)."""
    return np.memmap(path, dtype=np.uint16, mode="r") if path.stat().st_size else np.empty(0, dtype=np.uint16)


def validation_hidden(data):
    """True when the validation split is hidden from this process (the harness scores the model instead)."""
    return len(data.val) == 0


def load_data(device):
    """The prepared data for a device type. Prints one line naming the source and its sizes."""
    settings = settings_for(device)
    folder = training_folder(device, settings.vocab_size)
    meta = json.loads((folder / "meta.json").read_text())
    train, val = (token_stream(folder / f"{name}.bin") for name in ("train", "val"))
    # An empty val.bin is the split hidden from the trainer (its sandbox covers the file): evaluate.py scores it.
    assert len(val) == 0 or len(val) > settings.seq_len + 1, f"validation split too small: {len(val)} tokens"
    print(f"data: {meta['description']} | train {meta['train_bytes'] / 1e6:.2f} MB = {len(train) / 1e6:.2f}M tokens"
          f" | val {meta['val_bytes'] / 1e6:.2f} MB = {len(val) / 1e6:.2f}M tokens | vocab {settings.vocab_size}"
          f" | cache {folder}", flush=True)
    return Data(train, val, np.load(folder / "token_bytes.npy"), meta["bos_id"], settings, meta["description"])

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
        if device.type == "cuda":  # pinned, so the copy overlaps the step that is running
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
    assert not validation_hidden(data), "the validation split is hidden from the trainer: evaluate.py scores the model"
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

# ---------------------------------------------------------------------------
# The trained model, handed to the harness: an exported graph (torch.export) mapping token ids (B, T)
# to logits (B, T, vocab), which evaluate.py scores in a process of its own.

MODEL_OUT = "AUTORESEARCH_MODEL_OUT"


class Logits(torch.nn.Module):
    """model(idx) -> float32 logits, under the trainer's autocast, as one module to export."""

    def __init__(self, model, autocast_dtype=None):
        super().__init__()
        self.model, self.autocast_dtype = model, autocast_dtype

    def forward(self, idx):
        if self.autocast_dtype is None:
            return self.model(idx).float()
        with torch.autocast(idx.device.type, dtype=self.autocast_dtype):
            return self.model(idx).float()


def export_model(model, data, device, autocast_dtype=None):
    """Exports model (idx -> logits) to AUTORESEARCH_MODEL_OUT when the harness set it; returns the
    path, or None when unset. The batch size is dynamic; the length is the fixed seq_len."""
    out = os.environ.get(MODEL_OUT)
    if not out:
        return None
    start = time.time()
    example = torch.from_numpy(make_rows(data.train, 0, 2, data.settings.seq_len, data.bos_id)[0][:, :-1]).to(device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        program = torch.export.export(Logits(model, autocast_dtype), (example,),
                                      dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},))
    model.train(was_training)
    program.example_inputs = None  # else saved as a pickle; evaluate.py refuses any archive that holds one
    torch.export.save(program, out)
    print(f"export: model saved to {out} in {time.time() - start:.1f}s", flush=True)
    return out

# ---------------------------------------------------------------------------
# Command line: prepare a source and make it the one train.py reads


def main():
    parser = argparse.ArgumentParser(description="Prepare the trainer's data and tokenizer (a set-up step).")
    parser.add_argument("source", nargs="?", default="stdlib",
                        help="stdlib (offline default), climbmix, tinystories, or a local text file or folder")
    parser.add_argument("--shards", type=int, default=None,
                        help=f"climbmix train shards (default {CLIMBMIX_SHARDS}); the val shard is always added")
    parser.add_argument("--device", choices=list(SETTINGS), default=None,
                        help="prepare for this device type's vocabulary (default: this machine's)")
    args = parser.parse_args()
    if args.shards is not None and args.source != "climbmix":
        parser.error("--shards applies to climbmix only")
    if args.shards is not None and not 1 <= args.shards < CLIMBMIX_VAL_SHARD:
        parser.error(f"--shards must be between 1 and {CLIMBMIX_VAL_SHARD - 1}")
    device = args.device or requested_device()
    vocab_size = settings_for(device).vocab_size
    folder = prepare(resolve_source(args.source, args.shards or CLIMBMIX_SHARDS), vocab_size)
    select(folder, vocab_size)
    meta = json.loads((folder / "meta.json").read_text())
    print(f"data: ready for {device} (vocab {vocab_size}): {meta['description']} | train {meta['train_tokens'] / 1e6:.1f}M"
          f" tokens | val {meta['val_tokens'] / 1e6:.1f}M tokens | {folder}\n"
          f"data: train.py now reads it when AUTORESEARCH_DATA is unset", flush=True)


if __name__ == "__main__":
    main()
