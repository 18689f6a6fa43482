"""Number-for-number parity with the official V-JEPA code, on reference vectors it produced.

Data-driven: models are built from the fixture's config.json, so ``VJEPA_OFFICIAL_FIXTURE=/other/set pytest -k
parity`` checks another set (other sizes, uniform_power, more mask configs or views) with the same code.
Tolerance: max abs error ≤ 1e-6 (rtol 0); the fixture README shows how looser tolerances hide real bugs.
"""

from __future__ import annotations

import pytest
import torch
from support.official_fixture import official_fixture

from vjepa.eval.protocol import aggregate_views, multiview_loss, topk_accuracy, view_logits
from vjepa.pretrain.loss import gather_targets, jepa_loss, target_features, variance_regularizer
from vjepa.weights.official import load_official_pretrain, load_official_probe

ATOL = 1e-6


def close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual.to(expected.dtype), expected, atol=ATOL, rtol=0)


@pytest.fixture(scope="module")
def ref():
    return official_fixture()


@pytest.fixture(scope="module")
def models(ref):
    torch.manual_seed(0)
    return load_official_pretrain(ref.checkpoint, **ref.encoder_kwargs())


@pytest.fixture(scope="module")
def outputs(ref, models):
    """Every intermediate of one training forward, computed by our code."""
    v, loss_cfg = ref.vectors, ref.config["loss"]
    clip = v["input/clip"]
    with torch.no_grad():
        full = models.encoder(clip)
        target_full = models.target_encoder(clip)
        target_ln = target_features(models.target_encoder, clip)
        targets = gather_targets(target_ln, ref.masks("pred"))
        contexts = models.encoder.forward_masked(clip, ref.masks("enc"))
        preds = models.predictor.forward_masked(contexts, ref.masks("enc"), ref.masks("pred"))
        loss = jepa_loss(preds, targets, loss_cfg["loss_exp"])
        reg, pstd = variance_regularizer(preds)
    return dict(full=full, target_full=target_full, target_ln=target_ln, targets=targets, contexts=contexts,
                preds=preds, loss=loss, reg=reg, pstd=pstd, total=loss + loss_cfg["reg_coeff"] * reg,
                loss_exp2=jepa_loss(preds, targets, 2.0))


def test_parity_config_matches_our_defaults(ref, models):
    enc, pred = ref.config["encoder"], ref.config["predictor"]
    assert models.encoder.cfg.norm_eps == enc["norm_eps"] and models.predictor.cfg.norm_eps == pred["norm_eps"]
    assert models.encoder.cfg.uniform_power == enc["uniform_power"]
    assert models.predictor.cfg.predictor_embed_dim == pred["predictor_embed_dim"]
    assert models.predictor.cfg.depth == pred["depth"]
    assert len(models.predictor.mask_tokens) == pred["num_mask_tokens"]


def test_parity_sincos_tables_equal_the_official_ones(ref, models):
    """Our tables, computed from scratch, against the ones the official code stored in the checkpoint."""
    from vjepa.models.pos_embed import sincos_3d

    enc, pred = models.encoder.cfg, models.predictor.cfg
    close(sincos_3d(enc.embed_dim, enc.grid, enc.uniform_power), models.encoder.pos_embed[0])
    close(sincos_3d(pred.predictor_embed_dim, pred.grid, pred.uniform_power), models.predictor.predictor_pos_embed[0])


def test_parity_encoder_full(ref, outputs):
    close(outputs["full"], ref.vectors["encoder/full"])
    close(outputs["target_full"], ref.vectors["target_encoder/full"])


def test_parity_target_layernorm(ref, outputs):
    close(outputs["target_ln"], ref.vectors["target_encoder/full_layernorm"])
    for i, target in enumerate(outputs["targets"]):
        close(target, ref.vectors[f"target/{i}"])


def test_parity_encoder_context_per_mask(ref, outputs):
    assert len(outputs["contexts"]) == ref.num_mask_configs
    for i, ctx in enumerate(outputs["contexts"]):
        close(ctx, ref.vectors[f"encoder/context/{i}"])


def test_parity_single_mask_forward_equals_multi_mask(ref, models, outputs):
    with torch.no_grad():
        for i, idx in enumerate(ref.masks("enc")):
            close(models.encoder(ref.vectors["input/clip"], idx), ref.vectors[f"encoder/context/{i}"])


def test_parity_predictor(ref, outputs):
    for i, pred in enumerate(outputs["preds"]):
        close(pred, ref.vectors[f"predictor/out/{i}"])


def test_parity_losses(ref, outputs):
    v = ref.vectors
    close(outputs["loss"], v["loss/jepa"])
    close(outputs["loss_exp2"], v["loss/jepa_exp2"])
    close(outputs["reg"], v["loss/reg"])
    close(outputs["pstd"], v["loss/pstd"])
    close(outputs["total"], v["loss/total"])


@pytest.fixture(scope="module")
def probe(ref):
    return load_official_probe(ref.probe_checkpoint, num_heads=ref.config["probe"]["num_heads"], attention="sdpa")


def test_parity_probe_config(ref, probe):
    expected = ref.config["probe"]
    assert probe.cfg.norm_eps == expected["norm_eps"]
    assert not expected["cross_attention_applies_proj"], "this set applies the probe projection: unsupported"
    assert (probe.cfg.depth, probe.cfg.num_classes, probe.cfg.num_queries) == (
        expected["depth"], expected["num_classes"], expected["num_queries"])


def test_parity_probe_logits(ref, models, probe):
    with torch.no_grad():
        close(probe(models.target_encoder(ref.vectors["input/clip"])), ref.vectors["classifier/logits"])


def test_parity_multiview_protocol(ref, models, probe):
    ev, v = ref.config["eval"], ref.vectors
    assert ev["attend_across_segments"] and not ev["use_pos_embed"], "only the official default protocol is supported"
    clip = v["input/clip"]
    # Segment s is the clip rolled by segment_time_roll[s] along time; view v is flipped along width if asked.
    clips = [
        [torch.roll(clip, shifts=shift, dims=2).flip(-1) if flip else torch.roll(clip, shifts=shift, dims=2)
         for flip in ev["view_flip_width"]]
        for shift in ev["segment_time_roll"]
    ]
    assert len(clips) == ev["num_segments"] and len(clips[0]) == ev["num_views"]
    encoder = models.target_encoder if ev["encoder_checkpoint_key"] == "target_encoder" else models.encoder
    encoder.eval()
    with torch.no_grad():
        logits = view_logits(encoder, probe, clips)
    for i, x in enumerate(logits):
        close(x, v[f"eval/view_logits/{i}"])
    probs = aggregate_views(logits)
    close(probs, v["eval/probs"])
    labels = v["eval/labels"]
    assert labels.tolist() == ev["labels"]
    close(multiview_loss(logits, labels), v["eval/loss"])
    close(topk_accuracy(probs, labels, 1), v["eval/top1"])
