"""The fixed harness: evaluate_bpb, the tokenizer and the dataloader's packing."""

import math

import numpy as np
import torch

import prepare


def fake_data(val, token_bytes, seq_len, eval_tokens, bos_id=0):
    settings = prepare.Settings(vocab_size=len(token_bytes), seq_len=seq_len, eval_tokens=eval_tokens, untimed_steps=0)
    return prepare.Data(train=np.array(val, dtype=np.uint16), val=np.array(val, dtype=np.uint16),
                        token_bytes=np.array(token_bytes, dtype=np.int32), bos_id=bos_id, settings=settings,
                        description="fake")


class FixedLogits(torch.nn.Module):
    """Logits that depend on nothing: log-probabilities log(probs) for every position."""

    def __init__(self, probs):
        super().__init__()
        self.logits = torch.tensor(probs).log()

    def forward(self, idx):
        return self.logits.expand(*idx.shape, -1)


def test_evaluate_bpb_matches_a_hand_computed_case():
    # vocab: 0 = BOS (0 bytes), 1, 2, 3 = tokens of 1, 2, 3 bytes; the model always predicts
    # p = (0.1, 0.2, 0.3, 0.4). seq_len 3 and 6 eval tokens: two rows of BOS + 3 tokens.
    val = [0, 1, 2, 0, 3, 2, 1, 0, 1]
    data = fake_data(val, token_bytes=[0, 1, 2, 3], seq_len=3, eval_tokens=6)
    rows = prepare.val_rows(data)
    assert rows.tolist() == [[0, 1, 2, 0], [0, 3, 2, 1]]
    # Scored targets (BOS excluded): 1, 2 | 3, 2, 1 -> nats = -ln(.2) - ln(.3) - ln(.4) - ln(.3) - ln(.2)
    nats = -2 * math.log(0.2) - 2 * math.log(0.3) - math.log(0.4)
    nbytes = 1 + 2 + 3 + 2 + 1
    expected = nats / (math.log(2) * nbytes)
    got = prepare.evaluate_bpb(FixedLogits([0.1, 0.2, 0.3, 0.4]), data, batch_size=1, device=torch.device("cpu"))
    assert math.isclose(got, expected, rel_tol=1e-6)


def test_uniform_model_scores_log2_vocab_bits_per_token():
    data = fake_data([0] + [1] * 40, token_bytes=[0, 1, 1, 1], seq_len=8, eval_tokens=32)
    got = prepare.evaluate_bpb(FixedLogits([0.25] * 4), data, batch_size=3, device=torch.device("cpu"))
    assert math.isclose(got, 2.0, rel_tol=1e-6)  # 2 bits per one-byte token


def test_tokenizer_round_trips_text_and_counts_bytes():
    docs = ["def add(a, b):\n    return a + b\n", "Ünïcödé – ünïcode ✓ 漢字", "the cat sat on the mat"] * 20
    tokenizer = prepare.train_tokenizer(docs, vocab_size=300)
    lengths = prepare.token_byte_lengths(tokenizer)
    bos = tokenizer.token_to_id(prepare.BOS)
    assert lengths[bos] == 0
    for text in docs[:3] + ["never seen: ☃ 🙂 \t\r\n"]:
        ids = tokenizer.encode(text).ids
        assert bos not in ids
        assert tokenizer.decode(ids) == text
        assert sum(lengths[i] for i in ids) == len(text.encode("utf-8"))


def test_tokenizer_saves_as_json_and_loads_back(tmp_path):
    tokenizer = prepare.train_tokenizer(["hello world"] * 10, vocab_size=280)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    loaded = prepare.load_tokenizer(tmp_path / "tokenizer.json")
    assert loaded.encode("hello world").ids == tokenizer.encode("hello world").ids


def test_rows_begin_with_bos_and_continue_a_cut_document_after_a_fresh_bos():
    stream = np.array([0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 0, 1, 2], dtype=np.uint16)
    rows, pos = prepare.make_rows(stream, 0, num_rows=4, seq_len=4, bos_id=0)
    assert rows.tolist() == [
        [0, 1, 2, 3, 0],   # a row at a document start takes its BOS from the stream
        [0, 1, 2, 3, 4],   # the second document, cut ...
        [0, 5, 6, 7, 8],   # ... continues after a fresh BOS
        [0, 9, 10, 0, 1],  # documents are packed back to back
    ]
    assert pos == 17
    rows, pos = prepare.make_rows(stream, pos, num_rows=1, seq_len=4, bos_id=0)
    assert rows.tolist() == [[0, 1, 2, 3, 0]] and pos == 5  # too little left: wraps to the start


def test_train_batches_yield_shifted_inputs_and_targets():
    data = fake_data(list(range(100)), token_bytes=[0] + [1] * 99, seq_len=8, eval_tokens=8)
    x, y = next(prepare.train_batches(data, batch_size=2, device=torch.device("cpu")))
    assert x.shape == y.shape == (2, 8)
    assert (x[:, 0] == 0).all() and torch.equal(x[:, 1:], y[:, :-1])


def test_split_documents_and_pinned_split():
    assert prepare.split_documents("a\n\nb\n\n\nc") == ["a", "b", "\nc".strip("\n")]
    assert prepare.split_documents("a\n\nb<|endoftext|>c") == ["a\n\nb", "c"]
    train, val = prepare.pinned_split([str(i) for i in range(25)])
    assert val == ["9", "19"] and len(train) == 23
