"""The action-conditioned predictor beyond the parity set: extrinsics, frame causality, init, errors."""

from __future__ import annotations

import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.models.ac_predictor import ACPredictorConfig, ActionConditionedPredictor, block_causal_mask
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.world.objective import ac_objective

A, D, TPF = 5, 16, 6  # grid 2x3: a non-square frame


def predictor(use_extrinsics: bool = False) -> ActionConditionedPredictor:
    torch.manual_seed(0)
    return ActionConditionedPredictor(ACPredictorConfig(embed_dim=D, predictor_embed_dim=24, depth=2, num_heads=2,
                                                        action_dim=A, use_extrinsics=use_extrinsics, grid=(2, 3)))


def test_extrinsics_are_a_third_conditioning_token():
    model, T = predictor(use_extrinsics=True), 3
    z, a, s, e = torch.randn(2, T * TPF, D), torch.randn(2, T, A), torch.randn(2, T, A), torch.randn(2, T, A - 1)
    out = model(z, a, s, e)
    assert out.shape == (2, T * TPF, D) and model.cfg.cond_tokens == 3
    assert (model(z, a, s, e + 1.0) - out).abs().max() > 1e-4
    with pytest.raises(ValueError, match="extrinsics"):
        model(z, a, s)


def test_step_t_sees_only_steps_up_to_t():
    model, T = predictor(), 4
    z, a, s = torch.randn(1, T * TPF, D), torch.randn(1, T, A), torch.randn(1, T, A)
    out = model(z, a, s)
    z2, a2, s2 = z.clone(), a.clone(), s.clone()
    z2[:, 2 * TPF :] += 1.0
    a2[:, 2:] += 1.0
    s2[:, 2:] -= 1.0
    out2 = model(z2, a2, s2)
    torch.testing.assert_close(out[:, : 2 * TPF], out2[:, : 2 * TPF], atol=1e-6, rtol=0)
    assert (out[:, 2 * TPF :] - out2[:, 2 * TPF :]).abs().max() > 1e-4


def test_block_causal_mask_and_init():
    mask = block_causal_mask(3, 2)
    assert mask.tolist()[0] == [True, True, False, False, False, False]
    assert mask[5].all() and mask.sum() == 4 * 6
    model = predictor()
    # Official init: block i's output projections are scaled by 1/sqrt(2i), so block 2's are smaller.
    assert model.predictor_blocks[1].mlp.fc2.weight.std() < model.predictor_blocks[0].mlp.fc2.weight.std()


def test_shape_errors():
    model = predictor()
    with pytest.raises(ValueError, match="whole frames"):
        model(torch.randn(1, TPF + 1, D), torch.randn(1, 1, A), torch.randn(1, 1, A))
    with pytest.raises(ValueError, match="actions and states"):
        model(torch.randn(1, 2 * TPF, D), torch.randn(1, 1, A), torch.randn(1, 2, A))


def test_objective_rejects_auto_steps_out_of_range():
    encoder = VideoEncoder(EncoderConfig(embed_dim=D, depth=1, num_heads=2, patch_size=8, tubelet_size=2,
                                         num_frames=2, img_size=16, use_rope=True))
    model = ActionConditionedPredictor(ACPredictorConfig(embed_dim=D, predictor_embed_dim=24, depth=1, num_heads=2,
                                                         action_dim=A, grid=(2, 2)))
    with pytest.raises(ConfigError, match="^auto_steps = 3: "):
        ac_objective(encoder, model, torch.randn(1, 3, 3, 16, 16), torch.randn(1, 2, A), torch.randn(1, 3, A),
                     auto_steps=3)
