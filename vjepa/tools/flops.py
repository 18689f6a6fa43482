"""Analytic FLOP counts of V-JEPA's matmuls (2 FLOPs per multiply-add), for throughput and MFU figures.

Only the matrix products are counted (linear layers, attention products, the tubelet embedding); norms, softmax,
GELU, the loss and the optimizer are not, as is usual for MFU. A backward pass costs twice its forward.
"""

from __future__ import annotations

from collections.abc import Sequence

from vjepa.models.encoder import EncoderConfig
from vjepa.models.predictor import PredictorConfig

FORMULA = """\
block(n, d)  = (8 + 4·r)·n·d² + 4·n²·d      qkv 6nd², proj 2nd², MLP 4·r·nd² (r: mlp ratio), QKᵀ and AV 4n²d
embed(N)     = 2·N·(3·t·p²)·d               tubelet Conv3d as a matmul (t = tubelet, p = patch)
target(N)    = embed(N) + L·block(N, d)                                    target encoder, forward only
encoder(K)   = L·block(K, d)                                               online encoder on the K context tokens
predictor(K, M) = 2·K·d·dp + Lp·block(K + M, dp) + 2·M·dp·d               embed, blocks, projection
step FLOPs   = B · [ target(N) + 2·embed(N) + 3 · Σ_i ( encoder(K_i) + predictor(K_i, M_i) ) ]
               (per clip; i runs over the mask configurations; 3 = forward + backward; the online embedding is
               computed once per clip and needs no input gradient: forward + weight gradient = 2·embed(N))
features     = B · target(N)                                               frozen encoder, forward only"""


def block_flops(n: int, d: int, mlp_ratio: float) -> float:
    """One pre-norm transformer block over ``n`` tokens of width ``d``."""
    return (8 + 4 * mlp_ratio) * n * d * d + 4 * n * n * d


def embed_flops(enc: EncoderConfig, num_tokens: int) -> float:
    """The tubelet embedding of ``num_tokens`` tokens."""
    return 2 * num_tokens * enc.in_chans * enc.tubelet_size * enc.patch_size**2 * enc.embed_dim


def encoder_forward_flops(enc: EncoderConfig, num_tokens: int) -> float:
    """Embedding plus all blocks of the encoder over ``num_tokens`` tokens, per clip (the feature-extraction cost)."""
    return embed_flops(enc, num_tokens) + enc.depth * block_flops(num_tokens, enc.embed_dim, enc.mlp_ratio)


def predictor_forward_flops(pred: PredictorConfig, num_context: int, num_targets: int) -> float:
    d, dp = pred.embed_dim, pred.predictor_embed_dim
    blocks = pred.depth * block_flops(num_context + num_targets, dp, pred.mlp_ratio)
    return 2 * num_context * d * dp + blocks + 2 * num_targets * dp * d


def train_step_flops(enc: EncoderConfig, pred: PredictorConfig, batch_size: int, num_context: Sequence[int],
                     num_targets: Sequence[int]) -> float:
    """FLOPs of one training step (see :data:`FORMULA`).

    Args:
        enc, pred: the model configurations.
        batch_size: clips B.
        num_context, num_targets: per mask configuration, the context and target token counts of one clip.
    """
    n = enc.num_tokens
    online = sum(enc.depth * block_flops(k, enc.embed_dim, enc.mlp_ratio) + predictor_forward_flops(pred, k, m)
                 for k, m in zip(num_context, num_targets, strict=True))
    return batch_size * (encoder_forward_flops(enc, n) + 2 * embed_flops(enc, n) + 3 * online)
