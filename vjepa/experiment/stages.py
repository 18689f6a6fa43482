"""Stage bookkeeping of an experiment folder: one result file per finished unit of work, and a log of events.

``OUT/stages/<name>.json`` is written atomically when a unit finishes (a pretraining run, the probes of one
checkpoint, the low-shot runs of one encoder, the report); its presence is the done-marker, its content the
result, so a re-run skips the unit and reads the result back. ``OUT/stages.jsonl`` appends one line per event
(``start``, ``done``, ``skipped``) with a timestamp, so what each invocation did (and did not redo) is on record.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from vjepa.core.io import atomic_write
from vjepa.eval.report import json_safe


class StageLog:
    def __init__(self, out_dir: str | Path) -> None:
        self.out = Path(out_dir)
        self.folder = self.out / "stages"
        self.log_path = self.out / "stages.jsonl"

    def result(self, name: str) -> dict[str, Any] | None:
        """The stored result of a finished unit, or None if it has not finished."""
        path = self.folder / f"{name}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def note(self, name: str, event: str, **info: Any) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "stage": name, "event": event, **json_safe(info)}
        with self.log_path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def finish(self, name: str, result: dict[str, Any], seconds: float) -> dict[str, Any]:
        """Store ``result`` as the unit's done-marker (atomically), log ``done``; returns the stored result."""
        result = json_safe({**result, "stage_seconds": round(seconds, 1)})
        text = json.dumps(result, indent=1) + "\n"
        atomic_write(self.folder / f"{name}.json", lambda p: Path(p).write_text(text))
        self.note(name, "done", seconds=round(seconds, 1))
        return result

    def events(self) -> list[dict[str, Any]]:
        if not self.log_path.is_file():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]
