"""train.py's model on a cpu: the sliding-window attention paths against a dense reference, the
cuda preset's size, and the dtypes of the cuda recipe (bf16 residual stream, fp32 loss)."""

import math

import pytest
import torch

import train

# Eager FlexAttention (cpu) warns that it is unfused: here it serves as a reference, so that is expected.
pytestmark = pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")


def reference_attention(q, k, v, window):
    """Softmax attention written out: query i sees keys j with j <= i and i - j < window."""
    T = q.size(-2)
    scores = q @ k.mT / math.sqrt(q.size(-1))
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    scores = scores.masked_fill(~((j <= i) & (i - j < window)), float("-inf"))
    return scores.softmax(dim=-1) @ v


@pytest.mark.parametrize("window", [1, 37, 128, 150, 200])
def test_sliding_window_attention_matches_a_dense_reference(window):
    # T = 200 is not a multiple of FlexAttention's 128-token blocks: the last block is partial
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 200, 16) for _ in range(3))
    expected = reference_attention(q, k, v, window)
    dense = train.attend(q, k, v, window, block_mask=None)  # the cpu path
    flex = train.attend(q, k, v, window, block_mask=train.sliding_window_block_mask(200, window, "cpu"))  # the cuda path
    torch.testing.assert_close(dense, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(flex, expected, atol=1e-5, rtol=1e-5)


def test_block_mask_skips_the_blocks_outside_the_window():
    # 2048 tokens are 16 blocks of 128. Causal: query block r computes r + 1 key blocks (136 in all);
    # with a 1024-token window at most 9 (8 whole, 1 partial): 1 + 2 + ... + 8 + 8 * 9 = 108
    mask = train.sliding_window_block_mask(2048, 1024, "cpu")
    assert round((1 - mask.sparsity() / 100) * 16 * 16) == 108


def tiny_gpt(embed_dtype=torch.float32, depth=4, kv_head_ratio=1):
    torch.manual_seed(0)
    model = train.GPT(vocab_size=64, seq_len=48, depth=depth, width=32, head_dim=8, kv_head_ratio=kv_head_ratio,
                      embed_dtype=embed_dtype)
    train.init_weights(model)
    with torch.no_grad():  # out-projections start at zero; make every layer matter
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def test_model_with_flex_attention_gives_the_dense_models_logits():
    model = tiny_gpt()
    idx = torch.randint(0, 64, (2, 48))
    with torch.no_grad():  # eager FlexAttention has no backward on a cpu
        dense = model(idx)
        model.use_flex_attention(48)
        assert set(model.block_masks) == {(48, 24)}  # SSSL at depth 4: three half-context layers, the last one full
        torch.testing.assert_close(model(idx), dense, atol=1e-5, rtol=1e-5)


def test_loss_in_the_forward_is_the_cross_entropy_of_the_logits():
    model = tiny_gpt(kv_head_ratio=2)
    idx, targets = torch.randint(0, 64, (2, 48)), torch.randint(0, 64, (2, 48))
    logits = model(idx)
    assert logits.shape == (2, 48, 64) and logits.abs().max() <= train.LOGIT_SOFTCAP
    expected = torch.nn.functional.cross_entropy(logits.view(-1, 64), targets.view(-1))
    torch.testing.assert_close(model(idx, targets), expected)


def test_cuda_recipe_dtypes_bf16_residual_stream_and_an_fp32_loss():
    model = tiny_gpt(embed_dtype=torch.bfloat16)
    residual = []
    for block in model.blocks:
        block.register_forward_hook(lambda module, args, out: residual.append(out.dtype))
    idx = torch.randint(0, 64, (2, 48))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # as on cuda: autocast around bf16 embeddings
        loss = model(idx, idx)
        logits = model(idx)
    assert residual and set(residual) == {torch.bfloat16}
    assert loss.dtype == logits.dtype == torch.float32 and loss.dim() == 0
    loss.backward()
    assert model.wte.weight.grad.dtype == torch.bfloat16 and model.blocks[0].attn.q.weight.grad.dtype == torch.float32


def test_cuda_preset_is_the_originals_50_3m_parameter_model():
    with torch.device("meta"):
        model = train.GPT(vocab_size=8192, seq_len=2048, depth=train.DEPTH, width=train.DEPTH * train.ASPECT_RATIO,
                          head_dim=train.HEAD_DIM, kv_head_ratio=train.KV_HEAD_RATIO)
    assert model.n_head == 4 and model.blocks[0].attn.n_kv_head == 4
    assert model.windows == [1024, 1024, 1024, 2048, 1024, 1024, 1024, 2048]
    assert f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}" == "50.3"
    # 6 FLOPs per matmul weight plus the attention estimate: about 2.4e8 per token
    assert 2.3e8 < train.flops_per_token(model, 2048) < 2.5e8
