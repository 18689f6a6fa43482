"""Pretraining-step, feature-extraction and data-loading throughput of named configurations (``vjepa bench``,
:mod:`vjepa.cli.bench`).

Every figure is measured in this process on random clips (data loading excluded from the step, measured on its
own from a generated H.264 video). Feature extraction runs through the real extraction path
(:func:`vjepa.tools.embed.embed`, ``dtype="auto"``) and is reported per clip next to the pretraining forward of the
same clips (target encoder, the train step's precision), with their ratio. FLOPs are analytic
(:mod:`vjepa.tools.flops`, formula printed); MFU divides the achieved rate by the matmul peak measured in the same
run, in the same precision as the step (bf16 tensors for bf16 autocast, fp32 tensors otherwise, with the run's
oneDNN routing). Median over the timed repetitions.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from vjepa.config import PretrainConfig, load_config, validate
from vjepa.core.errors import ConfigError
from vjepa.core.runtime import autocast, resolve_device, resolve_dtype
from vjepa.masks import MaskGenerator, grid_for
from vjepa.pretrain.build import build_models, compile_in_place, speed_switches
from vjepa.pretrain.optim import build_optimizer
from vjepa.pretrain.step import Batch, TrainState, train_step
from vjepa.tools.embed import embed
from vjepa.tools.flops import FORMULA, encoder_forward_flops, train_step_flops


@dataclass(frozen=True)
class BenchPreset:
    description: str
    base: str | None
    """Preset the overrides apply to (None: the schema defaults, i.e. the vitl16 recipe and its masks)."""
    overrides: tuple[str, ...]
    video_side: int = 256
    """Side of the generated H.264 video the data-loading figure decodes."""


PRESETS = {
    "tiny112": BenchPreset("ViT-tiny, predictor 6 x 192, 16x112x112, batch 4, vitl16 masks", None, (
        "model.arch=vit_tiny", "model.pred_depth=6", "model.pred_embed_dim=192", "data.num_frames=16",
        "data.crop_size=112", "optim.batch_size=4")),
    "small224": BenchPreset("ViT-small, predictor 12 x 384, 16x224x224, batch 2, vitl16 masks", None, (
        "model.arch=vit_small", "data.num_frames=16", "data.crop_size=224", "optim.batch_size=2")),
    "smoke": BenchPreset("cpu_tiny model, 8x32x32, batch 2: a seconds-long check of the bench itself", "cpu_tiny",
                         ("optim.batch_size=2", "optim.micro_batch_size=null"), video_side=64),
}
DEFAULT = ("tiny112", "small224")
BASELINE = ("run.dtype=float32", "model.attention=sdpa", "optim.fused=false", "run.compile=false",
            "run.onednn_fp32=false")
"""``run_bench(baseline=True)``: the step with the official implementation's numerics (fp32, PyTorch SDPA, foreach
AdamW)."""


def machine() -> str:
    name = platform.processor() or "unknown CPU"
    try:
        name = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{name}, {os.cpu_count()} CPUs{gpu}"


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:  # Linux: "5" resets the peak resident set size (VmHWM) to the current one
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_gb(device: torch.device) -> float:
    """Peak GPU memory allocated, or the process's peak resident set size on CPU, since the last reset."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9
    try:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024 / 1e9
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def timed(fn: Callable[[], object], reps: int, warmup: int, device: torch.device) -> float:
    """Median seconds of ``fn`` over ``reps`` calls after ``warmup`` untimed ones."""
    times = []
    for i in range(warmup + reps):
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak_gflops(dtype: torch.dtype, device: torch.device, sizes: tuple[int, ...] = (1024, 2048)) -> float:
    """Best n x n matmul rate over ``sizes``, with tensors of ``dtype`` (the step's matmul precision)."""
    best = 0.0
    for n in sizes:
        a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
        seconds = timed(lambda: a @ b, reps=7, warmup=2, device=device)
        best = max(best, 2 * n**3 / seconds / 1e9)
    return best


