"""``vjepa eval``: frozen evaluation of an encoder on indexed videos or images (spec §7), end to end.

Index (CSV ``path label`` lines or class folders) → labels checked against ``num_classes`` → deterministic eval
clips (``VideoDataset`` with fixed segment positions, ``EvalVideoTransform`` views) → frozen features extracted
once (optionally cached on disk) → the probe protocol (attentive, linear or k-NN) → ``metrics.json``, probe
checkpoint, confusion PNG and one summary line. Training features use 1 view, validation features
``clip.num_views`` (the official loaders). Images are clips of ``clip.num_frames`` repeated frames (official image
protocol, 16) with one segment. With ``lowshot.label_fraction``, ``lowshot.num_splits`` stratified seeded subsets
of the training set
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
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from vjepa.config import check_clip_fits, leaf_values
from vjepa.core.errors import ConfigError, DataError
from vjepa.core.io import atomic_write, write_text_atomic
from vjepa.core.lock import output_lock
from vjepa.core.runtime import resolve_device, resolve_dtype
from vjepa.data.frame_cache import FrameCache
from vjepa.data.index import IndexEntry
from vjepa.data.transforms import EvalVideoTransform
from vjepa.data.video_dataset import VideoDataset, collate_items
from vjepa.eval.config import EvalConfig, check_layer, validate_eval
from vjepa.eval.features import FeatureSet, extract_features, feature_cache_key, load_or_extract
from vjepa.eval.lowshot import lowshot_runs
from vjepa.eval.probe_train import ProbeRecipe, train_attentive_probe
from vjepa.eval.quick import check_holdout_sizes, knn_probe, linear_probe
from vjepa.eval.report import json_safe, protocol_tag, summary_line, write_eval_outputs
from vjepa.eval.splits import Split, read_split
from vjepa.models.encoder import VideoEncoder
from vjepa.models.probe import VJEPA2_PROBE_DEPTH


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


def _features(encoder: VideoEncoder, split: Split, s: EvalConfig, views: int, segments: int,
              device: torch.device, dtype: torch.dtype, progress: bool) -> FeatureSet:
    """The split's frozen features (from the cache when it holds them); ``meta["failures"]`` lists bad loads."""
    c, layers, seed = s.clip, None if s.probe.layer is None else [s.probe.layer], s.runtime.seed

    def extract() -> FeatureSet:
        dataset = VideoDataset(split.entries, c.num_frames, c.frame_step, num_clips=segments,
                               random_clip_sampling=False, allow_clip_overlap=True, seed=seed,
                               transform=EvalVideoTransform(c.crop_size, views), image_frames=c.num_frames,
                               frame_cache=s.frame_cache)
        loader = DataLoader(dataset, batch_size=s.probe.batch_size, shuffle=False,
                            num_workers=s.runtime.num_workers, collate_fn=collate_items)
        failures: list[str] = []  # gathered from the batches: workers hold their own dataset copies and counts
        fs = extract_features(encoder, _batches(loader, segments, failures), layers=layers, device=device,
                              dtype=dtype, progress=progress)
        fs.meta["failures"] = failures
        return fs

    if s.cache_dir is None:
        return extract()
    data = {"split": split.name, "source": os.path.abspath(split.source), "entries": _entries_digest(split.entries)}
    protocol = {"frames": c.num_frames, "step": c.frame_step, "segments": segments, "views": views,
                "crop": c.crop_size, "layers": layers, "dtype": str(dtype), "seed": seed, "storage": "float32"}
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


def _probe(train: FeatureSet, val: FeatureSet, out: Path, *, s: EvalConfig, heads: int, record: dict[str, Any],
           names: list[str] | None, device: torch.device, dtype: torch.dtype, progress: bool,
           ) -> tuple[dict[str, Any], str]:
    """Train and test one probe, write its outputs into ``out``: (metrics.json content, summary line)."""
    p, seed = s.probe, s.runtime.seed
    if p.protocol == "attentive":
        depth = VJEPA2_PROBE_DEPTH if p.kind == "vjepa2" else 1
        recipe = ProbeRecipe(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, weight_decay=p.weight_decay,
                             seed=seed, num_heads=heads, depth=depth, variant=p.kind)
        result = train_attentive_probe(train, val, s.num_classes, recipe, device=device, dtype=dtype,
                                       progress=progress)
        line = write_eval_outputs(out, result, record, names)
        return json.loads((out / "metrics.json").read_text()), line
    if p.protocol == "linear":  # lr and weight decay are grid-searched on a training hold-out
        res = linear_probe(train, val, s.num_classes, epochs=p.epochs, batch_size=p.batch_size, seed=seed)
    else:
        res = knn_probe(train, val, s.num_classes, seed=seed)
    metrics = {**res["metrics"], "num_train": res["num_train"], "num_val": res["num_val"],
               "num_classes": s.num_classes, "settings": record, "selected": res["selected"],
               "holdout": res["holdout"]}
    _write_json(out / "metrics.json", metrics)
    selected = ", ".join(f"{k} {v:g}" for k, v in res["selected"].items())
    return metrics, summary_line(res["metrics"], res["num_train"], res["num_val"], record) + \
        f"  [{p.protocol}: {selected}]"


