"""The one device and precision policy of every pipeline (pretraining, evaluation, fine-tuning, features).

``auto`` precision is bf16 on GPUs and on CPUs with native bf16 matmuls (avx512_bf16 or AMX), fp32 elsewhere: on
the project's CPU a bf16 matmul runs at 2-2.4x the fp32 rate, while CPUs without those instructions emulate bf16
and are slower with it than without.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch

from vjepa.core.errors import ConfigError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto``: CUDA when available, else CPU. Asking for CUDA without one is a one-line error."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but no CUDA device is available; use 'cpu' or 'auto'")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device {name!r}: use 'auto', 'cpu' or 'cuda'") from None


def cpu_has_bf16() -> bool:
    """Native bf16 matmul support (avx512_bf16 or AMX) on this CPU."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_dtype(name: str | torch.dtype, device: torch.device) -> torch.dtype:
    """``auto`` -> bf16 on GPUs and bf16-capable CPUs, fp32 elsewhere; ``float32`` / ``bfloat16`` as named."""
    if isinstance(name, torch.dtype):
        return name
    if name == "auto":
        use_bf16 = device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16())
        return torch.bfloat16 if use_bf16 else torch.float32
    if name not in DTYPES:
        raise ConfigError(f"dtype {name!r}: use auto, float32 or bfloat16")
    return DTYPES[name]


@contextlib.contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch CPU threads (None: leave the setting alone); restores it after."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device``, or nothing for fp32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
