"""Cross-field rules of a pretraining config (:class:`PretrainConfig`), checked before any work starts.

The rules use the shared helpers of :mod:`vjepa.config.checks` and section checks of :mod:`vjepa.config.sections`,
as every other config's ``validate`` function does.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from vjepa.config.checks import at_least, choose, need, span
from vjepa.config.derived import grad_accum_steps, micro_batch_size, per_process_batch
from vjepa.config.schema import PretrainConfig
from vjepa.config.sections import DEVICES, DTYPES, check_clip


def validate(cfg: PretrainConfig, world_size: int = 1, known_archs: Collection[str] | None = None) -> None:
    """Check the cross-field rules; the first violation raises a one-line ConfigError naming key(s) and fix.
    ``known_archs`` (hook for the model registry): when given, ``model.arch`` must be one of them. The schedules
    must not end before training (``optim.schedule_horizon`` >= 1), else the EMA momentum passes ``ema[1]``."""
    m, d, o, k, r = cfg.model, cfg.data, cfg.optim, cfg.masks, cfg.run
    at_least(cfg, 1, ("model.embed_dim model.depth model.num_heads model.patch_size model.tubelet_size "
                      "model.pred_depth model.pred_embed_dim model.pred_num_heads").split())
    check_clip(d, "data.")
    at_least(cfg, 1, ("data.synthetic.num_videos data.synthetic.size data.synthetic.num_classes data.physics.num_videos "
                      "optim.batch_size "
                      "optim.epochs optim.micro_batch_size optim.steps_per_epoch run.max_steps run.log_every "
                      "run.checkpoint_every pixel.decoder_depth pixel.decoder_embed_dim "
                      "pixel.decoder_num_heads").split())
    at_least(cfg, 0, ("data.num_workers run.keep_every run.health_every optim.start_lr optim.final_lr "
                      "optim.weight_decay optim.final_weight_decay loss.reg_coeff").split())
    if known_archs is not None:
        choose("model.arch", m.arch, known_archs)
    missing = [f"model.{n}" for n in ("embed_dim", "depth", "num_heads") if getattr(m, n) is None]
    need(m.arch != "custom" or not missing, f"model.arch 'custom' needs {', '.join(missing)}; set them")
    need(None in (m.embed_dim, m.num_heads) or m.embed_dim % m.num_heads == 0,
          f"model.embed_dim {m.embed_dim} is not divisible by model.num_heads {m.num_heads}; change either")
    heads = m.pred_num_heads if m.pred_num_heads is not None else m.num_heads
    need(heads is None or m.pred_embed_dim % heads == 0, f"model.pred_embed_dim {m.pred_embed_dim} is not "
          f"divisible by the predictor heads {heads} (model.pred_num_heads, null = model.num_heads); change either")
    choose("model.attention", m.attention, ("auto", "sdpa", "manual"))
    need(d.crop_size % m.patch_size == 0, f"data.crop_size {d.crop_size} is not divisible by model.patch_size "
          f"{m.patch_size}; use a multiple, e.g. {max(1, round(d.crop_size / m.patch_size)) * m.patch_size}")
    need(d.num_frames % m.tubelet_size == 0, f"data.num_frames {d.num_frames} is not divisible by "
          f"model.tubelet_size {m.tubelet_size}; use a multiple of {m.tubelet_size}")
    span("data.random_resize_scale", d.random_resize_scale)
    span("data.random_resize_aspect_ratio", d.random_resize_aspect_ratio, None)
    choose("data.dataset", d.dataset, ("synthetic", "physics", "videos"))
    need(d.physics.size >= 32, f"data.physics.size = {d.physics.size}: must be >= 32")
    need(0.5 <= d.physics.object_scale <= 2.0,
         f"data.physics.object_scale = {d.physics.object_scale}: must be in [0.5, 2]")
    need(d.dataset != "physics" or d.num_frames >= 8,
         f"data.num_frames = {d.num_frames}: the physics world needs >= 8")
    choose("data.short_video", d.short_video, ("official", "loop", "skip"))
    need(cfg.run.seed >= 0, f"run.seed {cfg.run.seed} must be >= 0")
    need(d.clip_duration is None or d.clip_duration > 0, f"data.clip_duration {d.clip_duration} must be > 0 or null")
    need(0.0 <= d.max_bad_fraction <= 1.0, f"data.max_bad_fraction {d.max_bad_fraction} must be in [0, 1]")
    need(d.max_retries >= 0 and d.decode_timeout_s > 0,
          "data.max_retries must be >= 0 and data.decode_timeout_s > 0")
    need(d.dataset != "videos" or bool(d.paths), "data.dataset 'videos' needs data.paths (CSV lists or folders)")
    need(d.weights is None or len(d.weights) == len(d.paths), f"data.weights has {len(d.weights or ())} entries "
          f"but data.paths has {len(d.paths)}; give one weight per path, or null")
    per_process_batch(o, world_size)  # optim.batch_size divisible by world_size
    grad_accum_steps(o, world_size)  # optim.micro_batch_size divides the per-process batch
    need(0 < o.lr < math.inf, f"optim.lr = {o.lr}: must be > 0")
    need(0 <= o.warmup_epochs <= o.epochs,
          f"optim.warmup_epochs = {o.warmup_epochs}: must be in [0, optim.epochs = {o.epochs}]")
    choose("optim.lr_schedule", o.lr_schedule, ("warmup_cosine", "constant_then_linear"))
    need(0 <= o.constant_epochs and o.warmup_epochs + o.constant_epochs <= o.epochs * o.schedule_horizon,
          f"optim.constant_epochs = {o.constant_epochs}: need >= 0 and warmup_epochs + constant_epochs <= "
          "epochs x schedule_horizon (the decay must fit in the schedule)")
    need(1 <= o.schedule_horizon < math.inf, f"optim.schedule_horizon = {o.schedule_horizon}: must be >= 1 "
          "(the schedules must not end before training does; official 1.25)")
    need(0 <= o.ema[0] <= o.ema[1] <= 1, f"optim.ema = {list(o.ema)}: need [start, end] with 0 <= start <= end <= 1")
    need(all(0 <= b < 1 for b in o.betas) and o.eps > 0, "optim.betas must be in [0, 1) and optim.eps > 0")
    need(o.clip_grad is None or o.clip_grad > 0, f"optim.clip_grad = {o.clip_grad}: must be > 0 (or null = off)")
    need(cfg.loss.loss_exp > 0, f"loss.loss_exp = {cfg.loss.loss_exp}: must be > 0 (1 = L1, official)")
    choose("masks.equalize", k.equalize, ("random_subset", "truncate", "none"))
    need(len(k.blocks) >= 1, "masks.blocks is empty; give at least one mask configuration")
    for i, spec in enumerate(k.blocks):
        key = f"masks.blocks[{i}]"
        for name, upper in (("spatial_scale", 1.0), ("temporal_scale", 1.0), ("aspect_ratio", None)):
            span(f"{key}.{name}", getattr(spec, name), upper)
        need(spec.num_blocks >= 1, f"{key}.num_blocks = {spec.num_blocks}: must be >= 1")
        need(0 < spec.max_temporal_keep <= 1, f"{key}.max_temporal_keep = {spec.max_temporal_keep}: need (0, 1]")
        need(spec.max_keep is None or spec.max_keep >= 1, f"{key}.max_keep = {spec.max_keep}: must be >= 1 or null")
    need(k.equalize != "none" or (micro_batch_size(o, world_size) == 1 and all(b.max_keep is None for b in k.blocks)),
          "masks.equalize 'none' needs optim.micro_batch_size 1 and no max_keep; use 'random_subset' or 'truncate'")
    choose("run.device", r.device, DEVICES)
    need(0 < r.dist_timeout_s < math.inf, f"run.dist_timeout_s = {r.dist_timeout_s}: must be > 0 seconds")
    choose("run.dtype", r.dtype, DTYPES)
    choose("objective", cfg.objective, ("vjepa", "pixel"))
    need(r.init is None or cfg.objective == "vjepa", "run.init needs objective 'vjepa': it loads an "
          "encoder, predictor and target encoder; unset one of them")
    p = cfg.pixel
    need(0 < p.mask_ratio < 1, f"pixel.mask_ratio = {p.mask_ratio}: must be in (0, 1) (VideoMAE: 0.9)")
    spatial = (d.crop_size // m.patch_size) ** 2
    masked = round(p.mask_ratio * spatial)
    need(cfg.objective != "pixel" or 0 < masked < spatial, f"pixel.mask_ratio = {p.mask_ratio} masks {masked} of "
          f"the {spatial} spatial positions per frame; need at least one masked and one visible")
    width = p.decoder_embed_dim or (m.embed_dim // 2 if m.embed_dim else None)
    heads = p.decoder_num_heads or m.num_heads
    need(cfg.objective != "pixel" or None in (width, heads) or width % heads == 0,
          f"pixel decoder width {width} (pixel.decoder_embed_dim, null = half model.embed_dim) is not divisible by "
          f"its heads {heads} (pixel.decoder_num_heads, null = model.num_heads); change either")