def run_eval(encoder: VideoEncoder, settings: EvalConfig, out_dir: str | os.PathLike, *,
             train_csv: str | None = None, val_csv: str | None = None, train_dir: str | None = None,
             val_dir: str | None = None, progress: bool = True, describe: Mapping[str, Any] | None = None,
             ) -> dict[str, Any]:
    """Evaluate a frozen encoder; write the outputs into ``out_dir``.

    Args:
        encoder: The frozen :class:`VideoEncoder` (e.g. from :func:`vjepa.eval.checkpoints.load_frozen_encoder`).
        settings: The protocol (checked here with :func:`vjepa.eval.config.validate_eval`).
        out_dir: Output folder (created).
        train_csv, val_csv: ``path label`` lists (official CSV format); or
        train_dir, val_dir: folders with one sub-folder per class (same class names on both sides).
        progress: Show progress bars.
        describe: Extra values recorded in ``metrics.json`` ``settings`` (e.g. checkpoint, key, arch).

    Returns:
        The content of ``metrics.json`` plus ``summary``, the one-line result.
    """
    s, cfg = settings, encoder.cfg
    validate_eval(s)
    check_clip_fits(s.clip, cfg.tubelet_size, cfg.patch_size)
    check_layer(s.probe.layer, cfg.depth)
    train = read_split("train", train_csv, train_dir, s.num_classes)
    val = read_split("val", val_csv, val_dir, s.num_classes)
    if train.classes is not None and val.classes is not None and train.classes != val.classes:
        raise DataError(f"{train.source} and {val.source} have different class folders ({len(train.classes)} vs "
                        f"{len(val.classes)} classes, or other names); labels would not match; use the same classes")
    if s.probe.protocol != "attentive":  # before any feature is extracted or file written
        check_holdout_sizes([e.label for e in train.entries], s.probe.protocol, s.lowshot.label_fraction)
    with output_lock(out_dir, "evaluation"):  # one run at a time per output folder
        return _evaluate(encoder, s, train, val, Path(out_dir), progress, describe)


def _evaluate(encoder: VideoEncoder, s: EvalConfig, train: Split, val: Split, out: Path, progress: bool,
              describe: Mapping[str, Any] | None) -> dict[str, Any]:
    cfg = encoder.cfg
    try:
        device = resolve_device(s.runtime.device)
    except RuntimeError as e:
        raise ConfigError(f"runtime.device = {s.runtime.device!r}: {e}; use auto, cpu or cuda") from None
    dtype = resolve_dtype(s.runtime.dtype, device)
    images = train.images and val.images
    segments = 1 if images else s.clip.num_segments  # repeating an image over several segments adds nothing
    record = {**leaf_values(s), "num_segments": segments, "images": images,
              "train": train.source, "val": val.source, "device": str(device), "dtype": str(dtype).split(".")[-1],
              **(describe or {})}
    train_fs = _features(encoder, train, s, 1, segments, device, dtype, progress)  # official: 1 training view
    val_fs = _features(encoder, val, s, s.clip.num_views, segments, device, dtype, progress)

    paths = {e.path for split in (train, val) for e in split.entries}
    bad = _bad_files(train_fs.meta.get("failures", []) + val_fs.meta.get("failures", []), paths)
    if bad:
        write_text_atomic(out / "bad_files.txt", "".join(f"{reason}\n" for reason in bad.values()))
    names = train.classes if train.classes and len(train.classes) == s.num_classes else None
    probe = functools.partial(_probe, s=s, heads=cfg.num_heads, record=record, names=names, device=device,
                              dtype=dtype, progress=progress)
    low = s.lowshot
    if low.label_fraction is None:
        metrics, line = probe(train_fs, val_fs, out)
    else:
        sizes: list[int] = []

        def run(positions: Any) -> dict[str, float]:
            sizes.append(len(positions))
            m, _ = probe(train_fs.subset(positions), val_fs, out / f"split_{len(sizes) - 1}")
            return {k: m[k] for k in ("top1", "top5", "mean_class_acc")}

        summary = lowshot_runs(train_fs.labels.numpy(), low.label_fraction, low.num_splits, s.runtime.seed, run,
                               split_file=out / "splits.json")
        metrics = {k: summary[f"{k}_mean"] for k in ("top1", "top5", "mean_class_acc")}
        metrics.update({f"{k}_std": summary[f"{k}_std"] for k in ("top1", "top5", "mean_class_acc")})
        metrics.update(num_train=sizes[0], num_train_pool=train_fs.num_samples, num_val=val_fs.num_samples,
                       num_classes=s.num_classes, settings=record,
                       lowshot={"fraction": low.label_fraction, "num_splits": low.num_splits, "seed": s.runtime.seed,
                                "split_file": "splits.json", "per_split": summary["per_split"]})
        line = (f"top1 {metrics['top1']:.1f} ± {metrics['top1_std']:.1f}  top5 {metrics['top5']:.1f} ± "
                f"{metrics['top5_std']:.1f}  mean-class {metrics['mean_class_acc']:.1f}  ({low.num_splits} splits of "
                f"{100 * low.label_fraction:g} % of the labels: train {sizes[0]}, val {val_fs.num_samples}, "
                f"{protocol_tag(record)})")
    metrics.update(protocol=s.probe.protocol, bad_files=len(bad))
    _write_json(out / "metrics.json", metrics)
    if bad:
        line += f"  [{len(bad)} unreadable file(s) replaced; see {out / 'bad_files.txt'}]"
    return {**metrics, "summary": line}
