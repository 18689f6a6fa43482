"""``vjepa eval``: frozen evaluation of an encoder on indexed videos or images (spec §7), end to end.

Index (CSV ``path label`` lines or class folders) → labels checked against ``num_classes`` → deterministic eval
clips (``VideoDataset`` with fixed segment positions, ``EvalVideoTransform`` views) → frozen features extracted
once (optionally cached on disk) → the probe protocol (attentive, linear or k-NN) → ``metrics.json``, probe
checkpoint, confusion PNG and one summary line. Training features use 1 view, validation features
``num_views`` (the official loaders). Images are clips of ``frames_per_clip`` repeated frames (official image
protocol, 16) with one segment. With ``label_fraction``, ``splits`` stratified seeded subsets of the training set
are probed one by one (outputs in ``OUT/split_<i>/``, indices in ``OUT/splits.json``) and ``metrics.json`` holds
the mean and sample std over the splits. The quick protocols (linear, k-NN) keep no probe and write no confusion
plot; their ``metrics.json`` records the hyper-parameters selected on a training hold-out.

Unreadable files are replaced by ``VideoDataset``'s retries (another sample, as the official loader does); they
are counted in ``metrics.json`` (``bad_files``) and listed in ``OUT/bad_files.txt``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from vjepa.core.errors import ConfigError, DataError
from vjepa.core.io import atomic_write
from vjepa.core.runtime import resolve_device, resolve_dtype
from vjepa.data.frame_cache import FrameCache
from vjepa.data.index import IndexEntry, class_names, is_image, is_media, read_index
from vjepa.data.transforms import EvalVideoTransform
from vjepa.data.video_dataset import VideoDataset, collate_items
from vjepa.eval.features import FeatureSet, extract_features, feature_cache_key, load_or_extract
from vjepa.eval.lowshot import lowshot_runs
from vjepa.eval.probe_train import ProbeRecipe, train_attentive_probe
from vjepa.eval.quick import knn_probe, linear_probe
from vjepa.eval.report import json_safe, protocol_tag, summary_line, write_eval_outputs
from vjepa.models.encoder import VideoEncoder

PROTOCOLS = ("attentive", "linear", "knn")


@dataclass(frozen=True)
class EvalSettings:
    """Everything that defines an evaluation besides the encoder and the data (defaults: official video eval,
    except the 1×1 clip layout; K400 is 16 frames × 8 segments × 3 views, SSv2 16 × 2 × 3)."""

    num_classes: int
    frames_per_clip: int = 16
    frame_step: int = 4
    num_segments: int = 1
    num_views: int = 1
    crop_size: int = 224
    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.01  # official video 0.01, image 0.001
    label_fraction: float | None = None
    """Low-shot: the share of each training class to keep, in (0, 1]; None = all labels."""
    splits: int = 1
    """Low-shot: how many seeded splits (seeds ``seed, seed + 1, ...``)."""
    seed: int = 0
    protocol: str = "attentive"
    layer: int | None = None
    """Probe this block's (normed) output instead of the encoder output (0-based, negative from the end)."""
    cache_dir: str | None = None
    frame_cache: str | None = None
    """A decoded-frame cache (``vjepa data cache``) read instead of decoding the videos it holds."""
    device: str = "auto"
    dtype: str = "auto"
    workers: int = 0

    def __post_init__(self) -> None:
        ones = ("num_classes", "frames_per_clip", "frame_step", "num_segments", "num_views", "crop_size", "epochs",
                "batch_size", "splits")
        for name in ones:
            if getattr(self, name) < 1:
                flag = {"num_segments": "segments", "num_views": "views"}.get(name, name).replace("_", "-")
                raise ConfigError(f"--{flag} {getattr(self, name)} must be >= 1")
        if self.lr <= 0 or self.weight_decay < 0 or self.seed < 0 or self.workers < 0:
            raise ConfigError(f"need lr > 0 (got {self.lr}), weight decay >= 0 (got {self.weight_decay}), seed >= 0 "
                              f"(got {self.seed}) and workers >= 0 (got {self.workers})")
        if self.label_fraction is not None and not 0 < self.label_fraction <= 1:
            raise ConfigError(f"--label-fraction {self.label_fraction} must be in (0, 1], e.g. 0.1 for 10 %")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"--protocol {self.protocol!r}: use one of {', '.join(PROTOCOLS)}")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ConfigError(f"--dtype {self.dtype!r}: use auto, float32 or bfloat16")


