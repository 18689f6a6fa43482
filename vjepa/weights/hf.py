"""Hugging Face ``transformers`` VJEPA2 interop: import a ``VJEPA2Model`` folder, export ours to one.

A VJEPA2 folder holds ``config.json`` (``model_type: vjepa2``) and ``model.safetensors`` (or shards listed in
``model.safetensors.index.json``). transformers itself is never imported here: both directions are plain key maps.

Names (ours → HF ``VJEPA2Model``; ``i`` = block index):

==================================  =========================================================================
``patch_embed.proj.*``              ``encoder.embeddings.patch_embeddings.proj.*``
``blocks.i.attn.qkv.*``             ``encoder.layer.i.attention.{query,key,value}.*`` (rows split in thirds)
``blocks.i.attn.proj.*``            ``encoder.layer.i.attention.proj.*``
``blocks.i.{norm1,norm2,mlp.*}``    ``encoder.layer.i.{norm1,norm2,mlp.*}``
``norm.*``                          ``encoder.layernorm.*``
``predictor_embed.*``               ``predictor.embeddings.predictor_embeddings.*``
``mask_tokens.k`` (1, 1, Dp)        ``predictor.embeddings.mask_tokens`` (K, 1, 1, Dp), stacked in order
``predictor_blocks.i.*``            ``predictor.layer.i.*`` (inner names as for the encoder)
``predictor_norm.*``, ``_proj.*``   ``predictor.layernorm.*``, ``predictor.proj.*``
==================================  =========================================================================

Behaviour that differs from transformers: HF takes token coordinates from ``crop_size / patch_size`` in the
config, so it is right only for square inputs of exactly ``crop_size``; our modules use the actual input grid
(identical results at ``crop_size``). HF's predictor always uses mask token 1 (``mask_index=1`` here).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from vjepa.core.errors import CheckpointError, ConfigError
from vjepa.core.io import atomic_write
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.predictor import Predictor, PredictorConfig
from vjepa.weights.io import load_state_strict, load_tensors, read_json_object
from vjepa.weights.keys import split_prefixes

log = logging.getLogger("vjepa")
MASK_TOKENS = "predictor.embeddings.mask_tokens"
_QKV = ("query", "key", "value")


def is_hf_folder(path: str | os.PathLike) -> bool:
    """True for a folder whose ``config.json`` says ``model_type: vjepa2``."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("model_type") == "vjepa2"
    except (ValueError, OSError, AttributeError):
        return False


def hf_names(ours: str, part: str) -> list[str]:
    """HF names of one of our tensors (three for a fused ``qkv``); ``part`` is ``encoder`` or ``predictor``."""
    top = {"encoder": {"patch_embed.": "encoder.embeddings.patch_embeddings.", "norm.": "encoder.layernorm."},
           "predictor": {"predictor_embed.": "predictor.embeddings.predictor_embeddings.",
                         "predictor_norm.": "predictor.layernorm.", "predictor_proj.": "predictor.proj."}}[part]
    for prefix, hf in top.items():
        if ours.startswith(prefix):
            return [hf + ours[len(prefix):]]
    block = "blocks" if part == "encoder" else "predictor_blocks"
    m = re.fullmatch(rf"{block}\.(\d+)\.(.+)", ours)
    if m is None:
        raise CheckpointError(f"no Hugging Face name for {part} tensor {ours}")
    layer, inner = f"{part}.layer.{m.group(1)}.", m.group(2)
    if inner.startswith("attn.qkv."):
        return [f"{layer}attention.{name}.{inner.rsplit('.', 1)[1]}" for name in _QKV]
    return [layer + inner.replace("attn.", "attention.", 1)]


def _from_hf(module: torch.nn.Module, part: str, hf: dict[str, torch.Tensor], used: set[str]) -> dict:
    """Our state dict for ``module`` gathered from HF tensors (records the HF names it consumed)."""
    state = {}
    for key in module.state_dict():
        if re.fullmatch(r"mask_tokens\.\d+", key):
            if MASK_TOKENS not in hf:
                raise CheckpointError(f"the weights have no {MASK_TOKENS}")
            tokens = hf[MASK_TOKENS]
            k = int(key.split(".")[1])
            if k >= tokens.shape[0]:
                raise CheckpointError(f"{MASK_TOKENS} holds {tokens.shape[0]} tokens, the model needs {k + 1}")
            state[key] = tokens[k]
            used.add(MASK_TOKENS)
            continue
        names = hf_names(key, part)
        missing = [n for n in names if n not in hf]
        if missing:
            raise CheckpointError(f"the weights have no {', '.join(missing)}")
        state[key] = torch.cat([hf[n] for n in names]) if len(names) > 1 else hf[names[0]]
        used.update(names)
    return state