def bench_config(name: str, cfg: PretrainConfig, steps: int, warmup: int, peaks: dict,
                 features: bool = True) -> list[dict]:
    """The results of one configuration: the training step, then (with ``features``) the pretraining forward of
    the target encoder and the feature extraction of the same clips (:func:`bench_extraction`)."""
    device = resolve_device(cfg.run.device)
    dtype = resolve_dtype(cfg.run.dtype, device)
    precision = str(dtype).split(".")[-1]
    if precision not in peaks:
        peaks[precision] = matmul_peak_gflops(dtype, device)
    torch.manual_seed(cfg.run.seed)
    encoder, predictor, target = (m.to(device) for m in build_models(cfg))
    state = TrainState(encoder, predictor, target, build_optimizer(encoder, predictor, cfg.optim))
    if cfg.run.compile:
        compile_in_place(state.online, target)
    d, b = cfg.data, cfg.optim.batch_size
    video = torch.randn(b, 3, d.num_frames, d.crop_size, d.crop_size, device=device)
    masks = MaskGenerator(cfg.masks.blocks, grid_for(d.num_frames, d.crop_size, cfg.model.patch_size,
                                                     cfg.model.tubelet_size), seed=cfg.run.seed)
    flops: list[float] = []

    def one_step() -> None:
        ctx, tgt = masks(b, step=state.step)
        flops.append(train_step_flops(encoder.cfg, predictor.cfg, b, [c.shape[1] for c in ctx],
                                      [t.shape[1] for t in tgt]))
        batch = Batch(video, [c.to(device) for c in ctx], [t.to(device) for t in tgt])
        train_step(state, [batch], cfg.optim, cfg.loss, dtype)

    reset_peak_memory(device)
    step_s = timed(one_step, steps, warmup, device)
    step_mem = peak_memory_gb(device)
    step_flops = statistics.median(flops[warmup:])
    tokens = b * encoder.cfg.num_tokens

    common = {"precision": precision, "peak_gflops": round(peaks[precision], 1), "batch_size": b,
              "attention": cfg.model.attention, "compile": cfg.run.compile, "onednn_fp32": cfg.run.onednn_fp32,
              "fused_adamw": cfg.optim.fused}
    step = {"name": name, "kind": "train_step", "step_s": round(step_s, 4), "clips_per_s": round(b / step_s, 2),
            "tokens_per_s": round(tokens / step_s, 1), "gflop_per_step": round(step_flops / 1e9, 2),
            "achieved_gflops": round(step_flops / step_s / 1e9, 1),
            "mfu": round(step_flops / step_s / 1e9 / peaks[precision], 4), "peak_mem_gb": round(step_mem, 3),
            **common}
    if not features:
        return [step]

    def forward() -> None:  # the target-encoder forward of the train step, at its precision
        with torch.no_grad(), autocast(device, dtype):
            target(video)

    reset_peak_memory(device)
    feat_s = timed(forward, steps, warmup, device)
    feat_mem = peak_memory_gb(device)
    feat_flops = b * encoder_forward_flops(encoder.cfg, encoder.cfg.num_tokens)
    extract = bench_extraction(f"{name}:extract", target, video, steps, warmup, feat_flops, peaks,
                               forward=(feat_s / b, precision))
    return [
        step,
        {"name": f"{name}:features", "kind": "features", "step_s": round(feat_s, 4),
         "clips_per_s": round(b / feat_s, 2), "tokens_per_s": round(tokens / feat_s, 1),
         "gflop_per_step": round(feat_flops / 1e9, 2), "achieved_gflops": round(feat_flops / feat_s / 1e9, 1),
         "mfu": round(feat_flops / feat_s / 1e9 / peaks[precision], 4), "peak_mem_gb": round(feat_mem, 3),
         "s_per_clip": round(feat_s / b, 6), **common},
        extract,
    ]