@dataclass
class _Split:
    """One side of the evaluation: its index and what the checks and the cache need to know about it."""

    name: str
    source: str
    entries: list[IndexEntry]
    classes: list[str] | None  # class sub-folder names (folder indexes)

    @property
    def images(self) -> bool:
        return all(is_image(e.path) for e in self.entries)


def _read_split(name: str, csv: str | None, folder: str | None, num_classes: int) -> _Split:
    """Read one index and check every label is a class of ``num_classes`` (errors name the file and line)."""
    if (csv is None) == (folder is None):
        raise ConfigError(f"give exactly one of --{name}-csv and --{name}-dir")
    source = os.fspath(csv if csv is not None else folder)
    if csv is not None and os.path.isdir(source):
        raise DataError(f"--{name}-csv {source} is a folder; use --{name}-dir for class folders")
    if folder is not None and not os.path.isdir(source):
        raise DataError(f"--{name}-dir {source}: not a folder; use --{name}-csv for a 'path label' list")
    entries = read_index(source)
    classes = class_names(source) if folder is not None else None
    labels = [e.label for e in entries]
    bad = next((i for i, y in enumerate(labels) if not 0 <= y < num_classes), None)
    if bad is not None:
        if classes:
            raise DataError(f"{source}: {len(classes)} class sub-folders but --num-classes is {num_classes}; set "
                            f"--num-classes {len(classes)}")
        where = source
        if not is_media(source):  # read_index skips blank lines, so the entry's line is the bad-th non-blank one
            with open(source, encoding="utf-8") as f:
                where += f":{[n for n, line in enumerate(f.read().splitlines(), 1) if line.strip()][bad]}"
        top = max(labels)
        fix = f"fix the label or set --num-classes {top + 1} (largest label {top}, plus 1)" if labels[bad] >= 0 else \
            "labels are class indices 0, 1, ..."
        raise DataError(f"{where}: label {labels[bad]} is not in [0, {num_classes}) (--num-classes {num_classes}); "
                        f"{fix}")
    return _Split(name, source, entries, classes)


def _batches(loader: DataLoader, segments: int, failures: list[str]) -> Iterator[dict[str, Any]]:
    """Dataset batches in the feature API's layout ``clips[segment][view]``; collects the load failures."""
    for batch in loader:
        failures.extend(batch["failures"])
        video = batch["video"]  # one segment: a list over views; several: a list over segments of such lists
        yield {"clips": video if segments > 1 else [video], "label": batch["label"]}


def _entries_digest(entries: list[IndexEntry]) -> str:
    """Hash of every entry's path, label, size and mtime: a changed list or file gives a new cache key."""
    h = hashlib.sha256()
    for e in entries:
        try:
            st = os.stat(e.path)
            stamp = f"{st.st_size}|{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{e.path}|{e.label}|{stamp}\n".encode())
    return h.hexdigest()


def _features(encoder: VideoEncoder, split: _Split, s: EvalSettings, views: int, segments: int,
              device: torch.device, dtype: torch.dtype, progress: bool) -> FeatureSet:
    """The split's frozen features (from the cache when it holds them); ``meta["failures"]`` lists bad loads."""
    layers = None if s.layer is None else [s.layer]

    def extract() -> FeatureSet:
        dataset = VideoDataset(split.entries, s.frames_per_clip, s.frame_step, num_clips=segments,
                               random_clip_sampling=False, allow_clip_overlap=True, seed=s.seed,
                               transform=EvalVideoTransform(s.crop_size, views), image_frames=s.frames_per_clip,
                               frame_cache=s.frame_cache)
        loader = DataLoader(dataset, batch_size=s.batch_size, shuffle=False, num_workers=s.workers,
                            collate_fn=collate_items)
        failures: list[str] = []  # gathered from the batches: workers hold their own dataset copies and counts
        fs = extract_features(encoder, _batches(loader, segments, failures), layers=layers, device=device,
                              dtype=dtype, progress=progress)
        fs.meta["failures"] = failures
        return fs

    if s.cache_dir is None:
        return extract()
    data = {"split": split.name, "source": os.path.abspath(split.source), "entries": _entries_digest(split.entries)}
    protocol = {"frames": s.frames_per_clip, "step": s.frame_step, "segments": segments, "views": views,
                "crop": s.crop_size, "layers": layers, "dtype": str(dtype), "seed": s.seed, "storage": "float32"}
    if s.frame_cache is not None:  # down-scaled cached frames give other features than decoded ones
        protocol["frame_cache_short_side"] = FrameCache(s.frame_cache).short_side
    return load_or_extract(s.cache_dir, feature_cache_key(encoder, data, protocol), extract)


