"""``vjepa bench``: the JSON it writes, and the analytic FLOP count against PyTorch's own FLOP counter. No timing
is asserted (the figures depend on the machine and its load)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from vjepa.config import load_config
from vjepa.masks import MaskGenerator, grid_for
from vjepa.pretrain.build import build_models
from vjepa.pretrain.optim import build_optimizer
from vjepa.pretrain.step import Batch, TrainState, train_step
from vjepa.tools.bench import PRESETS
from vjepa.tools.flops import FORMULA, encoder_forward_flops, train_step_flops

KEYS = {"name", "precision", "step_s", "clips_per_s", "achieved_gflops", "peak_gflops", "mfu", "peak_mem_gb"}


def test_bench_writes_the_json(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "vjepa", "bench", "smoke", "--json", str(out), "--steps", "1",
                           "--warmup", "0", "--threads", "1", "--baseline"], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    assert "MFU" in done.stdout and "block(n, d)" in done.stdout  # the table and the FLOP formula are printed
    doc = json.loads(out.read_text())
    assert doc["formula"] == FORMULA and doc["threads"] == 1 and doc["machine"]
    kinds = {r["name"].partition(":")[2] or r["kind"]: r for r in doc["results"]}
    assert set(kinds) == {"train_step", "fp32_baseline", "features", "extract", "data", "data_cached"}
    assert kinds["fp32_baseline"]["precision"] == "float32" and kinds["train_step"]["speedup_vs_fp32_baseline"] > 0
    for r in doc["results"]:
        assert KEYS <= r.keys(), r
        assert r["step_s"] > 0 and r["clips_per_s"] > 0
    step = kinds["train_step"]
    assert step["name"] == "smoke" and step["precision"] == "float32"  # cpu_tiny trains in fp32
    assert step["mfu"] == pytest.approx(step["achieved_gflops"] / step["peak_gflops"], rel=0.02, abs=1e-3)
    assert step["peak_mem_gb"] > 0 and kinds["data"]["mfu"] is None
    # Extraction through vjepa.tools.embed next to the pretraining forward of the same clips, per clip, and their ratio
    extract = kinds["extract"]
    assert extract["forward_precision"] == kinds["features"]["precision"] == "float32"
    assert extract["precision"] in ("float32", "bfloat16")  # dtype="auto": bf16 on bf16-capable CPUs
    for key in ("s_per_clip", "forward_s_per_clip", "extract_vs_forward"):
        assert extract[key] > 0, key
    assert kinds["features"]["s_per_clip"] > 0
    assert "ms/clip vs pretraining forward" in done.stdout


def test_unknown_bench_config_is_a_one_line_error():
    done = subprocess.run([sys.executable, "-m", "vjepa", "bench", "tiny113"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "unknown bench config 'tiny113'" in done.stderr and "Traceback" not in done.stderr


def test_analytic_flops_equal_pytorch_flop_counter():
    # Manual attention: PyTorch counts its matmuls one by one (its SDPA backward rule counts fewer than 2x forward).
    cfg = load_config("cpu_tiny", ["optim.micro_batch_size=null", "model.attention=manual"])
    encoder, predictor, target = build_models(cfg)
    state = TrainState(encoder, predictor, target, build_optimizer(encoder, predictor, cfg.optim))
    d, b = cfg.data, cfg.optim.batch_size
    video = torch.randn(b, 3, d.num_frames, d.crop_size, d.crop_size)
    ctx, tgt = MaskGenerator(cfg.masks.blocks, grid_for(d.num_frames, d.crop_size, 16, 2), seed=0)(b, step=0)
    with FlopCounterMode(display=False) as counter:
        train_step(state, [Batch(video, ctx, tgt)], cfg.optim, cfg.loss, torch.float32)
    expected = train_step_flops(encoder.cfg, predictor.cfg, b, [c.shape[1] for c in ctx], [t.shape[1] for t in tgt])
    assert counter.get_total_flops() == expected
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        target(video)
    assert counter.get_total_flops() == b * encoder_forward_flops(encoder.cfg, encoder.cfg.num_tokens)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_bench_config_loads(name):
    preset = PRESETS[name]
    cfg = load_config(preset.base, list(preset.overrides))
    assert cfg.optim.batch_size == {"tiny112": 4, "small224": 2, "smoke": 2}[name]
