"""Typed configuration of a pretraining run: schema, loading / checking / saving, and derived step counts."""

from vjepa.config.derived import (
    grad_accum_steps,
    micro_batch_size,
    per_process_batch,
    schedule_steps,
    total_steps,
    warmup_steps,
)
from vjepa.config.loader import (
    config_from_dict,
    list_presets,
    load_config,
    load_typed,
    save_resolved,
    to_dict,
    validate,
)
from vjepa.config.schema import (
    DataConfig,
    LossConfig,
    MaskingConfig,
    ModelConfig,
    OptimConfig,
    PixelConfig,
    PretrainConfig,
    RunConfig,
    SyntheticDataConfig,
)
from vjepa.masks.spec import MaskSpec

__all__ = [
    "DataConfig", "LossConfig", "MaskSpec", "MaskingConfig", "ModelConfig", "OptimConfig", "PixelConfig",
    "PretrainConfig", "RunConfig", "SyntheticDataConfig", "config_from_dict", "grad_accum_steps", "list_presets",
    "load_config", "load_typed", "micro_batch_size", "per_process_batch", "save_resolved", "schedule_steps", "to_dict",
    "total_steps", "validate", "warmup_steps",
]
