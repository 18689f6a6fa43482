"""Multi-process training on torch.distributed: the process layout from torchrun's environment, the process group
(gloo on CPU, NCCL on GPU) with timeouts, DDP wrapping and the few collectives the loop needs.

Nothing here is global: :func:`dist_from_env` reads the environment when called, and :func:`process_group` creates
and destroys the group around a run. A single process (no ``WORLD_SIZE`` in the environment, or ``WORLD_SIZE=1``)
never touches torch.distributed.

How a run is split (see also ``vjepa/pretrain/data.py``): the global batch ``optim.batch_size`` is cut into slots of
``micro_batch_size`` clips; rank r processes slots ``r·A … r·A + A − 1`` of every step, ``A`` being its number of
accumulation steps. Data and masks are keyed by the slot, so a run with the same micro-batch size computes the same
micro-batches at any world size, and the averaged gradient is the same up to float rounding.

Failure handling: every collective (the rendezvous included) waits at most ``run.dist_timeout_s`` seconds, so a rank
that dies or stalls makes the others fail with a one-line error instead of hanging. Under torchrun the agent also
stops the surviving ranks as soon as one exits with an error.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from vjepa.core.errors import ConfigError, VjepaError


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    """Rank on this node (selects the GPU)."""

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that logs and writes files."""
        return self.rank == 0


def _env_int(env: Mapping[str, str], name: str, default: int | None = None) -> int:
    value = env.get(name)
    if value is None:
        if default is None:
            raise ConfigError(f"{name} is not set but WORLD_SIZE is; launch with torchrun (docs/scaling.md) or set "
                              "RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT for every process")
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} is not an integer; fix the launcher") from None


def dist_from_env(env: Mapping[str, str] | None = None) -> DistInfo:
    """The process layout set by torchrun (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR/PORT``).

    Raises:
        ConfigError: an inconsistent layout, or several processes without a rendezvous address.
    """
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return DistInfo()
    world = _env_int(env, "WORLD_SIZE")
    rank = _env_int(env, "RANK", 0 if world == 1 else None)
    local_rank = _env_int(env, "LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world or local_rank < 0:
        raise ConfigError(f"RANK={rank}, LOCAL_RANK={local_rank}, WORLD_SIZE={world}: need 0 <= RANK < WORLD_SIZE; "
                          "fix the launcher")
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if world > 1 and not env.get(name)]
    if missing:
        raise ConfigError(f"WORLD_SIZE={world} but no rendezvous: {' and '.join(missing)} not set; launch with "
                          "`torchrun --nproc_per_node N -m vjepa pretrain ...` (docs/scaling.md) or set them")
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank)


def device_for(device: torch.device, info: DistInfo) -> torch.device:
    """One GPU per process: ``cuda:LOCAL_RANK`` (made current); CPU stays CPU."""
    if device.type != "cuda" or info.world_size == 1:
        return device
    if info.local_rank >= torch.cuda.device_count():
        raise ConfigError(f"LOCAL_RANK {info.local_rank} but only {torch.cuda.device_count()} GPU(s) on this node; "
                          "start at most one process per GPU (--nproc_per_node)")
    torch.cuda.set_device(info.local_rank)
    return torch.device("cuda", info.local_rank)


def backend_name(device: torch.device) -> str:
    """NCCL for CUDA devices, gloo otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


@contextlib.contextmanager
def process_group(info: DistInfo, device: torch.device, timeout_s: float) -> Iterator[None]:
    """Join (and finally leave) the default process group: NCCL for CUDA devices, gloo otherwise.

    Nothing happens for a single process or when a group already exists (the caller owns it then).

    Raises:
        VjepaError: the rendezvous was not reached within ``timeout_s`` (a rank missing, a wrong address).
    """
    if info.world_size == 1 or dist.is_initialized():
        yield
        return
    backend = backend_name(device)
    where = f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}"
    try:
        dist.init_process_group(backend, rank=info.rank, world_size=info.world_size,
                                timeout=timedelta(seconds=timeout_s))
    except (RuntimeError, ValueError, TimeoutError, OSError) as e:  # DistError subclasses RuntimeError
        raise VjepaError(f"rank {info.rank}: could not join the {backend} process group at {where} within "
                         f"run.dist_timeout_s={timeout_s:g} s ({_first_line(e)}); check that all {info.world_size} "
                         "processes were started and can reach that address") from None
    try:
        yield
    finally:
        dist.destroy_process_group()


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


def is_collective_failure(e: BaseException) -> bool:
    """Whether an exception comes from a failed collective (a peer died, stalled or closed its connection)."""
    if isinstance(e, getattr(dist, "DistError", ())):
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and any(
        key in text for key in ("gloo", "NCCL", "Connection closed", "Connection reset", "Timed out"))


def collective_error(e: BaseException, info: DistInfo, timeout_s: float) -> VjepaError:
    """The one-line error a surviving rank reports when a collective fails."""
    return VjepaError(f"rank {info.rank} of {info.world_size}: a collective operation failed ({_first_line(e)}); "
                      f"another rank died or stalled for more than run.dist_timeout_s={timeout_s:g} s: its log "
                      "says why")


def wrap_ddp(module: nn.Module, device: torch.device) -> nn.Module:
    """DistributedDataParallel over ``module`` when a process group is active, else ``module`` itself.

    Buffers are not broadcast (the only ones are the fixed position tables, equal on every rank)."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return module
    ids = [device.index] if device.type == "cuda" else None
    ddp = nn.parallel.DistributedDataParallel
    # Buffers equal on every rank need no sync per forward; the keyword was renamed in torch 2.13.
    no_buffer_sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(ddp).parameters
                      else {"broadcast_buffers": False})
    return ddp(module, device_ids=ids, gradient_as_bucket_view=True, **no_buffer_sync)


def grad_sync(module: nn.Module, enabled: bool) -> contextlib.AbstractContextManager:
    """DDP's ``no_sync`` while ``enabled`` is false (all but the last accumulation step); nothing otherwise."""
    no_sync = getattr(module, "no_sync", None)
    return contextlib.nullcontext() if enabled or no_sync is None else no_sync()


def mean_across_ranks(t: torch.Tensor) -> torch.Tensor:
    """The average of ``t`` over all ranks (``t`` itself in a single process)."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return t
    t = t.clone()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t / dist.get_world_size()
