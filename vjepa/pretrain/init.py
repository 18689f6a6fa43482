"""``vjepa pretrain --init CKPT`` (``run.init``): continued pretraining or cooldown from a checkpoint's encoder,
predictor and target encoder, with a fresh optimizer and schedule (step 0).

Sources: our training checkpoint (``OUT/checkpoints/*.pt``), our export folder holding all three modules (``vjepa
convert official``), or an official facebookresearch/jepa or vjepa2 ``.pth.tar`` (sizes from ``model.*``).
Loading is strict (every key present, no extra key, every shape equal) with two documented exceptions:

* The fixed sin-cos tables ``pos_embed`` / ``predictor_pos_embed`` are buffers computed from the config, never
  trained; when the new run uses other clip sizes (a 64-frame cooldown of a 16-frame model) the new run's own
  table is kept. V-JEPA 2 files carry such tables that RoPE models lack; they are dropped.
* Mask tokens: the predictor has one per mask configuration (``masks.blocks``), and mask configuration i uses
  token ``i mod n``. When the counts differ (V-JEPA 2 files hold 10, its recipe and ours use 2), new token j is
  source token ``j mod n_source``: the first k when there are fewer, cycled when there are more -- the tokens the
  source predictor itself would have used for those mask configurations.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import torch
from torch import nn

from vjepa.core.errors import CheckpointError
from vjepa.models.registry import ARCHS
from vjepa.weights.detect import Source, detect
from vjepa.weights.io import load_state_strict
from vjepa.weights.load import read_states

log = logging.getLogger("vjepa")
MODULES = ("encoder", "predictor", "target_encoder")
_FIXED_TABLES = ("pos_embed", "predictor_pos_embed")
_NEEDS = "run.init needs a pretraining checkpoint holding encoder, predictor and target_encoder"


def _probe_error(path: Path, found: str) -> CheckpointError:
    return CheckpointError(f"{path} is a probe or fine-tuning checkpoint (found {found}), not a pretraining one; "
                           f"{_NEEDS} (a training checkpoint, a converted export or an official .pth.tar)")


def read_init_states(path: str | Path) -> dict[str, dict[str, torch.Tensor]]:
    """The three state dicts of a checkpoint, keyed ``encoder`` / ``predictor`` / ``target_encoder``."""
    return _read(path)[1]


def _read(path: str | Path) -> tuple[Source, dict[str, dict[str, torch.Tensor]]]:
    source = detect(path)
    if source.kind in ("eval-probe", "official-probe", "finetune-export", "finetune-checkpoint"):
        found = f"modules {', '.join(source.parts)}" if source.content is None else \
            f"keys {', '.join(sorted(map(str, source.content)))[:120]}"
        raise _probe_error(source.path, found)
    missing = [m for m in MODULES if m not in source.parts]
    if missing and source.kind == "export":
        raise CheckpointError(f"{source.path}: export without {', '.join(missing)} (found "
                              f"{', '.join(source.parts)}); {_NEEDS}; a pretraining run's OUT/checkpoints/latest.pt "
                              "has all three")
    if missing or source.kind == "hf-vjepa2":
        found = ", ".join(source.parts) if source.content is None else ", ".join(sorted(map(str, source.content)))
        raise CheckpointError(f"{source.path}: no {', '.join(missing) or 'state dicts of ours'} (found "
                              f"{found[:160]}); {_NEEDS}")
    return source, read_states(source, MODULES)


def _stored_heads(source: Source) -> int | None:
    """The encoder's heads where the source records them (our exports and training checkpoints)."""
    if source.kind == "export" and isinstance(source.meta.get("encoder"), dict):
        return source.meta["encoder"].get("num_heads")
    model = (source.meta.get("config") or {}).get("model") if source.kind == "train-checkpoint" else None
    if isinstance(model, dict):
        return model.get("num_heads") or (ARCHS[model["arch"]].num_heads if model.get("arch") in ARCHS else None)
    return None


def check_encoder_size(source: Source, state: dict[str, torch.Tensor], encoder: nn.Module) -> None:
    """One line naming both sizes when the checkpoint's encoder is not the size of the run's model (instead of
    the strict loader's list of every tensor that does not fit)."""
    cfg, weight = getattr(encoder, "cfg", None), state.get("patch_embed.proj.weight")
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k))}
    if cfg is None or weight is None or not blocks:
        return  # nothing to compare: the strict loader names what is missing
    width, depth, heads = int(weight.shape[0]), max(blocks) + 1, _stored_heads(source)
    if (width, depth) == (cfg.embed_dim, cfg.depth) and heads in (None, cfg.num_heads):
        return
    theirs = f"width {width}, depth {depth}, " + (f"{heads} heads" if heads else "heads not recorded")
    raise CheckpointError(f"{source.path} holds an encoder of {theirs}, but this run's model is width "
                          f"{cfg.embed_dim}, depth {cfg.depth}, {cfg.num_heads} heads; set model.arch (or "
                          "model.embed_dim, model.depth, model.num_heads) to the checkpoint's size, or init from a "
                          "checkpoint of this model's size")


def remap_mask_tokens(state: dict[str, torch.Tensor], count: int) -> dict[str, torch.Tensor]:
    """Predictor state with ``count`` mask tokens: new token j = source token j mod n_source."""
    tokens = sorted((int(m.group(1)), k) for k in state if (m := re.fullmatch(r"mask_tokens\.(\d+)", k)))
    if not tokens or len(tokens) == count:
        return state
    out = {k: v for k, v in state.items() if not re.fullmatch(r"mask_tokens\.\d+", k)}
    source = [state[k] for _, k in tokens]
    for j in range(count):
        out[f"mask_tokens.{j}"] = source[j % len(source)].clone()
    log.info("run.init: %d mask tokens remapped to %d (token j <- token j mod %d)", len(source), count, len(source))
    return out


def _fit_fixed_tables(module: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keep the module's own sin-cos tables where the stored ones have another size or the module has none."""
    own = module.state_dict()
    out = dict(state)
    for name in _FIXED_TABLES:
        if name in out and (name not in own or own[name] is None or own[name].shape != out[name].shape):
            if name in own:
                out[name] = own[name]
            else:
                del out[name]
    return out


def init_from_checkpoint(path: str | Path, encoder: nn.Module, predictor: nn.Module, target: nn.Module) -> None:
    """Load ``path``'s three modules into the freshly built ones, strictly (see the module docstring)."""
    source, states = _read(path)
    check_encoder_size(source, states["encoder"], encoder)
    states["predictor"] = remap_mask_tokens(states["predictor"], len(predictor.mask_tokens))
    for name, module in (("encoder", encoder), ("predictor", predictor), ("target_encoder", target)):
        load_state_strict(module, _fit_fixed_tables(module, states[name]), f"{path} [{name}]")