def to_hf_state(encoder: VideoEncoder, predictor: Predictor | None) -> dict[str, torch.Tensor]:
    """HF ``VJEPA2Model`` tensors of our modules (contiguous CPU copies)."""
    out: dict[str, torch.Tensor] = {}
    parts = [("encoder", encoder)] + ([("predictor", predictor)] if predictor is not None else [])
    for part, module in parts:
        tokens = []
        for key, value in module.state_dict().items():
            value = value.detach().cpu()
            if re.fullmatch(r"mask_tokens\.\d+", key):
                tokens.append(value)
                continue
            names = hf_names(key, part)
            for name, chunk in zip(names, value.chunk(len(names))):
                out[name] = chunk.contiguous()
        if tokens:
            out[MASK_TOKENS] = torch.stack(tokens).contiguous()  # (K, 1, 1, Dp)
    return out


@dataclass
class HFModel:
    encoder: VideoEncoder
    predictor: Predictor | None
    """None for an encoder-only folder (``export_hf(encoder, None)``)."""
    config: dict[str, Any]
    """The folder's config.json."""
    heads: dict[str, torch.Tensor] = field(default_factory=dict)
    """A ``VJEPA2ForVideoClassification``'s tensors outside the backbone (``pooler.*``, ``classifier.*``), by
    their HF names; :mod:`vjepa.weights.hf_classifier` builds the probe from them."""


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    single, index = folder / "model.safetensors", folder / "model.safetensors.index.json"
    if single.is_file():
        return load_tensors(single)
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise CheckpointError(f"{index}: not a safetensors index ({e})") from None
        tensors: dict[str, torch.Tensor] = {}
        for shard in shards:
            tensors.update(load_tensors(folder / shard))
        return tensors
    raise CheckpointError(f"{folder}: no model.safetensors (nor model.safetensors.index.json); save the model "
                          "with save_pretrained(..., safe_serialization=True)")


def _count(hf: dict[str, torch.Tensor], prefix: str) -> int:
    found = {int(m.group(1)) for k in hf if (m := re.match(rf"{re.escape(prefix)}\.(\d+)\.", k))}
    return max(found) + 1 if found else 0


