"""Reading one side (train or val) of a labelled evaluation set: a ``path label`` CSV list or class folders.

Used by ``vjepa eval`` and ``vjepa finetune``; every label is checked against ``num_classes``, every class needs a
training example, and the errors name the file, the line and the parameters (``train_csv``, ``val_dir``,
``num_classes``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vjepa.core.errors import ConfigError, DataError
from vjepa.data.index import IndexEntry, class_names, is_image, is_media, read_index


@dataclass
class Split:
    """One side of an evaluation: its index and what the checks and the feature cache need to know about it."""

    name: str
    """``train`` or ``val``."""
    source: str
    """The CSV file or folder it was read from."""
    entries: list[IndexEntry]
    classes: list[str] | None
    """Class sub-folder names (folder indexes); None for CSV lists."""

    @property
    def images(self) -> bool:
        return all(is_image(e.path) for e in self.entries)


def read_split(name: str, csv: str | os.PathLike | None, folder: str | os.PathLike | None,
               num_classes: int) -> Split:
    """Read the ``name`` side (``train``/``val``) from exactly one of ``{name}_csv`` (``csv``) and ``{name}_dir``
    (``folder``), and check every label is a class of ``num_classes`` (errors name the file and line) and, for the
    ``train`` side, that every class has at least one example."""
    if (csv is None) == (folder is None):
        raise ConfigError(f"give exactly one of {name}_csv and {name}_dir")
    source = os.fspath(csv if csv is not None else folder)
    if csv is not None and os.path.isdir(source):
        raise DataError(f"{name}_csv {source} is a folder; give class folders as {name}_dir")
    if folder is not None and not os.path.isdir(source):
        raise DataError(f"{name}_dir {source}: not a folder; give a 'path label' list as {name}_csv")
    entries = read_index(source)
    classes = class_names(source) if folder is not None else None
    labels = [e.label for e in entries]
    bad = next((i for i, y in enumerate(labels) if not 0 <= y < num_classes), None)
    if bad is not None:
        if classes:
            raise DataError(f"{source}: {len(classes)} class sub-folders but num_classes is {num_classes}; set "
                            f"num_classes {len(classes)}")
        where = source
        if not is_media(source):  # read_index skips blank lines, so the entry's line is the bad-th non-blank one
            with open(source, encoding="utf-8") as f:
                where += f":{[n for n, line in enumerate(f.read().splitlines(), 1) if line.strip()][bad]}"
        top = max(labels)
        fix = f"fix the label or set num_classes {top + 1} (largest label {top}, plus 1)" if labels[bad] >= 0 else \
            "labels are class indices 0, 1, ..."
        raise DataError(f"{where}: label {labels[bad]} is not in [0, {num_classes}) (num_classes {num_classes}); "
                        f"{fix}")
    if num_classes < 2:
        raise ConfigError(f"num_classes {num_classes}: a classifier needs at least 2 classes (one class always "
                          "scores 100 %); give the data of 2 or more classes")
    if name == "train":
        _check_every_class(source, labels, classes, num_classes)
    return Split(name, source, entries, classes)


def _check_every_class(source: str, labels: list[int], classes: list[str] | None, num_classes: int) -> None:
    """Every class of ``[0, num_classes)`` has a training example, else a one-line error naming the missing ones."""
    missing = sorted(set(range(num_classes)) - set(labels))
    if not missing or not labels:
        return
    if classes is not None:
        fix = f"set num_classes {len(classes)}" if len(classes) > 1 else "a classifier needs at least 2 classes"
        raise DataError(f"{source}: {len(classes)} class sub-folder(s) but num_classes is {num_classes}; {fix}")
    shown = ", ".join(map(str, missing[:5])) + (f" ... and {len(missing) - 5} more" if len(missing) > 5 else "")
    top = max(labels)
    fix = f"set num_classes {top + 1} (largest label {top}, plus 1) or add their examples" if missing[0] > top else \
        "add their examples (labels are class indices 0, 1, ...)"
    raise DataError(f"{source}: no training example of class {shown} (num_classes {num_classes}); {fix}")
