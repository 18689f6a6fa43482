"""Typed configuration: the shared sections, the one strict loader, the check helpers, the pretraining config
(schema, cross-field rules, derived step counts)."""

from vjepa.config.checks import at_least, choose, need, span, value_at
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
    leaf_values,
    list_presets,
    load_config,
    load_typed,
    save_resolved,
    set_values,
    to_dict,
    typed_from_dict,
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
from vjepa.config.sections import (
    DEVICES,
    DTYPES,
    ClipConfig,
    EvalClipConfig,
    RuntimeConfig,
    check_clip,
    check_clip_fits,
    check_runtime,
)
from vjepa.config.validation import validate
from vjepa.masks.spec import MaskSpec

__all__ = [
    "DEVICES", "DTYPES", "ClipConfig", "DataConfig", "EvalClipConfig", "LossConfig", "MaskSpec", "MaskingConfig",
    "ModelConfig", "OptimConfig", "PixelConfig", "PretrainConfig", "RunConfig", "RuntimeConfig",
    "SyntheticDataConfig", "at_least", "check_clip", "check_clip_fits", "check_runtime", "choose", "config_from_dict",
    "grad_accum_steps", "leaf_values", "list_presets", "load_config", "load_typed", "micro_batch_size", "need", "per_process_batch",
    "save_resolved", "schedule_steps", "set_values", "span", "to_dict", "total_steps", "typed_from_dict", "validate",
    "value_at", "warmup_steps",
]