def configs_from_hf(cfg: dict[str, Any], hf: dict[str, torch.Tensor], where: str) -> tuple[EncoderConfig,
                                                                                            PredictorConfig | None]:
    """Our encoder and predictor configs from an HF VJEPA2 config, each value checked against the weights; the
    predictor config is None when the weights hold no ``predictor.*`` tensor (an encoder-only export)."""
    def get(key: str, default: Any) -> Any:
        return cfg.get(key, default)

    def need(ok: bool, key: str, value: Any, weights: Any, tensor: str) -> None:
        if not ok:
            raise ConfigError(f"{where}: {key} is {value} but the weights say {weights} ({tensor}); this "
                              "config.json does not belong to these weights: fix it or use the matching files")

    if get("model_type", None) != "vjepa2":
        raise ConfigError(f"{where}: model_type is {get('model_type', None)!r}, not 'vjepa2'")
    patch = get("patch_size", 16)
    if not isinstance(patch, int):
        raise ConfigError(f"{where}: patch_size {patch!r} is not one integer; only square patches are supported")
    if get("hidden_act", "gelu") != "gelu":
        raise ConfigError(f"{where}: hidden_act {get('hidden_act', None)!r} is not supported (only 'gelu')")
    conv = "encoder.embeddings.patch_embeddings.proj.weight"
    if conv not in hf:
        raise CheckpointError(f"{where}: the weights have no {conv}; not a VJEPA2Model")
    width, chans, tubelet = hf[conv].shape[0], hf[conv].shape[1], hf[conv].shape[2]
    dim, depth, heads = get("hidden_size", 1024), get("num_hidden_layers", 24), get("num_attention_heads", 16)
    need(dim == width, "hidden_size", dim, width, conv)
    need(get("in_chans", 3) == chans, "in_chans", get("in_chans", 3), chans, conv)
    need(get("tubelet_size", 2) == tubelet and hf[conv].shape[-1] == patch, "tubelet_size x patch_size",
         f"{get('tubelet_size', 2)}x{patch}", f"{tubelet}x{hf[conv].shape[-1]}", conv)
    layers = _count(hf, "encoder.layer")
    need(depth == layers, "num_hidden_layers", depth, layers, "encoder.layer.*")
    hidden = hf["encoder.layer.0.mlp.fc1.weight"].shape[0] if depth else 0
    need(int(dim * get("mlp_ratio", 4.0)) == hidden, "mlp_ratio", get("mlp_ratio", 4.0), f"{hidden}/{dim}",
         "encoder.layer.0.mlp.fc1.weight")
    need(dim % heads == 0, "num_attention_heads", heads, f"width {dim}", conv)
    crop, frames = get("crop_size", 256), get("frames_per_clip", 64)
    common = dict(qkv_bias=get("qkv_bias", True), norm_eps=get("layer_norm_eps", 1e-6), use_rope=True,
                  rope_layout="tiled")
    enc = EncoderConfig(embed_dim=dim, depth=depth, num_heads=heads, mlp_ratio=get("mlp_ratio", 4.0),
                        patch_size=patch, tubelet_size=tubelet, num_frames=frames, img_size=crop, in_chans=chans,
                        **common)
    if not any(k.startswith("predictor.") for k in hf):
        return enc, None
    embed = "predictor.embeddings.predictor_embeddings.weight"
    if embed not in hf:
        raise CheckpointError(f"{where}: the weights have no {embed}; not a VJEPA2Model with its predictor")
    pdim, pdepth = get("pred_hidden_size", 384), get("pred_num_hidden_layers", 12)
    need(pdim == hf[embed].shape[0], "pred_hidden_size", pdim, hf[embed].shape[0], embed)
    need(pdepth == _count(hf, "predictor.layer"), "pred_num_hidden_layers", pdepth,
         _count(hf, "predictor.layer"), "predictor.layer.*")
    tokens = hf[MASK_TOKENS].shape[0] if MASK_TOKENS in hf else 0
    need(get("pred_num_mask_tokens", 10) == tokens, "pred_num_mask_tokens", get("pred_num_mask_tokens", 10), tokens,
         MASK_TOKENS)
    pheads = get("pred_num_attention_heads", 12)
    need(pdim % pheads == 0, "pred_num_attention_heads", pheads, f"width {pdim}", embed)
    pred = PredictorConfig(embed_dim=dim, predictor_embed_dim=pdim, depth=pdepth, num_heads=pheads,
                           mlp_ratio=get("pred_mlp_ratio", 4.0), num_mask_tokens=tokens,
                           zero_init_mask_tokens=get("pred_zero_init_mask_tokens", True), grid=enc.grid, **common)
    return enc, pred


def load_hf(folder: str | os.PathLike) -> HFModel:
    """Our encoder and predictor from a transformers ``VJEPA2Model`` (or ``VJEPA2ForVideoClassification``) folder;
    a classifier's pooler and linear layer are returned unread in ``heads`` (see :mod:`.hf_classifier`).

    Raises:
        ConfigError: config.json is not VJEPA2 or disagrees with the weights (the key is named);
        CheckpointError: missing or unreadable files, or tensors that do not map.
    """
    folder = Path(folder)
    config_path = folder / "config.json"
    cfg = read_json_object(config_path)
    hf = _read_weights(folder)
    modules = split_prefixes(hf)
    heads: dict[str, torch.Tensor] = {}
    if "vjepa2" in modules:  # a classifier: the backbone lives under vjepa2., the head beside it
        heads = {k: v for k, v in hf.items() if not k.startswith("vjepa2.")}
        hf = modules["vjepa2"]
    enc_cfg, pred_cfg = configs_from_hf(cfg, hf, str(config_path))
    encoder, predictor = VideoEncoder(enc_cfg), None if pred_cfg is None else Predictor(pred_cfg)
    used: set[str] = set()
    load_state_strict(encoder, _from_hf(encoder, "encoder", hf, used), f"{folder} [encoder]")
    if predictor is None:
        log.info("%s: no predictor weights; loaded the encoder only", folder)
    else:
        load_state_strict(predictor, _from_hf(predictor, "predictor", hf, used), f"{folder} [predictor]")
    unexpected = sorted(set(hf) - used)
    if unexpected:
        raise CheckpointError(f"{folder}: tensors that map onto nothing: {', '.join(unexpected[:8])}"
                              + (f" (+{len(unexpected) - 8} more)" if len(unexpected) > 8 else ""))
    return HFModel(encoder.eval(), None if predictor is None else predictor.eval(), cfg, heads)


