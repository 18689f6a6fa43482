"""Official checkpoint import: strictness, bad files, and refusing to execute pickled code."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from support.official_fixture import official_fixture

from vjepa.core.errors import CheckpointError
from vjepa.weights.io import load_tensors
from vjepa.weights.official import load_official_pretrain, load_official_probe

REF = official_fixture()


def kwargs(**changes):
    return {**REF.encoder_kwargs(), **changes}


def edited_checkpoint(tmp_path: Path, edit) -> Path:
    ckpt = torch.load(REF.checkpoint, map_location="cpu", weights_only=True)
    edit(ckpt)
    path = tmp_path / "edited.pth.tar"
    torch.save(ckpt, path)
    return path


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    def edit(ckpt):
        del ckpt["encoder"]["module.backbone.norm.weight"]
        ckpt["encoder"]["module.backbone.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"missing keys: norm\.weight \| unexpected keys: extra\.weight"):
        load_official_pretrain(edited_checkpoint(tmp_path, edit), **kwargs())


def test_shape_mismatch_is_listed(tmp_path):
    def edit(ckpt):
        ckpt["predictor"]["module.backbone.predictor_proj.bias"] = torch.zeros(5)
    with pytest.raises(CheckpointError, match=r"predictor_proj\.bias \(5,\) vs \(72,\)"):
        load_official_pretrain(edited_checkpoint(tmp_path, edit), **kwargs())


def test_wrong_arch_says_what_was_found():
    with pytest.raises(CheckpointError, match="width-72, depth-2 encoder but arch='vit_large'"):
        load_official_pretrain(REF.checkpoint, "vit_large", num_frames=8, img_size=64)


def test_wrong_input_size_is_explained():
    with pytest.raises(CheckpointError, match="pass the pretraining num_frames and img_size"):
        load_official_pretrain(REF.checkpoint, **kwargs(num_frames=16))


def test_uniform_power_is_detected_from_the_stored_table():
    loaded = load_official_pretrain(REF.checkpoint, **kwargs(uniform_power=not REF.config["encoder"]["uniform_power"]))
    assert loaded.encoder.cfg.uniform_power == REF.config["encoder"]["uniform_power"]


@pytest.mark.parametrize("content", [b"", b"hello, this is text\n", None])
def test_not_a_checkpoint_gets_one_line_error(tmp_path, content):
    path = tmp_path / "bad.pth.tar"
    if content is None:  # truncated real checkpoint
        data = REF.checkpoint.read_bytes()
        content = data[: len(data) // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        load_official_pretrain(path, **kwargs())
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_file_and_wrong_kind():
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_official_pretrain("does/not/exist.pth.tar", **kwargs())
    with pytest.raises(CheckpointError, match="no encoder, target_encoder, predictor"):
        load_official_pretrain(REF.probe_checkpoint, **kwargs())
    with pytest.raises(CheckpointError, match="no classifier"):
        load_official_probe(REF.checkpoint, num_heads=3)


class Exploit:
    """Unpickling this object would run a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (subprocess.call, (["touch", str(self.marker)],))


def test_malicious_pickle_executes_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth.tar"
    torch.save({"encoder": Exploit(marker)}, path)
    with pytest.raises(CheckpointError, match="refused to unpickle"):
        load_official_pretrain(path, **kwargs())
    assert not marker.exists()
    raw = tmp_path / "evil.pkl"  # a plain (non-zip) pickle too
    raw.write_bytes(pickle.dumps(Exploit(marker)))
    with pytest.raises(CheckpointError):
        load_official_pretrain(raw, **kwargs())
    assert not marker.exists()


def test_cli_convert_and_models(tmp_path):
    enc = REF.config["encoder"]
    out = tmp_path / "converted"
    cmd = [sys.executable, "-m", "vjepa", "convert", "official", str(REF.checkpoint), str(out), "--arch", "custom",
           "--embed-dim", str(enc["embed_dim"]), "--depth", str(enc["depth"]), "--num-heads", str(enc["num_heads"]),
           "--num-frames", str(enc["num_frames"]), "--img-size", str(enc["img_size"]),
           "--probe", str(REF.probe_checkpoint)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    tensors = load_tensors(out / "model.safetensors")
    assert {k.split(".")[0] for k in tensors} == {"encoder", "target_encoder", "predictor", "probe"}
    official = torch.load(REF.checkpoint, map_location="cpu", weights_only=True)
    torch.testing.assert_close(tensors["target_encoder.blocks.0.attn.qkv.weight"],
                               official["target_encoder"]["module.backbone.blocks.0.attn.qkv.weight"], atol=0, rtol=0)
    assert (out / "config.json").is_file()
    bad = subprocess.run([*cmd[:7], "--arch", "vit_large", "--num-frames", "8", "--img-size", "64"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    listing = subprocess.run([sys.executable, "-m", "vjepa", "models"], capture_output=True, text=True).stdout
    assert "vit_large" in listing and "303.9M" in listing and "631.6M" in listing


def test_a_wrong_arch_names_the_parameter_not_a_flag():
    """Issue #18 item 6: the Python loader says ``arch=``, never ``--arch``."""
    with pytest.raises(CheckpointError) as info:
        load_official_pretrain(REF.checkpoint, "vit_huge", num_frames=8, img_size=64)
    message = str(info.value)
    assert "arch='vit_huge' is width 1280, depth 32; pass the right arch, or arch='custom'" in message
    assert "--" not in message and "\n" not in message