def _bad_files(failures: list[str], paths: set[str]) -> dict[str, str]:
    """path -> reason of the failed loads (a reason is ``"<path>: <why>"``; paths may themselves hold ': ')."""
    out = {}
    for reason in failures:
        i = reason.find(": ")
        while i != -1 and reason[:i] not in paths:
            i = reason.find(": ", i + 1)
        out[reason[:i] if i != -1 else reason] = reason
    return out


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    text = json.dumps(json_safe(data), indent=1) + "\n"
    atomic_write(path, lambda p: Path(p).write_text(text))


def _probe(train: FeatureSet, val: FeatureSet, out: Path, *, s: EvalSettings, heads: int, record: dict[str, Any],
           names: list[str] | None, device: torch.device, dtype: torch.dtype, progress: bool,
           ) -> tuple[dict[str, Any], str]:
    """Train and test one probe, write its outputs into ``out``: (metrics.json content, summary line)."""
    if s.protocol == "attentive":
        recipe = ProbeRecipe(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, weight_decay=s.weight_decay,
                             seed=s.seed, num_heads=heads)
        result = train_attentive_probe(train, val, s.num_classes, recipe, device=device, dtype=dtype,
                                       progress=progress)
        line = write_eval_outputs(out, result, record, names)
        return json.loads((out / "metrics.json").read_text()), line
    if s.protocol == "linear":  # lr and weight decay are grid-searched on a training hold-out
        res = linear_probe(train, val, s.num_classes, epochs=s.epochs, batch_size=s.batch_size, seed=s.seed)
    else:
        res = knn_probe(train, val, s.num_classes, seed=s.seed)
    metrics = {**res["metrics"], "num_train": res["num_train"], "num_val": res["num_val"],
               "num_classes": s.num_classes, "settings": record, "selected": res["selected"],
               "holdout": res["holdout"]}
    _write_json(out / "metrics.json", metrics)
    selected = ", ".join(f"{k} {v:g}" for k, v in res["selected"].items())
    return metrics, summary_line(res["metrics"], res["num_train"], res["num_val"], record) + \
        f"  [{s.protocol}: {selected}]"