def bench_extraction(name: str, encoder: torch.nn.Module, video: torch.Tensor, steps: int, warmup: int,
                     flops: float, peaks: dict, forward: tuple[float, str]) -> dict:
    """Feature extraction of the clips of ``video`` (B, 3, T, S, S) through the real extraction path
    (:func:`vjepa.tools.embed.embed`, as ``model.embed`` and ``vjepa extract``): the B clips as one video of
    uint8 frames, cut into B windows that embed batches B at a time, as it does for the windows of a long video
    (resize and centre crop, normalise, ``dtype="auto"``, mean pooling). ``flops``
    is the forward's for the B clips; the MFU is given when the matmul peak of the extraction precision was
    measured in this run. ``forward``: seconds per clip and precision of the pretraining forward of the same clips,
    reported next to the extraction with the ratio ``extract_vs_forward`` (extraction / forward, per clip)."""
    b, _, t, size, _ = video.shape
    low, high = video.amin(), video.amax()
    frames = ((video - low) / (high - low).clamp_min(1e-12) * 255).round().to(torch.uint8)
    frames = frames.permute(0, 2, 3, 4, 1).reshape(b * t, size, size, 3).cpu()  # (B·T, S, S, 3): one video
    device = next(encoder.parameters()).device
    precision = str(resolve_dtype("auto", device)).split(".")[-1]

    def extract() -> None:
        windows = embed(encoder, frames, window=t, stride=t, size=size, batch_size=b, dtype="auto")
        assert windows.features.shape[0] == b  # (B, D): one window per clip

    reset_peak_memory(device)
    seconds = timed(extract, steps, warmup, device)
    peak = peaks.get(precision)
    return {"name": name, "kind": "extract", "precision": precision, "step_s": round(seconds, 4),
            "clips_per_s": round(b / seconds, 2), "s_per_clip": round(seconds / b, 6),
            "forward_s_per_clip": round(forward[0], 6), "forward_precision": forward[1],
            "extract_vs_forward": round(seconds / b / forward[0], 2), "gflop_per_step": round(flops / 1e9, 2),
            "achieved_gflops": round(flops / seconds / 1e9, 1), "peak_gflops": None if peak is None else round(peak, 1),
            "mfu": None if peak is None else round(flops / seconds / 1e9 / peak, 4),
            "peak_mem_gb": round(peak_memory_gb(device), 3), "batch_size": b}


def bench_data(name: str, cfg: PretrainConfig, side: int, clips: int, folder: Path) -> list[dict]:
    """Clips per second of one loader worker (one thread): 16 frames at the config's frame step from a long-GOP
    H.264 video, random resized crop to the config's size, flip, normalise; decoded, then read from a frame cache
    down-scaled to the crop size (``vjepa data cache --short-side``)."""
    from vjepa.data.frame_cache import build_cache
    from vjepa.data.index import IndexEntry
    from vjepa.data.transforms import TrainVideoTransform
    from vjepa.data.video_dataset import VideoDataset
    from vjepa.tools.bench_video import make_video

    d = cfg.data
    path = folder / f"h264_{side}.mp4"
    if not path.exists():
        make_video(path, side, side, seconds=max(2.0, 1.5 * d.num_frames * d.frame_step / 30))
    cache = folder / f"cache_{side}_{d.crop_size}"
    build_cache([str(path)], cache, short_side=d.crop_size, progress=False)
    results = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for kind, frame_cache in (("data", None), ("data_cached", cache)):
            dataset = VideoDataset([IndexEntry(str(path), 0)], frames_per_clip=d.num_frames, frame_step=d.frame_step,
                                   seed=cfg.run.seed, transform=TrainVideoTransform(d.crop_size),
                                   frame_cache=frame_cache)
            counter = iter(range(10**9))
            seconds = timed(lambda: dataset[(next(counter), 0)], clips, 2, torch.device("cpu"))
            source = f"H.264 {side}x{side}, keyframe every 250 frames"
            results.append({"name": f"{name}:{kind}", "kind": kind, "precision": "uint8 -> float32",
                            "step_s": round(seconds, 5), "clips_per_s": round(1 / seconds, 2), "achieved_gflops": None,
                            "peak_gflops": None, "mfu": None, "peak_mem_gb": None, "workers": 1,
                            "video": source if frame_cache is None else f"frame cache of it, short side {d.crop_size}"})
    finally:
        torch.set_num_threads(threads)
    return results


