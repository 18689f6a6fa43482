"""Access to a folder of official reference vectors (format of tests/fixtures/official_vjepa_tiny).

``VJEPA_OFFICIAL_FIXTURE`` may point to any other folder in the same format; nothing here is specific to the tiny
set: every size, mask count and view count is read from its ``config.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from safetensors.torch import load_file

DEFAULT = Path(__file__).resolve().parents[1] / "fixtures" / "official_vjepa_tiny"


@dataclass
class ReferenceSet:
    """A folder of reference vectors: ``config.json`` (every size) and ``vectors.safetensors``."""

    root: Path

    @cached_property
    def config(self) -> dict:
        return json.loads((self.root / "config.json").read_text())

    @cached_property
    def vectors(self) -> dict[str, torch.Tensor]:
        return load_file(str(self.root / "vectors.safetensors"))


@dataclass
class OfficialFixture(ReferenceSet):

    @property
    def checkpoint(self) -> Path:
        return self.root / self.config["encoder"].get("checkpoint_file", "checkpoint.pth.tar")

    @property
    def probe_checkpoint(self) -> Path:
        return self.root / self.config["probe"].get("checkpoint_file", "probe.pth.tar")

    @property
    def num_mask_configs(self) -> int:
        return len(self.config["masks"]["cfgs_mask"])

    def encoder_kwargs(self) -> dict:
        """Arguments of ``load_official_pretrain`` for this set."""
        enc, pred = self.config["encoder"], self.config["predictor"]
        return dict(
            arch="custom", embed_dim=enc["embed_dim"], depth=enc["depth"], num_heads=enc["num_heads"],
            mlp_ratio=enc["mlp_ratio"], patch_size=enc["patch_size"], num_frames=enc["num_frames"],
            img_size=enc["img_size"], tubelet_size=enc["tubelet_size"], uniform_power=enc["uniform_power"],
            pred_num_heads=pred["num_heads"], attention="sdpa",
        )

    def masks(self, kind: str) -> list[torch.Tensor]:
        return [self.vectors[f"masks/{kind}/{i}"] for i in range(self.num_mask_configs)]


def official_fixture() -> OfficialFixture:
    return OfficialFixture(Path(os.environ.get("VJEPA_OFFICIAL_FIXTURE", DEFAULT)))