def hf_config(encoder: VideoEncoder, predictor: Predictor | None) -> dict[str, Any]:
    """The HF ``VJEPA2Config`` of our modules; ConfigError naming the first field HF cannot represent."""
    e = encoder.cfg
    problems = []
    if not e.use_rope or e.rope_layout != "tiled":
        problems.append("the encoder must use tiled RoPE (a vjepa2_* size); HF VJEPA2 has no sin-cos tables"
                        if not e.use_rope else f"rope_layout is {e.rope_layout!r}; HF VJEPA2 implements 'tiled'")
    if e.img_size % e.patch_size:
        problems.append(f"img_size {e.img_size} is not a multiple of patch_size {e.patch_size}")
    p = predictor.cfg if predictor is not None else None
    if p is not None:
        if not p.use_rope or p.rope_layout != "tiled":
            problems.append("the predictor must use tiled RoPE")
        if (p.qkv_bias, p.norm_eps) != (e.qkv_bias, e.norm_eps):
            problems.append("HF shares qkv_bias and layer_norm_eps between encoder and predictor; ours differ")
        if tuple(p.grid) != e.grid:
            problems.append(f"predictor grid {tuple(p.grid)} differs from the encoder's {e.grid}")
    if problems:
        raise ConfigError("cannot export to the Hugging Face VJEPA2 format: " + "; ".join(problems))
    p = p or PredictorConfig(embed_dim=e.embed_dim, num_heads=12, num_mask_tokens=10)
    return {
        "architectures": ["VJEPA2Model"], "model_type": "vjepa2", "dtype": "float32",
        "patch_size": e.patch_size, "crop_size": e.img_size, "frames_per_clip": e.num_frames,
        "tubelet_size": e.tubelet_size, "hidden_size": e.embed_dim, "in_chans": e.in_chans,
        "num_attention_heads": e.num_heads, "num_hidden_layers": e.depth, "drop_path_rate": 0.0,
        "mlp_ratio": e.mlp_ratio, "layer_norm_eps": e.norm_eps, "qkv_bias": e.qkv_bias,
        "attention_probs_dropout_prob": 0.0, "hidden_act": "gelu", "initializer_range": 0.02,
        "attention_dropout": 0.0, "num_pooler_layers": 3, "pred_hidden_size": p.predictor_embed_dim,
        "pred_num_attention_heads": p.num_heads, "pred_num_hidden_layers": p.depth,
        "pred_num_mask_tokens": p.num_mask_tokens, "pred_zero_init_mask_tokens": p.zero_init_mask_tokens,
        "pred_mlp_ratio": p.mlp_ratio,
    }


def export_hf(encoder: VideoEncoder, predictor: Predictor | None, out_dir: str | os.PathLike) -> Path:
    """Write ``config.json`` and ``model.safetensors`` that ``VJEPA2Model.from_pretrained(out_dir)`` loads.

    Without a predictor, transformers initialises its predictor randomly (and says so); the encoder is exact, and
    :func:`load_hf` (``vjepa.load``) reads the folder back as an encoder without a predictor.
    Both files are written atomically, and nothing is written when the model cannot be represented.
    """
    config = hf_config(encoder, predictor)  # raises before anything is written
    tensors = to_hf_state(encoder, predictor)
    out_dir = Path(out_dir)
    if predictor is None:
        log.warning("%s: no predictor exported; transformers will initialise VJEPA2Model.predictor randomly", out_dir)
    atomic_write(out_dir / "model.safetensors", lambda p: save_file(tensors, p, metadata={"format": "pt"}))
    atomic_write(out_dir / "config.json", lambda p: Path(p).write_text(json.dumps(config, indent=2) + "\n"))
    return out_dir
