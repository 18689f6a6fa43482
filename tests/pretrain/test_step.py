"""The training step on a tiny model: gradient accumulation, EMA, clipping rule, frozen target."""

from __future__ import annotations

import copy

import torch

from vjepa.config import load_config
from vjepa.masks import MaskGenerator, grid_for
from vjepa.pretrain.build import build_models
from vjepa.pretrain.optim import build_optimizer, param_groups
from vjepa.pretrain.step import Batch, TrainState, train_step


def setup(seed: int = 0):
    cfg = load_config("cpu_tiny", ["optim.micro_batch_size=null"])
    torch.manual_seed(seed)
    enc, pred, tgt = build_models(cfg)
    state = TrainState(enc, pred, tgt, build_optimizer(enc, pred, cfg.optim))
    d = cfg.data
    grid = grid_for(d.num_frames, d.crop_size, cfg.model.patch_size, cfg.model.tubelet_size)
    ctx, trg = MaskGenerator(cfg.masks.blocks, grid, seed=1, equalize="truncate")(4, step=0)
    video = torch.randn(4, 3, d.num_frames, d.crop_size, d.crop_size, generator=torch.Generator().manual_seed(2))
    return cfg, state, video, ctx, trg


def test_gradient_accumulation_equals_full_batch():
    cfg, full, video, ctx, tgt = setup()
    _, accum, _, _, _ = setup()
    m_full = train_step(full, [Batch(video, ctx, tgt)], cfg.optim, cfg.loss)
    halves = [Batch(video[s], [c[s] for c in ctx], [t[s] for t in tgt]) for s in (slice(0, 2), slice(2, 4))]
    m_accum = train_step(accum, halves, cfg.optim, cfg.loss)
    assert abs(m_full.loss - m_accum.loss) < 1e-6
    for a, b in zip(full.encoder.parameters(), accum.encoder.parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_ema_moves_target_towards_encoder_and_target_gets_no_gradient():
    cfg, state, video, ctx, tgt = setup()
    before = copy.deepcopy(state.target_encoder.state_dict())
    metrics = train_step(state, [Batch(video, ctx, tgt)], cfg.optim, cfg.loss)
    assert state.step == 1 and metrics.momentum == cfg.optim.ema[0]
    assert all(p.grad is None for p in state.target_encoder.parameters())
    name = "blocks.0.attn.qkv.weight"
    online = dict(state.encoder.named_parameters())[name].detach()
    expected = metrics.momentum * before[name] + (1 - metrics.momentum) * online
    torch.testing.assert_close(state.target_encoder.state_dict()[name], expected, atol=1e-7, rtol=0)


def test_clipping_starts_after_warmup_epochs():
    cfg, state, video, ctx, tgt = setup()
    batch = [Batch(video, ctx, tgt)]
    warmup_steps = int(cfg.optim.warmup_epochs * cfg.optim.steps_per_epoch)
    flags = [train_step(state, batch, cfg.optim, cfg.loss).clipped for _ in range(warmup_steps + cfg.optim.steps_per_epoch + 1)]
    # official: clip when the 0-based epoch of the step exceeds warmup_epochs
    first = flags.index(True)
    assert first == (int(cfg.optim.warmup_epochs) + 1) * cfg.optim.steps_per_epoch
    assert not any(flags[:first])


def test_official_parameter_groups():
    _, state, _, _, _ = setup()
    groups = param_groups(state.encoder, state.predictor)
    assert [g.get("WD_exclude", False) for g in groups] == [False, False, True, True]
    decayed_pred = {id(p) for p in groups[1]["params"]}
    assert all(id(t) in decayed_pred for t in state.predictor.mask_tokens)  # official quirk kept
    assert all(p.ndim == 1 for g in groups[2:] for p in g["params"])


def test_activation_checkpointing_gives_the_same_gradients():
    from vjepa.config import load_config
    from vjepa.masks import MaskGenerator, grid_for
    from vjepa.pretrain.build import build_models
    from vjepa.pretrain.loss import gather_targets, jepa_loss, target_features
    from vjepa.pretrain.step import ContextPredictor

    grads = []
    for on in (False, True):
        cfg = load_config("cpu_tiny", [f"run.activation_checkpointing={str(on).lower()}"])
        torch.manual_seed(0)
        encoder, predictor, target = build_models(cfg)
        assert encoder.grad_checkpointing is predictor.grad_checkpointing is on
        video = torch.randn(2, 3, 8, 32, 32, generator=torch.Generator().manual_seed(1))
        ctx, tgt = MaskGenerator(cfg.masks.blocks, grid_for(8, 32, 16, 2), seed=0)(2, step=0)
        preds = ContextPredictor(encoder, predictor)(video, ctx, tgt)
        jepa_loss(preds, gather_targets(target_features(target, video), tgt)).backward()
        grads.append({n: p.grad.clone() for n, p in [*encoder.named_parameters(), *predictor.named_parameters()]})
    assert grads[0].keys() == grads[1].keys()
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=0, atol=1e-7, msg=name)
