"""Analytic per-GPU memory estimate of a V-JEPA pretraining step (DDP, bf16 autocast, AdamW) - an *estimate* for
planning, not a measurement: the allocator's overhead, fragmentation, the CUDA context (~0.5-1 GB) and temporaries
are not included.

Model (bytes): fp32 weights 4·P, gradients 4·P, AdamW moments 8·P, the autocast bf16 weight copies 2·P (P =
encoder + predictor parameters), the EMA target encoder 4·P_enc. Activations per transformer block of n tokens, width
d, batch b: ~34·n·b·d bytes with a fused (flash) attention kernel that stores no n×n scores (Korthikanti et al.
2022, bf16, no dropout), kept for every block of the online encoder (per mask configuration, n = its context
tokens K_i) and of the predictor (n = K_i + M_i). With activation checkpointing only each block's fp32 input
(4·n·b·d) is kept, plus one block's activations while it is recomputed. The target encoder runs without gradients
(transient, not counted).
"""

from __future__ import annotations

from collections.abc import Sequence

from vjepa.models.registry import arch_spec, count_parameters

ACT_BYTES_PER_TOKEN_WIDTH = 34
"""Stored activation bytes per token and channel of one block, bf16 autocast, fused attention."""


def predictor_parameters(enc_dim: int, depth: int, dim: int, num_mask_tokens: int = 2) -> int:
    """Trainable parameters of the predictor (embedding, mask tokens, blocks, norm, projection)."""
    block = (dim * 3 * dim + 3 * dim) + (dim * dim + dim) + (dim * 4 * dim + 4 * dim) + (4 * dim * dim + dim) + 4 * dim
    return enc_dim * dim + dim + num_mask_tokens * dim + depth * block + 2 * dim + dim * enc_dim + enc_dim


def estimate_memory_gb(arch: str, batch: int, context: Sequence[int], targets: Sequence[int], pred_depth: int = 12,
                       pred_dim: int = 384, checkpointing: bool = False) -> dict[str, float]:
    """Per-GPU memory of one training step, in GB (1e9 bytes).

    Args:
        arch: encoder size name (``vjepa models``).
        batch: clips per forward pass on one GPU (the micro-batch).
        context, targets: per mask configuration, the context and target token counts of a clip.
        pred_depth, pred_dim: the predictor's depth and width.
        checkpointing: ``run.activation_checkpointing``.

    Returns:
        ``params_m`` (millions), ``states_gb`` (weights, gradients, AdamW, bf16 copies, EMA target),
        ``activations_gb`` and ``total_gb``.
    """
    spec = arch_spec(arch)
    p_enc = count_parameters(arch)
    p_all = p_enc + predictor_parameters(spec.embed_dim, pred_depth, pred_dim, len(context))
    states = 18 * p_all + 4 * p_enc
    runs = [(spec.depth, k, spec.embed_dim) for k in context] + [(pred_depth, k + m, pred_dim)
                                                                  for k, m in zip(context, targets, strict=True)]
    if checkpointing:
        kept = sum(depth * 4 * n * batch * d for depth, n, d in runs)
        act = kept + max(ACT_BYTES_PER_TOKEN_WIDTH * n * batch * d for _, n, d in runs)
    else:
        act = sum(depth * ACT_BYTES_PER_TOKEN_WIDTH * n * batch * d for depth, n, d in runs)
    return {"params_m": p_all / 1e6, "states_gb": states / 1e9, "activations_gb": act / 1e9,
            "total_gb": (states + act) / 1e9}
