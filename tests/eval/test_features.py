"""Frozen-feature extraction and its cache: the cached path equals on-the-fly extraction (augmentation off)."""

from __future__ import annotations

import pytest
import torch

from vjepa.core.errors import DataError
from vjepa.eval.features import FeatureSet, extract_features, feature_cache_key, image_to_clip, load_or_extract
from vjepa.eval.probe_train import ProbeRecipe, train_attentive_probe
from vjepa.eval.protocol import encode_segments
from vjepa.models.encoder import EncoderConfig, VideoEncoder

TINY = EncoderConfig(embed_dim=48, depth=2, num_heads=2, num_frames=8, img_size=32)


def _encoder(seed: int = 0) -> VideoEncoder:
    torch.manual_seed(seed)
    return VideoEncoder(TINY)


def _batches(num: int = 3, batch: int = 4, segments: int = 1, views: int = 1, seed: int = 0) -> list[dict]:
    """Deterministic batches (a fixed list: what a loader with eval transforms and no shuffling yields)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(num):
        clips = [[torch.randn(batch, 3, 8, 32, 32, generator=g) for _ in range(views)] for _ in range(segments)]
        out.append({"clips": clips, "label": torch.randint(0, 3, (batch,), generator=g)})
    return out


def test_multi_segment_multi_view_layout():
    encoder, batches = _encoder(), _batches(num=2, batch=2, segments=2, views=3)
    fs = extract_features(encoder, batches, progress=False)
    assert fs.num_views == 3 and fs.num_samples == 4 and fs.meta["num_heads"] == 2
    assert fs.views[0].shape == (4, 2 * TINY.num_tokens, 48)
    with torch.no_grad():
        clips = batches[1]["clips"]
        for v in range(3):  # view v = its segments' tokens concatenated along the token axis
            expected = torch.cat([encoder(clips[s][v]) for s in range(2)], dim=1)
            torch.testing.assert_close(fs.views[v][2:], expected)
    assert torch.equal(fs.labels, torch.cat([b["label"] for b in batches]))


def test_cached_features_train_the_same_probe_as_on_the_fly_extraction(tmp_path):
    encoder = _encoder()
    train_batches, val_batches = _batches(seed=1), _batches(num=2, views=2, seed=2)
    on_the_fly = (extract_features(encoder, train_batches, progress=False),
                  extract_features(encoder, val_batches, progress=False))
    # Bit-exact check against the protocol function the on-the-fly eval uses.
    with torch.no_grad():
        assert torch.equal(on_the_fly[0].views[0][:4], encode_segments(encoder, train_batches[0]["clips"])[0])
    cached = [FeatureSet.load(fs.save(tmp_path / f"{i}.safetensors")) for i, fs in enumerate(on_the_fly)]
    assert all(torch.equal(a, b) for a, b in zip(on_the_fly[1].views, cached[1].views))
    assert cached[1].meta == on_the_fly[1].meta
    recipe = ProbeRecipe(epochs=2, batch_size=4)
    a = train_attentive_probe(*on_the_fly, 3, recipe, progress=False)
    b = train_attentive_probe(*cached, 3, recipe, progress=False)
    assert torch.equal(a.val_probs, b.val_probs)
    with torch.no_grad():
        tokens = cached[1].views[1]
        assert torch.equal(a.probe(tokens), b.probe(tokens))


def test_half_precision_storage_round_trips(tmp_path):
    fs = extract_features(_encoder(), _batches(num=1), storage_dtype=torch.float16, progress=False)
    back = FeatureSet.load(fs.save(tmp_path / "f.safetensors"))
    assert back.views[0].dtype == torch.float16 and torch.equal(back.views[0], fs.views[0])
    full = extract_features(_encoder(), _batches(num=1), progress=False)
    torch.testing.assert_close(fs.views[0].float(), full.views[0], atol=1e-2, rtol=1e-2)


def test_intermediate_layers_in_one_pass():
    encoder = _encoder()
    fs = extract_features(encoder, _batches(num=1), layers=[0, -1], progress=False)
    assert fs.embed_dim == 2 * 48 and fs.meta["layers"] == [0, -1]
    last = extract_features(encoder, _batches(num=1), progress=False)
    torch.testing.assert_close(fs.layer(1).views[0], last.views[0])
    assert fs.layer(0).meta["layers"] == [0] and fs.layer(0).embed_dim == 48
    with pytest.raises(DataError, match="out of range"):
        fs.layer(2)


def test_image_protocol_repeats_the_image_over_frames():
    images = torch.randn(2, 3, 32, 32)
    clip = image_to_clip(images, 8)
    assert clip.shape == (2, 3, 8, 32, 32) and torch.equal(clip[:, :, 5], images)
    encoder = _encoder()
    fs = extract_features(encoder, [{"clips": images, "label": torch.tensor([0, 1])}], image_frames=8,
                          progress=False)
    with torch.no_grad():
        torch.testing.assert_close(fs.views[0], encoder(clip))
    with pytest.raises(DataError, match="image_to_clip"):
        image_to_clip(torch.randn(3, 32, 32), 8)


def test_disk_cache_is_keyed_by_weights_data_and_protocol(tmp_path):
    encoder, calls = _encoder(), []

    def extract() -> FeatureSet:
        calls.append(1)
        return extract_features(encoder, _batches(num=1), progress=False)

    key = feature_cache_key(encoder, {"index": "train.csv"}, {"frames": 8})
    first = load_or_extract(tmp_path, key, extract)
    second = load_or_extract(tmp_path, key, extract)
    assert len(calls) == 1 and torch.equal(first.views[0], second.views[0])
    assert key == feature_cache_key(_encoder(), {"index": "train.csv"}, {"frames": 8})
    assert key != feature_cache_key(_encoder(seed=1), {"index": "train.csv"}, {"frames": 8})
    assert key != feature_cache_key(encoder, {"index": "val.csv"}, {"frames": 8})
    assert key != feature_cache_key(encoder, {"index": "train.csv"}, {"frames": 16})


def test_encoder_mode_is_restored_and_bad_inputs_are_user_errors(tmp_path):
    encoder = _encoder().train()
    extract_features(encoder, _batches(num=1), progress=False)
    assert encoder.training
    with pytest.raises(DataError, match="'clips' and 'label'"):
        extract_features(encoder, [{"video": torch.zeros(1)}], progress=False)
    with pytest.raises(DataError, match="no batches"):
        extract_features(encoder, [], progress=False)
    with pytest.raises(DataError, match="segments x"):
        extract_features(encoder, _batches(num=1, views=2) + _batches(num=1), progress=False)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a tensor file")
    with pytest.raises(DataError, match="re-extract"):
        FeatureSet.load(junk)