def run_bench(names: list[str], overrides: list[str], steps: int, warmup: int, data: bool = True,
              baseline: bool = False, print_fn: Callable[[str], None] = print) -> dict:
    """Measure the named configurations; returns the JSON document (also printed as a table). With ``baseline``
    each configuration's step is also timed with :data:`BASELINE` settings in the same run, and the train-step
    result gets ``speedup_vs_fp32_baseline``."""
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        raise ConfigError(f"unknown bench config {unknown[0]!r}; use one of {', '.join(PRESETS)}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    doc = {"machine": machine(), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "load_average_before": load, "formula": FORMULA, "results": []}
    print_fn(f"machine: {doc['machine']}; torch {doc['torch']}, {doc['threads']} threads; load average {load}")
    print_fn("FLOPs (2 per multiply-add, matmuls only):\n" + FORMULA)
    peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vjepa_bench_") as tmp:
        for name in names:
            preset = PRESETS[name]
            cfg = load_config(preset.base, [*preset.overrides, *overrides])
            validate(cfg)
            with speed_switches(cfg.run):
                results = bench_config(name, cfg, steps, warmup, peaks)
            if baseline:
                base_cfg = load_config(preset.base, [*preset.overrides, *overrides, *BASELINE])
                base = bench_config(f"{name}:fp32_baseline", base_cfg, steps, warmup, peaks, features=False)[0]
                results[0]["speedup_vs_fp32_baseline"] = round(base["step_s"] / results[0]["step_s"], 2)
                results.insert(1, base)
            if data:
                results += bench_data(name, cfg, preset.video_side, max(steps, 8), Path(tmp))
            doc["results"] += results
            for r in results:
                print_fn(_row(r))
    return doc


def _row(r: dict) -> str:
    if r["kind"] == "extract":
        return (f"{r['name']:<20} {r['precision']:<9} embed {r['s_per_clip'] * 1e3:>9.2f} ms/clip vs pretraining "
                f"forward {r['forward_s_per_clip'] * 1e3:.2f} ms/clip ({r['forward_precision']}): "
                f"{r['extract_vs_forward']:.2f}x  {r['clips_per_s']:>8.2f} clips/s {r['achieved_gflops']:>7.1f} GFLOP/s"
                f"  peak mem {r['peak_mem_gb']:.2f} GB")
    if r["kind"].startswith("data"):
        return (f"{r['name']:<20} {r['precision']:<16} {r['step_s'] * 1e3:>9.2f} ms/clip {r['clips_per_s']:>8.1f} "
                f"clips/s per worker ({r['video']})")
    speedup = f"  {r['speedup_vs_fp32_baseline']:.2f}x the fp32 baseline" if "speedup_vs_fp32_baseline" in r else ""
    return (f"{r['name']:<20} {r['precision']:<9} step {r['step_s']:>8.3f} s {r['clips_per_s']:>8.2f} clips/s "
            f"{r['tokens_per_s']:>9.0f} tok/s {r['gflop_per_step']:>8.2f} GFLOP {r['achieved_gflops']:>7.1f} GFLOP/s"
            f" / peak {r['peak_gflops']:.0f} = MFU {r['mfu']:.2f}  peak mem {r['peak_mem_gb']:.2f} GB{speedup}")
