"""Access to a folder of official V-JEPA 2-AC reference vectors (format of tests/fixtures/official_vjepa2_ac_tiny).

``VJEPA_AC_FIXTURE`` may point to any other folder in the same format: every size, ``use_extrinsics`` and
``auto_steps`` is read from its ``config.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from support.official_fixture import ReferenceSet
from vjepa.models.ac_predictor import ACPredictorConfig
from vjepa.models.encoder import EncoderConfig

DEFAULT = Path(__file__).resolve().parents[1] / "fixtures" / "official_vjepa2_ac_tiny"


@dataclass
class ACFixture(ReferenceSet):

    @property
    def weights(self) -> Path:
        return self.root / "weights.safetensors"

    @property
    def grid(self) -> tuple[int, int]:
        side = self.config["img_size"] // self.config["patch_size"]
        return (side, side)

    @property
    def tokens_per_frame(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def cond_tokens(self) -> int:
        return 3 if self.config["use_extrinsics"] else 2

    def encoder_config(self) -> EncoderConfig:
        """The official per-frame encoder: two-frame tubelets (a frame duplicated), RoPE, LayerNorm eps 1e-6."""
        c = self.config
        return EncoderConfig(embed_dim=c["enc_dim"], depth=c["enc_depth"], num_heads=c["enc_heads"],
                             patch_size=c["patch_size"], tubelet_size=2, num_frames=2, img_size=c["img_size"],
                             use_rope=True, attention="sdpa")

    def predictor_config(self) -> ACPredictorConfig:
        c = self.config
        return ACPredictorConfig(embed_dim=c["enc_dim"], predictor_embed_dim=c["pred_dim"], depth=c["pred_depth"],
                                 num_heads=c["pred_heads"], action_dim=c["action_dim"],
                                 use_extrinsics=c["use_extrinsics"], grid=self.grid)

    def extrinsics(self) -> torch.Tensor | None:
        return self.vectors["input/extrinsics"] if self.config["use_extrinsics"] else None


def ac_fixture() -> ACFixture:
    return ACFixture(Path(os.environ.get("VJEPA_AC_FIXTURE", DEFAULT)))