def run_eval(encoder: VideoEncoder, settings: EvalSettings, out_dir: str | os.PathLike, *,
             train_csv: str | None = None, val_csv: str | None = None, train_dir: str | None = None,
             val_dir: str | None = None, progress: bool = True, describe: Mapping[str, Any] | None = None,
             ) -> dict[str, Any]:
    """Evaluate a frozen encoder; write the outputs into ``out_dir``.

    Args:
        encoder: The frozen :class:`VideoEncoder` (e.g. from :func:`vjepa.eval.checkpoints.load_frozen_encoder`).
        settings: The protocol.
        out_dir: Output folder (created).
        train_csv, val_csv: ``path label`` lists (official CSV format); or
        train_dir, val_dir: folders with one sub-folder per class (same class names on both sides).
        progress: Show progress bars.
        describe: Extra values recorded in ``metrics.json`` ``settings`` (e.g. checkpoint, key, arch).

    Returns:
        The content of ``metrics.json`` plus ``summary``, the one-line result.
    """
    s, cfg = settings, encoder.cfg
    if s.frames_per_clip % cfg.tubelet_size or s.crop_size % cfg.patch_size:
        raise ConfigError(f"--frames-per-clip {s.frames_per_clip} must be a multiple of the encoder's tubelet size "
                          f"{cfg.tubelet_size} and --crop-size {s.crop_size} of its patch size {cfg.patch_size}")
    if s.layer is not None and not -cfg.depth <= s.layer < cfg.depth:
        raise ConfigError(f"--layer {s.layer} is out of range for a {cfg.depth}-block encoder; use 0..{cfg.depth - 1}"
                          f" or -1..-{cfg.depth}")
    train = _read_split("train", train_csv, train_dir, s.num_classes)
    val = _read_split("val", val_csv, val_dir, s.num_classes)
    if train.classes is not None and val.classes is not None and train.classes != val.classes:
        raise DataError(f"{train.source} and {val.source} have different class folders ({len(train.classes)} vs "
                        f"{len(val.classes)} classes, or other names); labels would not match; use the same classes")
    try:
        device = resolve_device(s.device)
    except RuntimeError as e:
        raise ConfigError(f"--device {s.device!r}: {e}; use auto, cpu or cuda") from None
    dtype = resolve_dtype(s.dtype, device)
    images = train.images and val.images
    segments = 1 if images else s.num_segments  # repeating an image over several segments adds nothing
    record = {**asdict(s), "num_frames": s.frames_per_clip, "num_segments": segments, "images": images,
              "train": train.source, "val": val.source, "device": str(device), "dtype": str(dtype).split(".")[-1],
              **(describe or {})}
    train_fs = _features(encoder, train, s, 1, segments, device, dtype, progress)  # official: 1 training view
    val_fs = _features(encoder, val, s, s.num_views, segments, device, dtype, progress)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {e.path for split in (train, val) for e in split.entries}
    bad = _bad_files(train_fs.meta.get("failures", []) + val_fs.meta.get("failures", []), paths)
    if bad:
        (out / "bad_files.txt").write_text("".join(f"{reason}\n" for reason in bad.values()))
    names = train.classes if train.classes and len(train.classes) == s.num_classes else None
    probe = functools.partial(_probe, s=s, heads=cfg.num_heads, record=record, names=names, device=device,
                              dtype=dtype, progress=progress)
    if s.label_fraction is None:
        metrics, line = probe(train_fs, val_fs, out)
    else:
        sizes: list[int] = []

        def run(positions: Any) -> dict[str, float]:
            sizes.append(len(positions))
            m, _ = probe(train_fs.subset(positions), val_fs, out / f"split_{len(sizes) - 1}")
            return {k: m[k] for k in ("top1", "top5", "mean_class_acc")}

        summary = lowshot_runs(train_fs.labels.numpy(), s.label_fraction, s.splits, s.seed, run,
                               split_file=out / "splits.json")
        metrics = {k: summary[f"{k}_mean"] for k in ("top1", "top5", "mean_class_acc")}
        metrics.update({f"{k}_std": summary[f"{k}_std"] for k in ("top1", "top5", "mean_class_acc")})
        metrics.update(num_train=sizes[0], num_train_pool=train_fs.num_samples, num_val=val_fs.num_samples,
                       num_classes=s.num_classes, settings=record,
                       lowshot={"fraction": s.label_fraction, "num_splits": s.splits, "seed": s.seed,
                                "split_file": "splits.json", "per_split": summary["per_split"]})
        line = (f"top1 {metrics['top1']:.1f} ± {metrics['top1_std']:.1f}  top5 {metrics['top5']:.1f} ± "
                f"{metrics['top5_std']:.1f}  mean-class {metrics['mean_class_acc']:.1f}  ({s.splits} splits of "
                f"{100 * s.label_fraction:g} % of the labels: train {sizes[0]}, val {val_fs.num_samples}, "
                f"{protocol_tag(record)})")
    metrics.update(protocol=s.protocol, bad_files=len(bad))
    _write_json(out / "metrics.json", metrics)
    if bad:
        line += f"  [{len(bad)} unreadable file(s) replaced; see {out / 'bad_files.txt'}]"
    return {**metrics, "summary": line}
