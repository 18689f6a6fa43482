"""Dataset indexes: which files make a dataset and their labels, and how several datasets are mixed.

Three index forms (:func:`read_index` dispatches on the path):

* a CSV file (official format): one ``path label`` line per video, no header; the label is the last
  whitespace-separated field, so paths may contain spaces (the official pandas reader would break on them).
  Relative paths are taken relative to the CSV's folder. Blank lines are skipped.
* a folder with class sub-folders: every video or image below ``folder/<class>/`` gets the class's position in
  the sorted sub-folder names as its label (torchvision ``ImageFolder`` order); a folder without sub-folders
  gives its own media files, label 0.
* a single video or image file: one entry, label 0.

Mixing (:class:`MixedIndex`): with weights, every position draws its dataset and its sample independently with
replacement, from a generator keyed by ``(seed, epoch, position)``; the official weighted sampler draws without
replacement, so its weights only reorder each pass (official §10 item 18).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vjepa.core.errors import DataError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".flv",
                              ".3gp", ".ogv", ".wmv", ".mts", ".m2ts"})
_MIX_TAG = 0x313D  # keeps mixing draws apart from the other (seed, ...)-keyed streams of the project


@dataclass(frozen=True)
class IndexEntry:
    """One sample of a dataset: a video (or image) file and its integer class label."""

    path: str
    label: int


def is_image(path: str) -> bool:
    """True for image file names (an image becomes a clip by repetition)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_media(path: str) -> bool:
    """True for video or image file names."""
    suffix = Path(path).suffix.lower()
    return suffix in VIDEO_EXTENSIONS or suffix in IMAGE_EXTENSIONS


def class_names(folder: str) -> list[str]:
    """Sorted names of the non-hidden sub-folders of ``folder`` (class ``i`` is ``class_names(folder)[i]``)."""
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: not a folder")
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def _media_below(folder: str) -> list[str]:
    """Media files below ``folder`` (recursively, hidden entries skipped), sorted by path for a stable order."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(root, f) for f in files if not f.startswith(".") and is_media(f))
    return sorted(found)


def _read_folder(folder: str) -> list[IndexEntry]:
    classes = class_names(folder)
    if not classes:
        return [IndexEntry(p, 0) for p in _media_below(folder)]
    entries = []
    for label, name in enumerate(classes):
        entries.extend(IndexEntry(p, label) for p in _media_below(os.path.join(folder, name)))
    return entries


def _read_csv(path: str) -> list[IndexEntry]:
    base = os.path.dirname(os.path.abspath(path))
    entries = []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text index (not UTF-8); give a CSV of 'path label' lines") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.strip().rsplit(maxsplit=1)
        if len(parts) != 2:
            raise DataError(f"{path}:{number}: no label in {line.strip()!r}; each line must be 'path label'")
        file, label = parts
        try:
            value = int(label)
        except ValueError:
            raise DataError(f"{path}:{number}: label {label!r} is not an integer; each line must be "
                            "'path label' (no header line)") from None
        entries.append(IndexEntry(file if os.path.isabs(file) else os.path.join(base, file), value))
    return entries


def read_index(path: str) -> list[IndexEntry]:
    """Read a dataset index: a CSV file, a folder of (class folders of) videos or images, or one media file.

    Args:
        path: The index (see the module docstring for the forms).

    Returns:
        The entries, in file order (CSV) or sorted class then path order (folders).

    Raises:
        DataError: missing index, a CSV line without a label (``file:line``), a non-integer label, or an
            index with no entries.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: index not found; give a CSV file, a folder of videos or a video file")
    if os.path.isdir(path):
        entries = _read_folder(path)
    elif is_media(path):
        entries = [IndexEntry(path, 0)]
    else:
        entries = _read_csv(path)
    if not entries:
        raise DataError(f"{path}: empty index (no 'path label' lines, or no video/image files in the folder)")
    return entries


class MixedIndex:
    """Positions of a mixture of datasets -> (dataset, sample index); a pure function of its arguments.

    Without weights the datasets are concatenated (natural proportions; a sampler shuffles the positions).
    With weights, position ``p`` of epoch ``e`` picks dataset ``d`` with probability
    ``weights[d] / sum(weights)`` and a sample of it uniformly, with replacement, from a generator keyed by
    ``(seed, e, p)``: deterministic, and independent of workers and ranks.

    Args:
        sizes: Number of samples of each dataset (each >= 1).
        weights: Relative weight of each dataset (>= 0, not all 0), or None.
        seed: Seed of the draws.
        length: Positions per epoch (default ``sum(sizes)``, as official).
    """

    def __init__(self, sizes: list[int], weights: list[float] | None = None, seed: int = 0,
                 length: int | None = None) -> None:
        if not sizes or min(sizes) < 1:
            raise DataError(f"dataset sizes {list(sizes)} must be non-empty and each >= 1")
        if weights is not None and (len(weights) != len(sizes) or min(weights) < 0 or sum(weights) <= 0):
            raise DataError(f"dataset weights {list(weights)} must be one non-negative number per dataset "
                            f"({len(sizes)}), not all zero")
        self.sizes, self.seed = [int(s) for s in sizes], int(seed)
        self.weights = None if weights is None else [float(w) for w in weights]
        self.offsets = np.concatenate(([0], np.cumsum(self.sizes)))  # flat index = offsets[d] + index
        self.length = int(length) if length is not None else int(self.offsets[-1])
        if self.weights is not None:
            self._cdf = np.cumsum(self.weights) / sum(self.weights)

    def __len__(self) -> int:
        return self.length

    def locate(self, position: int, epoch: int = 0) -> tuple[int, int]:
        """``(dataset, index within it)`` of ``position`` (0 <= position < len) in ``epoch``."""
        if not 0 <= position < self.length:
            raise IndexError(f"position {position} out of range for a mixture of {self.length}")
        if self.weights is None:
            dataset = int(np.searchsorted(self.offsets, position, side="right")) - 1
            return dataset, int(position - self.offsets[dataset])
        rng = np.random.default_rng(np.random.SeedSequence([_MIX_TAG, self.seed, int(epoch), int(position)]))
        u, v = rng.random(2)
        dataset = min(int(np.searchsorted(self._cdf, u, side="right")), len(self.sizes) - 1)
        while self.weights[dataset] == 0:  # u on a zero-width edge of the cdf (float rounding)
            dataset -= 1
        return dataset, min(int(v * self.sizes[dataset]), self.sizes[dataset] - 1)

    def flat(self, position: int, epoch: int = 0) -> int:
        """Index into the concatenation of the datasets' entries."""
        dataset, index = self.locate(position, epoch)
        return int(self.offsets[dataset]) + index
