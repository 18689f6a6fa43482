"""vjepa.weights: one detector, one loader, one key splitter; format tags; errors that name parameters."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch
from support.official_fixture import official_fixture

import vjepa
from vjepa.core import formats
from vjepa.core.errors import CheckpointError, ConfigError
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.models.registry import create_encoder, create_predictor
from vjepa.weights.detect import detect
from vjepa.weights.hf import export_hf
from vjepa.weights.io import save_modules
from vjepa.weights.keys import split_prefixes, strip_prefixes
from vjepa.weights.load import load_encoder, load_parts, load_probe, read_states
from vjepa.weights.official import load_official_pretrain


def tiny(**kw):
    torch.manual_seed(0)
    return create_encoder("custom", embed_dim=48, depth=1, num_heads=2, patch_size=8, num_frames=4, img_size=32,
                          **kw).eval()


def test_split_and_strip_prefixes():
    t = torch.zeros(1)
    assert split_prefixes({"encoder.a.b": t, "probe.c": t, "x": t}) == {"encoder": {"a.b": t}, "probe": {"c": t},
                                                                        "": {"x": t}}
    assert list(strip_prefixes({"module.backbone.blocks.0.w": t, "norm.w": t})) == ["blocks.0.w", "norm.w"]


def test_check_format_is_one_line():
    formats.check_format(formats.EXPORT, "vjepa-export/1", "f")
    with pytest.raises(CheckpointError, match=r"^f\.json: format is 'vjepa-export/2', expected 'vjepa-export/1'$"):
        formats.check_format("vjepa-export/2", formats.EXPORT, "f.json")


def test_detect_every_kind(tmp_path):
    ref = official_fixture()
    enc = tiny()
    save_modules(tmp_path / "exp", {"encoder": enc}, {"format": formats.EXPORT, "encoder": asdict(enc.cfg)})
    probe = AttentiveClassifier(ProbeConfig(embed_dim=48, num_heads=2, num_classes=3))
    save_modules(tmp_path / "probe", {"probe": probe}, {"format": formats.EVAL_PROBE, "probe": asdict(probe.cfg)})
    save_modules(tmp_path / "ft", {"encoder": enc, "head": probe}, {"format": formats.FINETUNE_EXPORT,
                                                                     "encoder": asdict(enc.cfg)})
    torch.save({"format": formats.FINETUNE_CHECKPOINT, "encoder": enc.state_dict(), "head": probe.state_dict(),
                "meta": {"encoder": asdict(enc.cfg)}}, tmp_path / "ft.pt")
    rope = tiny(use_rope=True)
    export_hf(rope, create_predictor(rope.cfg, depth=1, embed_dim=24, num_heads=2, num_mask_tokens=2),
              tmp_path / "hf")
    kinds = {name: detect(path) for name, path in [
        ("exp", tmp_path / "exp" / "model.safetensors"), ("probe", tmp_path / "probe"), ("ft", tmp_path / "ft"),
        ("ft.pt", tmp_path / "ft.pt"), ("hf", tmp_path / "hf"), ("official", ref.checkpoint),
        ("official probe", ref.probe_checkpoint)]}
    assert {k: (v.kind, v.parts) for k, v in kinds.items()} == {
        "exp": ("export", ("encoder",)), "probe": ("eval-probe", ("probe",)), "ft": ("finetune-export",
                                                                                    ("encoder", "head")),
        "ft.pt": ("finetune-checkpoint", ("encoder", "head")), "hf": ("hf-vjepa2", ("encoder", "predictor")),
        "official": ("official-pretrain", ("encoder", "target_encoder", "predictor")),
        "official probe": ("official-probe", ("probe",))}
    # the pretraining export's encoder answers for target_encoder; fine-tuning files give their head
    assert torch.equal(load_encoder(kinds["exp"]).norm.weight, enc.norm.weight)
    for name in ("ft", "ft.pt"):
        loaded = load_parts(kinds[name], ("encoder", "head"))
        assert loaded.key == "encoder" and torch.equal(loaded.head["linear.weight"], probe.linear.weight)
    assert load_probe(kinds["probe"], num_heads=2).cfg.num_classes == 3
    with pytest.raises(CheckpointError, match="holds no encoder"):
        load_encoder(kinds["probe"])
    torch.save({"format": "vjepa-export/9"}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="format 'vjepa-export/9' is not one this version reads"):
        detect(tmp_path / "future.pt")


def test_official_states_and_modules_agree():
    ref = official_fixture()
    kw = ref.encoder_kwargs()
    states = read_states(ref.checkpoint, ["target_encoder", "predictor"])
    modules = load_official_pretrain(ref.checkpoint, **kw)
    own = modules.target_encoder.state_dict()
    assert all(torch.equal(v, own[k]) for k, v in states["target_encoder"].items() if k in own)
    arch = kw.pop("arch")
    loaded = load_parts(ref.checkpoint, ("encoder", "predictor"), arch=arch, **kw)
    assert loaded.predictor is not None and torch.equal(loaded.encoder.norm.weight, modules.target_encoder.norm.weight)


def test_library_errors_name_parameters_not_flags():
    """vjepa.load and the official loaders are a library: their errors name parameters (arch=...), never --flags."""
    ref = official_fixture()
    with pytest.raises(CheckpointError) as missing:
        vjepa.load("missing", arch="vit_large")
    with pytest.raises(ConfigError) as no_arch:
        vjepa.load(ref.checkpoint)
    with pytest.raises(CheckpointError) as wrong_arch:
        load_official_pretrain(ref.checkpoint, "vit_large")
    for error, names in [(missing, ["path"]), (no_arch, ["arch=", "vit_large", "vjepa2_vit_giant"]),
                         (wrong_arch, ["arch="])]:
        text = str(error.value)
        assert "--" not in text and "\n" not in text and all(n in text for n in names), text


def test_arch_must_agree_with_a_file_that_records_its_size(tmp_path):
    """Issue #18 item 5: exports (and HF folders) record their size; an arch that disagrees is a one-line error."""
    enc = tiny(use_rope=True)
    save_modules(tmp_path / "export", {"encoder": enc}, {"format": "vjepa-export/1", "encoder": asdict(enc.cfg)})
    export_hf(enc, create_predictor(enc.cfg, depth=1, embed_dim=24, num_heads=2, num_mask_tokens=10), tmp_path / "hf")
    for folder in ("export", "hf"):
        with pytest.raises(ConfigError, match=rf"arch='vit_large' disagrees with .*{folder}: it holds an encoder of "
                                              r"width 48, 1 blocks, 2 heads, but arch vit_large expects width 1024, "
                                              r"24 blocks, 16 heads; drop arch") as e:
            vjepa.load(tmp_path / folder, arch="vit_large")
        assert "\n" not in str(e.value)
        assert load_encoder(tmp_path / folder, arch="custom").cfg.embed_dim == 48  # custom: nothing to compare
    with pytest.raises(ConfigError, match="unknown model size 'vit_larg'; did you mean 'vit_large'"):
        load_encoder(tmp_path / "export", arch="vit_larg")
    small = create_encoder("vit_tiny", num_frames=2, img_size=16, patch_size=8)  # a registry size: it agrees
    save_modules(tmp_path / "tiny", {"encoder": small}, {"format": "vjepa-export/1", "encoder": asdict(small.cfg)})
    assert load_encoder(tmp_path / "tiny", arch="vit_tiny").cfg.embed_dim == 192
