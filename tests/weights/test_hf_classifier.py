"""Parity with transformers' own ``VJEPA2ForVideoClassification`` (``pytest -k classification``).

Data-driven: the tiny random classifier is built by transformers from
``tests/fixtures/hf_vjepa2_classifier_tiny/config.json`` and every size is read from it. Tolerance 1e-4 (the
issue's); the measured errors are printed (``pytest -s``). Weights are re-drawn with std 0.2 so that attention is
far from uniform (at transformers' std 0.02 a wrong block order would go unnoticed); a control test shows that the
V-JEPA 1 block order is caught.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

import vjepa  # noqa: E402
from vjepa.core.errors import ConfigError  # noqa: E402
from vjepa.models.probe import AttentiveClassifier, vjepa2_probe_config  # noqa: E402
from vjepa.weights.hf_classifier import export_hf_classifier, load_hf_classifier  # noqa: E402
from vjepa.weights.official import load_official_probe  # noqa: E402

ATOL = 1e-4
FIXTURE = Path(__file__).parents[1] / "fixtures" / "hf_vjepa2_classifier_tiny" / "config.json"


def scramble_(module: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            norm = "norm" in name and name.endswith("weight")
            p.copy_(1 + 0.1 * noise if norm else 0.2 * noise)


def max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def hf_model(spec):
    torch.manual_seed(0)
    model = transformers.VJEPA2ForVideoClassification(transformers.VJEPA2Config(**spec)).eval()
    scramble_(model, 1)
    return model


@pytest.fixture(scope="module")
def hf_dir(hf_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("hf_classifier")
    hf_model.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def video(spec):
    gen = torch.Generator().manual_seed(2)
    return torch.randn(2, spec["frames_per_clip"], 3, spec["crop_size"], spec["crop_size"], generator=gen)


def hf_logits(model, video: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(pixel_values_videos=video).logits  # HF takes (B, T, C, H, W)


def test_classification_import_config(spec, hf_dir):
    loaded = load_hf_classifier(hf_dir)
    cfg = loaded.probe.cfg
    assert (cfg.variant, cfg.depth, cfg.num_heads) == ("vjepa2", spec["num_pooler_layers"] + 1,
                                                      spec["num_attention_heads"])
    assert cfg.num_classes == len(spec["id2label"]) and cfg.norm_eps == spec["layer_norm_eps"]
    assert loaded.labels == [spec["id2label"][str(i)] for i in range(cfg.num_classes)]


def test_classification_import_parity(hf_model, hf_dir, video):
    loaded = load_hf_classifier(hf_dir)
    ours = loaded.probe(loaded.encoder(video.transpose(1, 2)))
    err = max_err(ours, hf_logits(hf_model, video))
    print(f"\nimport: max |ours - transformers| logits = {err:.2e}")
    assert err <= ATOL


def test_classification_probe_alone_matches_hf_pooler(hf_model, hf_dir, spec):
    """The V-JEPA 2 probe on its own against transformers' pooler + classifier, on random tokens."""
    probe = load_hf_classifier(hf_dir).probe
    tokens = torch.randn(3, 40, spec["hidden_size"], generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = hf_model.classifier(hf_model.pooler(tokens))
    err = max_err(probe(tokens), expected)
    print(f"\nprobe alone: max error {err:.2e}")
    assert err <= ATOL
    v1 = AttentiveClassifier(replace(probe.cfg, variant="vjepa1"))  # control: the V-JEPA 1 order is caught
    v1.load_state_dict(probe.state_dict())
    assert max_err(v1(tokens), expected) > 100 * ATOL


def test_classification_vjepa_load_classify(hf_model, hf_dir, video, spec):
    model = vjepa.load(hf_dir)
    result = model.classify(video.transpose(1, 2))
    assert max_err(result.logits, hf_logits(hf_model, video)) <= ATOL
    assert result.names == [spec["id2label"][str(i)] for i in range(len(spec["id2label"]))]
    assert result.labels == [result.names[i] for i in result.logits.argmax(1).tolist()]
    frames = torch.randint(0, 256, (spec["frames_per_clip"], 48, 40, 3), dtype=torch.uint8)
    for how in ("eval", "hf"):
        assert model.classify(frames, preprocess=how).logits.shape == (1, len(spec["id2label"]))


def _load_quietly(folder: Path):
    """``from_pretrained`` with every transformers log record and Python warning captured."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = transformers.VJEPA2ForVideoClassification.from_pretrained(folder).eval()
    finally:
        logger.removeHandler(handler)
    loud = [r.getMessage() for r in records if r.levelno >= logging.WARNING] + [str(w.message) for w in caught]
    return model, loud


def test_classification_export_loads_in_transformers_without_warnings(hf_dir, video, tmp_path):
    ours = load_hf_classifier(hf_dir)
    out = export_hf_classifier(ours.encoder, ours.predictor, ours.probe, tmp_path / "exported", ours.labels)
    model, loud = _load_quietly(out)
    assert loud == []
    err = max_err(hf_logits(model, video), ours.probe(ours.encoder(video.transpose(1, 2))))
    print(f"\nexport: max |transformers(exported) - ours| logits = {err:.2e}")
    assert err <= ATOL
    assert model.config.id2label == dict(enumerate(ours.labels))


def test_classification_export_of_a_new_probe_without_predictor(hf_dir, video, tmp_path):
    """A probe we trained (official eps 1e-5) on an encoder with no predictor exports and loads silently."""
    encoder = load_hf_classifier(hf_dir).encoder
    e = encoder.cfg
    torch.manual_seed(4)
    probe = AttentiveClassifier(vjepa2_probe_config(e.embed_dim, e.num_heads, 5)).eval()
    scramble_(probe, 5)
    out = export_hf_classifier(encoder, None, probe, tmp_path / "new")
    model, loud = _load_quietly(out)
    assert loud == []
    err = max_err(hf_logits(model, video), probe(encoder(video.transpose(1, 2))))
    print(f"\nexport of an eps-1e-5 probe into HF's eps-1e-6 pooler: max logits error {err:.2e}")
    assert err <= ATOL


def test_classification_export_refuses_a_deep_vjepa1_probe(hf_dir, tmp_path):
    encoder = load_hf_classifier(hf_dir).encoder
    e = encoder.cfg
    probe = AttentiveClassifier(vjepa2_probe_config(e.embed_dim, e.num_heads, 3, variant="vjepa1"))
    with pytest.raises(ConfigError, match="V-JEPA 1 probe of depth 4"):
        export_hf_classifier(encoder, None, probe, tmp_path / "no")
    assert not (tmp_path / "no").exists()


def test_classification_official_vjepa2_probe_file_loads_strictly(hf_dir, tmp_path, spec):
    """A facebookresearch/vjepa2 eval checkpoint (``classifiers``: one DDP state dict per grid head)."""
    probe = load_hf_classifier(hf_dir).probe
    state = {f"module.{k}": v for k, v in probe.state_dict().items()}
    other = {k: torch.zeros_like(v) for k, v in state.items()}
    path = tmp_path / "ssv2-probe.pt"
    torch.save({"classifiers": [other, state], "epoch": 20, "batch_size": 4}, path)
    loaded = load_official_probe(path, num_heads=spec["num_attention_heads"], index=1)
    assert (loaded.cfg.variant, loaded.cfg.depth) == ("vjepa2", spec["num_pooler_layers"] + 1)
    assert loaded.cfg.norm_eps == 1e-5  # official: nn.LayerNorm's default, not HF's layer_norm_eps
    same = AttentiveClassifier(replace(probe.cfg, norm_eps=1e-5))
    same.load_state_dict(probe.state_dict())
    tokens = torch.randn(2, 10, spec["hidden_size"])
    assert max_err(loaded(tokens), same(tokens)) == 0.0
    bad = {k: v for k, v in state.items() if "blocks.0.mlp" not in k}
    torch.save({"classifiers": [bad]}, path)
    with pytest.raises(Exception, match="blocks.0.mlp"):
        load_official_probe(path, num_heads=spec["num_attention_heads"])


def test_classification_folder_converted_to_a_backbone_export_says_the_head_is_left_out(hf_dir, tmp_path, capsys):
    from vjepa.cli.main import main

    assert main(["convert", "hf", str(hf_dir), str(tmp_path / "ours")]) == 0
    err = capsys.readouterr().err
    assert "note: the classifier" in err and ".classify(" in err and err.count("\n") == 1
