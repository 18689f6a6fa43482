"""Building the pieces of a run from a validated config: device, precision, models, masks."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import torch

from vjepa.config.schema import PretrainConfig, RunConfig
from vjepa.core.errors import ConfigError
from vjepa.models.encoder import VideoEncoder
from vjepa.models.pixel_decoder import PixelDecoder, pixel_decoder_config
from vjepa.models.predictor import Predictor
from vjepa.models.registry import encoder_config, predictor_config


def build_models(cfg: PretrainConfig) -> tuple[VideoEncoder, Predictor | PixelDecoder, VideoEncoder]:
    """Encoder, predictor (one mask token per mask configuration) and the target encoder (a frozen copy).

    ``objective: pixel``: encoder, pixel decoder, and the encoder again in the target slot (no EMA target; see
    :mod:`vjepa.pretrain.pixel_step`). The encoder is built first in both cases, so under the same seed both
    objectives start from the same encoder weights."""
    m, d = cfg.model, cfg.data
    enc_cfg = encoder_config(
        m.arch, num_frames=d.num_frames, img_size=d.crop_size, tubelet_size=m.tubelet_size,
        uniform_power=m.uniform_power, attention=m.attention, embed_dim=m.embed_dim, depth=m.depth,
        num_heads=m.num_heads, mlp_ratio=m.mlp_ratio, patch_size=m.patch_size,
    )
    encoder = VideoEncoder(enc_cfg)
    if cfg.objective == "pixel":
        p = cfg.pixel
        decoder = PixelDecoder(pixel_decoder_config(enc_cfg, depth=p.decoder_depth, embed_dim=p.decoder_embed_dim,
                                                    num_heads=p.decoder_num_heads))
        return encoder, decoder, encoder
    predictor = Predictor(predictor_config(
        enc_cfg, depth=m.pred_depth, embed_dim=m.pred_embed_dim, num_heads=m.pred_num_heads,
        num_mask_tokens=len(cfg.masks.blocks), zero_init_mask_tokens=m.zero_init_mask_tokens,
    ))
    encoder.grad_checkpointing = predictor.grad_checkpointing = cfg.run.activation_checkpointing
    target = copy.deepcopy(encoder)  # runs without gradients, so never recomputes
    for p in target.parameters():
        p.requires_grad_(False)
    return encoder, predictor, target


def compile_in_place(*modules: torch.nn.Module) -> None:
    """``run.compile``: compile each module's forward with ``torch.compile``, in place (``nn.Module.compile``), so
    parameter names, state dicts and the EMA pairing stay those of the eager module."""
    for module in modules:
        module.compile()


@contextlib.contextmanager
def speed_switches(run: RunConfig) -> Iterator[None]:
    """The process-wide torch settings a run asks for (``run.onednn_fp32``), restored on exit."""
    if not run.onednn_fp32:
        yield
        return
    matmul = getattr(torch.backends.mkldnn, "matmul", None)
    if matmul is None or not hasattr(matmul, "fp32_precision"):
        raise ConfigError(f"run.onednn_fp32 needs torch.backends.mkldnn.matmul.fp32_precision, which torch "
                          f"{torch.__version__} lacks; upgrade torch or set run.onednn_fp32=false")
    old = matmul.fp32_precision
    matmul.fp32_precision = "bf16"  # on CPUs without AMX oneDNN still computes in fp32 (docs/scaling.md)
    try:
        yield
    finally:
        matmul.fp32_precision = old
