"""Embeddings of many videos into one file (``vjepa extract``, :mod:`vjepa.cli.extract`).

Inputs are video or image files, folders (every media file below them, recursively) and CSV lists (``path label``
lines; the label is ignored). Each video becomes one entry, named by its **key**:

* a file given on the command line: the path as given (``./a/b.mp4`` → ``a/b.mp4``);
* a file found in a folder: its path relative to that folder (``clips/`` + ``x/y.mp4`` → ``x/y.mp4``);
* a CSV row: its path relative to the CSV's folder (rows pointing outside it keep their absolute path).

Outputs, by ``out``:

* ``FILE.safetensors``: one tensor per key (shapes as :class:`vjepa.tools.embed.Embedding`), plus JSON metadata
  ``vjepa_extract`` (settings) and ``videos`` (per key: source path, fps, grid, window frame ranges).
* a folder (any other name): one ``.npy`` per video (``<key>.npy``, leading ``/`` and ``..`` parts dropped) and
  ``extract.json`` with the same metadata (and each key's file).

The same file named twice (``clips/`` and a CSV beside it, say) is extracted once, under its first key; a notice
gives the number dropped. One run at a time writes an output: a second one into the same folder (the folder of a
``.safetensors`` file) is refused while the first runs (:func:`vjepa.core.lock.output_lock`).

Resuming: keys already in the output are skipped; the settings must be those of the first run. Unreadable files
are named on stderr and in the summary, never written; results are flushed (atomically) every ``FLUSH_EVERY``
videos, so an interrupted run keeps what it finished.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from vjepa.core import formats
from vjepa.core.errors import ConfigError, DataError
from vjepa.core.io import atomic_write
from vjepa.core.lock import output_lock
from vjepa.core.progress import progress_bar, write_line
from vjepa.data.index import is_media, read_index

FORMAT = formats.EXTRACT
FLUSH_EVERY = 16
STORAGE = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def collect_inputs(inputs: list[str]) -> dict[str, str]:
    """key -> path of every video or image named by ``inputs`` (files, folders, CSV lists), in order."""
    found: dict[str, str] = {}

    def add(key: str, path: str) -> None:
        key = Path(key).as_posix()
        if key in found and os.path.abspath(found[key]) != os.path.abspath(path):
            raise ConfigError(f"two inputs have the key {key!r} ({found[key]} and {path}); give them separately")
        found.setdefault(key, path)

    for item in inputs:
        if os.path.isdir(item):
            for root, dirs, files in os.walk(item, followlinks=True):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if is_media(name) and not name.startswith("."):
                        path = os.path.join(root, name)
                        add(os.path.relpath(path, item), path)
        elif is_media(item):
            if not os.path.exists(item):
                raise DataError(f"{item}: file not found")
            add(os.path.normpath(item), item)
        elif os.path.isfile(item):
            base = os.path.dirname(os.path.abspath(item))
            for entry in read_index(item):
                rel = os.path.relpath(entry.path, base)
                add(entry.path if rel.startswith("..") else rel, entry.path)
        else:
            raise DataError(f"{item}: not found; give video or image files, folders or CSV lists")
    if not found:
        raise DataError(f"no video or image files in {', '.join(inputs)}")
    return found


def drop_duplicates(videos: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """``videos`` without the keys whose file (resolved: symbolic links and ``..`` followed) came earlier under
    another key (``clips/`` and a CSV beside it name the same file twice); returns them and the dropped keys."""
    kept: dict[str, str] = {}
    seen: set[str] = set()
    dropped: list[str] = []
    for key, path in videos.items():
        real = os.path.realpath(path)
        if real in seen:
            dropped.append(key)
        else:
            seen.add(real)
            kept[key] = path
    return kept, dropped


def lock_folder(out: str) -> Path:
    """The folder whose lock a run writing ``out`` holds: ``out`` itself, or the folder of a ``.safetensors``."""
    path = Path(out)
    return path.parent if path.suffix == ".safetensors" else path


def npy_name(key: str) -> str:
    """File of a key in a folder output: ``<key>.npy`` without a leading ``/`` and ``..`` parts (stays inside)."""
    parts = [p for p in PurePosixPath(key).parts if p not in ("/", ".", "..")]
    return "/".join(parts) + ".npy"


def _save_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array)


class _Store:
    """The output (one safetensors file or a folder of .npy), with what it already holds."""

    def __init__(self, out: str, settings: dict[str, Any]) -> None:
        self.path, self.settings = Path(out), settings
        self.single = self.path.suffix == ".safetensors"
        self.tensors: dict[str, torch.Tensor] = {}
        self.videos: dict[str, Any] = {}
        self.new = 0
        meta = self._read_existing()
        if meta is not None and json.loads(meta.get("vjepa_extract", "{}")) != settings:
            raise ConfigError(f"{self.path} was extracted with other settings ({meta.get('vjepa_extract')}); "
                              "resume with the same options, or choose another out path")

    def _read_existing(self) -> dict[str, str] | None:
        if self.single and self.path.exists():
            try:
                with safe_open(str(self.path), framework="pt") as f:
                    meta = f.metadata() or {}
                    self.tensors = {k: f.get_tensor(k) for k in f.keys()}
            except (SafetensorError, OSError, ValueError) as e:
                raise ConfigError(f"{self.path}: exists and is not a readable safetensors file ({e}); "
                                  "choose another out path") from None
            if meta.get("format") != FORMAT:
                raise ConfigError(f"{self.path}: exists and is not a vjepa extract file; choose another out path")
            self.videos = json.loads(meta.get("videos", "{}"))
            return meta
        index = self.path / "extract.json"
        if not self.single and index.is_file():
            meta = json.loads(index.read_text())
            self.videos = meta.get("videos", {})
            return {"vjepa_extract": json.dumps(meta.get("vjepa_extract", {}))}
        return None

    def done(self, key: str) -> bool:
        return key in self.videos

    def add(self, key: str, features: torch.Tensor, info: dict[str, Any]) -> None:
        self.videos[key], self.new = info, self.new + 1
        if self.single:
            self.tensors[key] = features.contiguous()
        else:  # one file per video, written now
            info["file"] = npy_name(key)
            array = features.float().numpy() if features.dtype == torch.bfloat16 else features.numpy()
            atomic_write(self.path / info["file"], lambda p: _save_npy(p, array))
        if self.new % FLUSH_EVERY == 0:
            self.flush()

    def flush(self) -> None:
        if not self.new:
            return  # nothing new: never create or touch the output
        meta = {"format": FORMAT, "vjepa_extract": json.dumps(self.settings), "videos": json.dumps(self.videos)}
        if self.single:
            atomic_write(self.path, lambda p: save_file(self.tensors, p, metadata=meta))
        else:
            text = json.dumps({"format": FORMAT, "vjepa_extract": self.settings, "videos": self.videos}, indent=1)
            atomic_write(self.path / "extract.json", lambda p: Path(p).write_text(text + "\n"))


def run_extract(inputs: list[str], checkpoint: str, out: str, *, arch: str | None = None,
                key: str = "target_encoder", probe: str | None = None, pretrain_frames: int = 16,
                pretrain_img_size: int = 224, storage: str = "float32", progress: bool = True,
                device: str = "cpu", **embed_kwargs: Any) -> dict[str, Any]:
    """Extract and store the embeddings of every input (see the module docstring); returns counts and failures."""
    import vjepa

    videos, dropped = drop_duplicates(collect_inputs(inputs))  # checked before the checkpoint is read
    if dropped:
        write_line(f"note: {len(dropped)} input(s) dropped as duplicates of an earlier one (the same file under "
                   f"another key; first occurrence kept), e.g. {dropped[0]}")
    if storage not in STORAGE:
        raise ConfigError(f"storage={storage!r}: use one of {', '.join(STORAGE)}")
    with output_lock(lock_folder(out), "extraction"):  # one run at a time per output
        model = vjepa.load(checkpoint, arch=arch, key=key, probe=probe, num_frames=pretrain_frames,
                           img_size=pretrain_img_size, device=device)
        settings = {"checkpoint": os.path.abspath(checkpoint), "key": model.config["key"], "arch": arch,
                    "storage": storage, **{k: v for k, v in embed_kwargs.items() if k not in ("batch_size", "dtype")}}
        store = _Store(out, settings)
        todo = {k: p for k, p in videos.items() if not store.done(k)}
        failed: dict[str, str] = {}
        try:
            for k, path in progress_bar(todo.items(), desc="extract", unit="file", enabled=progress):
                try:
                    emb = model.embed(path, **embed_kwargs)
                except DataError as e:
                    failed[k] = str(e).splitlines()[0]
                    write_line(f"skipped: {failed[k]}")
                    continue
                info = {"source": os.path.abspath(path), "fps": emb.fps, "grid": list(emb.grid),
                        "frames": emb.frames.tolist(), "shape": list(emb.features.shape)}
                store.add(k, emb.features.to(STORAGE[storage]), info)
        finally:  # also on Ctrl-C: keep what was finished
            store.flush()
    return {"extracted": store.new, "already_done": len(videos) - len(todo), "failed": failed, "out": str(out),
            "duplicates": len(dropped)}
