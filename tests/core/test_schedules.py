"""The lr / weight-decay / EMA schedules: bit-exact against the official schedulers, and their properties."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from vjepa.config import OptimConfig, load_config, schedule_steps, total_steps, warmup_steps
from vjepa.core.schedules import ema_momentum, learning_rate, weight_decay
from vjepa.pretrain.schedules import ScheduleValues, schedule_values

REFERENCE = Path(__file__).parents[1] / "fixtures" / "official_vjepa_tiny" / "schedules_vitl16.json"


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope="module")
def vitl16() -> OptimConfig:
    return load_config("vitl16").optim


def test_reference_config_is_the_vitl16_preset(reference, vitl16):
    official = reference["optimization"]
    assert (vitl16.steps_per_epoch, vitl16.schedule_horizon, vitl16.epochs) == (
        official["ipe"], official["ipe_scale"], official["epochs"])
    assert (vitl16.warmup_epochs, vitl16.start_lr, vitl16.lr, vitl16.final_lr) == (
        official["warmup"], official["start_lr"], official["lr"], official["final_lr"])
    assert vitl16.weight_decay == official["weight_decay"]
    assert vitl16.final_weight_decay == official["final_weight_decay"]
    assert list(vitl16.ema) == official["ema"] and list(vitl16.betas) == official["betas"]
    derived = reference["derived"]
    assert warmup_steps(vitl16) == derived["warmup_steps"] == 12000
    assert schedule_steps(vitl16) == derived["T_max_schedule"] == 112500
    assert total_steps(vitl16) == derived["steps_actually_trained"] == 90000


def test_every_reference_value_is_reproduced_exactly(reference, vitl16):
    assert len(reference["values"]) >= 10
    for entry in reference["values"]:
        k = entry["iteration"]
        got = schedule_values(k, vitl16)
        # Exact equality: the float operations are in the official order.
        assert got.lr == entry["lr"], (k, got.lr, entry["lr"])
        assert got.weight_decay == entry["weight_decay"], (k, got.weight_decay, entry["weight_decay"])
        assert got.momentum == entry["ema_momentum"], (k, got.momentum, entry["ema_momentum"])


def test_schedule_values_matches_the_single_functions(vitl16):
    k = 12345
    values = schedule_values(k, vitl16)
    assert isinstance(values, ScheduleValues)
    assert values.lr == learning_rate(k, start_lr=2e-4, lr=6.25e-4, final_lr=1e-6, warmup_steps=12000,
                                      schedule_steps=112500)
    assert values.weight_decay == weight_decay(k, weight_decay=0.04, final_weight_decay=0.4, schedule_steps=112500)
    assert values.momentum == ema_momentum(k, ema=(0.998, 1.0), epochs=300, steps_per_epoch=300,
                                           schedule_horizon=1.25)
    with pytest.raises(dataclasses.FrozenInstanceError):
        values.lr = 0.0  # type: ignore[misc]


def test_schedules_are_pure_functions_of_the_iteration(vitl16):
    ks = [1, 7, 11999, 12000, 50000, 90000, 3, 90000, 1]
    forward = [schedule_values(k, vitl16) for k in ks]
    backward = [schedule_values(k, vitl16) for k in reversed(ks)][::-1]
    assert forward == backward
    assert forward[0] == forward[-1] and forward[5] == forward[7]


def test_warmup_rises_linearly_to_the_peak(vitl16):
    w = warmup_steps(vitl16)
    lrs = [schedule_values(k, vitl16).lr for k in range(1, w + 1)]
    assert all(a < b for a, b in zip(lrs, lrs[1:]))
    assert lrs[0] > vitl16.start_lr and lrs[-1] == vitl16.lr  # k = W is the first cosine value, the peak
    assert math.isclose(lrs[w // 2 - 1], (vitl16.start_lr + vitl16.lr) / 2, rel_tol=1e-12)


def test_cosine_decays_to_final_lr_at_the_end_of_the_schedule(vitl16):
    w, t = warmup_steps(vitl16), schedule_steps(vitl16)
    lrs = [schedule_values(k, vitl16).lr for k in range(w, t + 1, 500)]
    assert all(a > b for a, b in zip(lrs, lrs[1:])) and min(lrs) >= vitl16.final_lr
    assert schedule_values(t, vitl16).lr == vitl16.final_lr
    # Past T the official cosine rises again (the floor does not hold it); validate() therefore requires
    # schedule_horizon >= 1, so that training never goes past T.
    assert schedule_values(t + 10_000, vitl16).lr > vitl16.final_lr
    # Training stops at 80 % of the schedule: the last lr used is about 7.5e-5, not final_lr.
    assert 7.4e-5 < schedule_values(total_steps(vitl16), vitl16).lr < 7.6e-5


def test_weight_decay_follows_a_cosine_and_is_clamped_at_the_final_value(vitl16):
    t = schedule_steps(vitl16)
    wds = [schedule_values(k, vitl16).weight_decay for k in range(1, t + 1, 1000)]
    assert all(a < b for a, b in zip(wds, wds[1:]))  # vitl16 rises 0.04 -> 0.4
    assert schedule_values(t, vitl16).weight_decay == 0.4
    assert all(0.04 <= wd <= 0.4 for wd in wds)
    # The clamp only keeps the value from passing the final one (rounding at k = T); a falling schedule likewise.
    falling = [weight_decay(k, weight_decay=0.4, final_weight_decay=0.04, schedule_steps=t)
               for k in range(1, t + 1, 1000)]
    assert all(a > b for a, b in zip(falling, falling[1:])) and min(falling) >= 0.04
    assert weight_decay(t, weight_decay=0.4, final_weight_decay=0.04, schedule_steps=t) == 0.04
    assert weight_decay(t // 2, weight_decay=0.4, final_weight_decay=0.04, schedule_steps=t) == pytest.approx(0.22)


def test_ema_momentum_starts_at_ema0_and_rises_linearly(vitl16):
    assert schedule_values(1, vitl16).momentum == 0.998
    ms = [schedule_values(k, vitl16).momentum for k in range(1, total_steps(vitl16) + 1, 997)]
    assert all(a < b for a, b in zip(ms, ms[1:]))
    assert all(m <= 1.0 for m in ms)
    step = (1.0 - 0.998) / (300 * 300 * 1.25)
    assert math.isclose(schedule_values(1001, vitl16).momentum - 0.998, 1000 * step, rel_tol=1e-9)
    # k - 1 = the full schedule length reaches ema[1].
    assert math.isclose(ema_momentum(112501, ema=(0.998, 1.0), epochs=300, steps_per_epoch=300,
                                     schedule_horizon=1.25), 1.0, rel_tol=1e-15)


def test_no_warmup_starts_with_the_peak_and_short_schedules_do_not_divide_by_zero():
    assert learning_rate(1, start_lr=0.0, lr=1.0, final_lr=0.0, warmup_steps=0, schedule_steps=1) == 0.0
    assert learning_rate(0, start_lr=0.0, lr=1.0, final_lr=0.0, warmup_steps=0, schedule_steps=1) == 1.0
    assert learning_rate(1, start_lr=0.0, lr=1.0, final_lr=0.1, warmup_steps=1, schedule_steps=1) == 1.0
    tiny = load_config("cpu_tiny").optim
    values = [schedule_values(k, tiny) for k in range(1, total_steps(tiny) + 1)]
    assert all(math.isfinite(v.lr) and math.isfinite(v.weight_decay) and 0 <= v.momentum <= 1 for v in values)


def test_constant_then_linear_schedule():
    from vjepa.core.schedules import constant_then_linear

    kw = dict(start_lr=0.0, lr=1.0, final_lr=0.1, warmup_steps=10, constant_steps=20, schedule_steps=130)
    assert constant_then_linear(5, **kw) == pytest.approx(0.5)  # warmup
    assert constant_then_linear(10, **kw) == constant_then_linear(29, **kw) == 1.0  # constant
    assert constant_then_linear(80, **kw) == pytest.approx(1.0 + 0.5 * (0.1 - 1.0))  # half-way down
    assert constant_then_linear(130, **kw) == constant_then_linear(200, **kw) == pytest.approx(0.1)
    cool = dict(kw, warmup_steps=0, constant_steps=0, schedule_steps=100)
    assert constant_then_linear(1, **cool) == pytest.approx(1.0 - 0.9 / 100)  # a cooldown decays from step 1


def test_cooldown_preset_schedules():
    from vjepa.config import load_config
    from vjepa.pretrain.schedules import schedule_values

    o = load_config("cooldown_vitl16").optim
    first, last = schedule_values(1, o), schedule_values(12_000, o)
    assert first.lr < o.lr and last.lr == pytest.approx(o.final_lr)
    assert first.momentum == last.momentum == 0.99925 and first.weight_decay == last.weight_decay == 0.04
    assert load_config("cooldown_vitl16").data.num_frames == 64
