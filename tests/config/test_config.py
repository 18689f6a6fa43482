"""Config loading, strict checking, cross-field validation, presets and the save/load round trip."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

import vjepa
from vjepa.config import (
    MaskSpec,
    PretrainConfig,
    grad_accum_steps,
    list_presets,
    load_config,
    save_resolved,
    schedule_steps,
    to_dict,
    total_steps,
    validate,
    warmup_steps,
)
from vjepa.core.errors import ConfigError
from vjepa.models.registry import ARCHS

PRESET_DIR = Path(vjepa.__file__).parent / "configs"
PRESETS = sorted(p for p in PRESET_DIR.glob("*.yaml") if not p.stem.startswith(("experiment_", "world_")))  # pretraining
KNOWN_ARCHS = [*ARCHS, "custom"]


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(fn, *args, **kwargs) -> str:
    """The message of the ConfigError raised by fn(*args); it must be a single line."""
    with pytest.raises(ConfigError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def leaf_keys(obj, prefix: str = ""):
    """(dotted key, value) of every non-section field."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from leaf_keys(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", value


# --------------------------------------------------------------------------------------------------- presets
def test_preset_folder_is_not_empty_and_listed():
    assert {"vitl16", "vith16", "vith16_384", "cpu_tiny", "cpu_demo"} <= {p.stem for p in PRESETS}
    assert list_presets() == [p.stem for p in PRESETS]


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_loads_and_validates(path):
    cfg = load_config(path)
    validate(cfg, known_archs=KNOWN_ARCHS)
    assert load_config(path.stem) == cfg  # the bare preset name resolves to the packaged file
    assert load_config(path.name) == cfg
    assert path.read_text().startswith("#")  # a comment header says where the values come from


def test_vitl16_preset_is_the_official_recipe():
    cfg = load_config("vitl16")
    assert cfg == PretrainConfig()  # the schema defaults are the official vitl16 values
    m, d, o = cfg.model, cfg.data, cfg.optim
    assert (m.arch, m.patch_size, m.tubelet_size, m.pred_depth, m.pred_embed_dim) == ("vit_large", 16, 2, 12, 384)
    assert m.uniform_power is True and m.zero_init_mask_tokens is True
    assert (d.crop_size, d.num_frames, d.frame_step) == (224, 16, 4)
    assert d.random_resize_scale == (0.3, 1.0) and d.random_resize_aspect_ratio == (0.75, 1.35)
    assert o.batch_size == 24 * 128 == 3072
    assert (o.start_lr, o.lr, o.final_lr) == (2e-4, 6.25e-4, 1e-6)
    assert (o.weight_decay, o.final_weight_decay) == (0.04, 0.4)
    assert o.ema == (0.998, 1.0) and o.clip_grad == 10.0 and o.clip_grad_during_warmup is False
    assert (o.epochs, o.steps_per_epoch, o.warmup_epochs, o.schedule_horizon) == (300, 300, 40, 1.25)
    assert warmup_steps(o) == 12000 and total_steps(o) == 90000 and schedule_steps(o) == 112500
    assert grad_accum_steps(o, world_size=128) == 1
    assert (cfg.loss.loss_exp, cfg.loss.reg_coeff) == (1.0, 0.0)
    short, long = cfg.masks.blocks
    assert short == MaskSpec(spatial_scale=(0.15, 0.15), temporal_scale=(1.0, 1.0), aspect_ratio=(0.75, 1.5),
                             num_blocks=8, max_temporal_keep=1.0, max_keep=None)
    assert long == MaskSpec(spatial_scale=(0.7, 0.7), temporal_scale=(1.0, 1.0), aspect_ratio=(0.75, 1.5),
                            num_blocks=2, max_temporal_keep=1.0, max_keep=None)
    validate(cfg, world_size=128, known_archs=KNOWN_ARCHS)


def _diff(a: dict, b: dict, prefix: str = "") -> dict:
    out = {}
    for key in a:
        if isinstance(a[key], dict):
            out.update(_diff(a[key], b[key], f"{prefix}{key}."))
        elif a[key] != b[key]:
            out[f"{prefix}{key}"] = b[key]
    return out


def test_vith16_presets_differ_from_vitl16_only_where_the_official_files_do():
    base = to_dict(load_config("vitl16"))
    assert _diff(base, to_dict(load_config("vith16"))) == {"model.arch": "vit_huge"}
    assert _diff(base, to_dict(load_config("vith16_384"))) == {
        "model.arch": "vit_huge", "data.crop_size": 384, "optim.batch_size": 10 * 240}
    validate(load_config("vith16_384"), world_size=240, known_archs=KNOWN_ARCHS)


def test_cpu_presets_are_small():
    tiny, demo = load_config("cpu_tiny"), load_config("cpu_demo")
    assert tiny.model.arch == "custom" and 48 <= tiny.model.embed_dim <= 64 and tiny.model.depth == 2
    assert tiny.model.pred_embed_dim == 32 and tiny.data.crop_size == 32 and tiny.data.num_frames == 8
    assert (tiny.run.device, tiny.run.dtype, tiny.data.dataset) == ("cpu", "float32", "synthetic")
    assert total_steps(tiny.optim) >= 12  # the kill-and-resume test runs 12 steps
    assert 600 <= total_steps(demo.optim) <= 1000 and demo.optim.schedule_horizon == 1.0
    assert 0.05 <= warmup_steps(demo.optim) / total_steps(demo.optim) <= 0.15
    assert demo.optim.ema == (0.998, 1.0) and demo.data.frame_step == 1 and demo.data.crop_size == 64


# --------------------------------------------------------------------------------------------------- unknown keys
def test_unknown_key_in_a_file_names_file_and_key_and_suggests_the_fix(tmp_path):
    path = write(tmp_path, "optim:\n  lerning_rate: 0.001\n")
    message = error_of(load_config, path)
    assert str(path) in message and "'optim.lerning_rate'" in message
    assert "did you mean 'optim.lr'?" in message


@pytest.mark.parametrize("key, suggestion", [
    ("optim.batchsize", "optim.batch_size"),
    ("optim.wamup_epochs", "optim.warmup_epochs"),
    ("optim.lr_final", "optim.final_lr"),
    ("optimm", "optim"),
    ("data.crop", "data.crop_size"),
    ("model.heads", "model.num_heads"),
    ("model.model_name", "model.arch"),  # official key name
    ("optim.ipe_scale", "optim.schedule_horizon"),  # official key name
    ("data.sampling_rate", "data.frame_step"),  # official key name
    ("data.batch_size", "optim.batch_size"),  # the key lives in another section
    ("masks.blocks[0].num_block", "masks.blocks[0].num_blocks"),
])
def test_unknown_keys_get_a_suggestion(key, suggestion):
    message = error_of(load_config, None, [f"{key}=1"])
    assert f"unknown key '{key}'" in message and f"did you mean '{suggestion}'?" in message


def test_unknown_key_without_close_match_lists_the_valid_keys():
    message = error_of(load_config, None, ["loss.zzz=1"])
    assert "unknown key 'loss.zzz'" in message and "loss_exp" in message and "reg_coeff" in message


# --------------------------------------------------------------------------------------------------- types
@pytest.mark.parametrize("override, expected", [
    ("optim.batch_size=true", "optim.batch_size must be an int, got True"),  # bool is not int
    ("optim.batch_size=2.5", "optim.batch_size must be an int, got 2.5"),
    ("optim.lr=abc", "optim.lr must be a number, got 'abc'"),
    ("optim.lr=null", "optim.lr must be a number, got None"),  # None only for X | None fields
    ("optim.lr=false", "optim.lr must be a number, got False"),
    ("optim.ema=[0.9]", "optim.ema must be a list of 2 numbers, got [0.9]"),
    ("optim.ema=[0.9, x]", "optim.ema must be a list of 2 numbers"),
    ("optim.ema=0.9", "optim.ema must be a list of 2 numbers, got 0.9"),
    ("optim.micro_batch_size=x", "optim.micro_batch_size must be an int or null, got 'x'"),
    ("model.uniform_power=1", "model.uniform_power must be a bool (true/false), got 1"),
    ("run.device=3", "run.device must be a string, got 3"),
    ("data.paths=a.csv", "data.paths must be a list of strings, got 'a.csv'"),
    ("data.weights=[1, x]", "data.weights[1] must be a number, got 'x'"),
    ("model=3", "model must be a mapping, got 3"),
])
def test_wrong_types_name_key_expected_type_and_value(override, expected):
    assert expected in error_of(load_config, None, [override])


def test_accepted_conversions():
    cfg = load_config(None, ["optim.lr=1", "optim.ema=[1, 1]", "optim.clip_grad=null", "data.weights=null",
                             "optim.micro_batch_size=null", "model.embed_dim=null", "optim.lr=1e-3"])
    assert cfg.optim.lr == 1e-3 and isinstance(cfg.optim.ema[0], float) and cfg.optim.ema == (1.0, 1.0)
    assert cfg.optim.clip_grad is None and cfg.data.weights is None
    assert type(load_config(None, ["optim.lr=1"]).optim.lr) is float  # int accepted for float, stored as float


def test_every_field_is_checked_from_its_annotation():
    """Each leaf key accepts its own default (so the generic checker covers every field, new ones included)."""
    defaults = PretrainConfig()
    for key, value in leaf_keys(defaults):
        assert load_config(None, [f"{key}={json.dumps(to_dict(value))}"]) == defaults, key
        if value is not None and not isinstance(value, str):
            assert "must be" in error_of(load_config, None, [f"{key}='some text'"]), key


def test_scientific_notation_without_a_dot_is_a_float(tmp_path):
    cfg = load_config(write(tmp_path, "optim:\n  lr: 1e-3\n  final_lr: 2E-6\n  start_lr: 1.0e-4\n"))
    assert (cfg.optim.lr, cfg.optim.final_lr, cfg.optim.start_lr) == (1e-3, 2e-6, 1e-4)


# --------------------------------------------------------------------------------------------------- files
def test_invalid_yaml_is_a_one_line_error_naming_the_file(tmp_path):
    path = write(tmp_path, "optim:\n  lr: [1,\n  epochs: 3\n")
    message = error_of(load_config, path)
    assert str(path) in message and "invalid YAML" in message and "line" in message


def test_top_level_must_be_a_mapping(tmp_path):
    path = write(tmp_path, "- 1\n- 2\n")
    assert str(path) in error_of(load_config, path)


def test_empty_file_and_empty_section_mean_defaults(tmp_path):
    assert load_config(write(tmp_path, "")) == PretrainConfig()
    assert load_config(write(tmp_path, "optim:\nmodel:\n", "b.yaml")) == PretrainConfig()


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.yaml"
    message = error_of(load_config, missing)
    assert str(missing) in message and "no such" in message
    assert "vitl16" in error_of(load_config, "vitl17")  # an unknown preset name lists the presets
    assert str(tmp_path) in error_of(load_config, tmp_path)  # a folder


def test_file_values_are_a_diff_over_the_defaults(tmp_path):
    cfg = load_config(write(tmp_path, "optim:\n  lr: 0.01\nmodel:\n  pred_depth: 3\n"))
    expected = PretrainConfig()
    expected.optim.lr, expected.model.pred_depth = 0.01, 3
    assert cfg == expected


# --------------------------------------------------------------------------------------------------- overrides
def test_overrides_apply_after_the_file_in_order():
    cfg = load_config("cpu_tiny", ["optim.lr=1e-3", "masks.equalize=truncate", "optim.ema=[0.99,1.0]",
                                   "optim.clip_grad=null", "optim.lr = 2e-3", "masks.blocks[1].num_blocks=4",
                                   "data.paths=[a.csv, b.csv]"])
    assert cfg.optim.lr == 2e-3 and cfg.masks.equalize == "truncate" and cfg.optim.ema == (0.99, 1.0)
    assert cfg.optim.clip_grad is None and cfg.masks.blocks[1].num_blocks == 4 and cfg.data.paths == ["a.csv", "b.csv"]
    assert cfg.model.arch == "custom"  # the rest of the preset is kept
    assert load_config("cpu_tiny", "optim.lr=0.5").optim.lr == 0.5  # a single string is one override


def test_override_can_replace_a_whole_section_value_or_list():
    cfg = load_config(None, ["optim={lr: 0.5, epochs: 2}", "masks.blocks=[{num_blocks: 3}]"])
    assert cfg.optim.lr == 0.5 and cfg.optim.epochs == 2 and cfg.optim.steps_per_epoch == 300  # merged
    assert cfg.masks.blocks == [MaskSpec(num_blocks=3)]  # a list is replaced; missing mask keys take defaults


@pytest.mark.parametrize("override, expected", [
    ("optim.lr", "expected KEY=VALUE"),
    ("=3", "expected KEY=VALUE"),
    ("optim..lr=3", "expected KEY=VALUE"),
    ("optim.lr=[1", "invalid YAML"),
    ("optim.lr.x=1", "optim.lr is a value, not a section"),
    ("masks.blocks[5].num_blocks=1", "masks.blocks has no item [5] (it has 2 items)"),
])
def test_bad_overrides(override, expected):
    message = error_of(load_config, None, [override])
    assert f"--set {override}" in message and expected in message


# --------------------------------------------------------------------------------------------------- mask lists
def test_mask_list_entries_are_strictly_checked(tmp_path):
    bad_key = "masks:\n  blocks:\n    - {num_blocks: 2}\n    - {num_blockz: 3}\n"
    message = error_of(load_config, write(tmp_path, bad_key))
    assert "'masks.blocks[1].num_blockz'" in message and "did you mean 'masks.blocks[1].num_blocks'?" in message
    bad_type = "masks:\n  blocks:\n    - {num_blocks: 2}\n    - {num_blocks: two}\n"
    assert "masks.blocks[1].num_blocks must be an int, got 'two'" in error_of(load_config, write(tmp_path, bad_type))
    bad_pair = "masks:\n  blocks:\n    - {spatial_scale: [0.1, 0.2, 0.3]}\n"
    assert "masks.blocks[0].spatial_scale must be a list of 2 numbers" in error_of(
        load_config, write(tmp_path, bad_pair))
    assert "masks.blocks[0] must be a mapping, got 3" in error_of(load_config, None, ["masks.blocks=[3]"])
    assert "masks.blocks must be a list of mappings" in error_of(load_config, None, ["masks.blocks={a: 1}"])


def test_partial_mask_entries_take_the_maskspec_defaults(tmp_path):
    cfg = load_config(write(tmp_path, "masks:\n  blocks:\n    - {spatial_scale: [0.3, 0.4], max_keep: 10}\n"))
    assert cfg.masks.blocks == [MaskSpec(spatial_scale=(0.3, 0.4), max_keep=10)]


# --------------------------------------------------------------------------------------------------- cross-field rules
@pytest.mark.parametrize("overrides, world_size, expected", [
    (["data.crop_size=40"], 1, "data.crop_size 40 is not divisible by model.patch_size 16"),
    (["data.num_frames=7"], 1, "data.num_frames 7 is not divisible by model.tubelet_size 2"),
    (["optim.batch_size=6", "optim.micro_batch_size=null"], 4, "optim.batch_size 6 is not divisible by the world"),
    (["optim.micro_batch_size=3"], 1, "optim.micro_batch_size 3 does not divide the per-process batch 4"),
    (["optim.micro_batch_size=4"], 2, "optim.micro_batch_size 4 does not divide the per-process batch 2"),
    (["optim.micro_batch_size=0"], 1, "optim.micro_batch_size = 0: must be >= 1"),
    (["optim.lr=0"], 1, "optim.lr = 0.0: must be > 0"),
    (["optim.lr=-1e-3"], 1, "optim.lr"),
    (["optim.lr=.inf"], 1, "optim.lr"),
    (["optim.start_lr=-1e-3"], 1, "optim.start_lr"),
    (["optim.steps_per_epoch=0"], 1, "optim.steps_per_epoch = 0: must be >= 1"),
    (["optim.epochs=0"], 1, "optim.epochs = 0: must be >= 1"),
    (["optim.batch_size=0"], 1, "optim.batch_size = 0: must be >= 1"),
    (["optim.warmup_epochs=5"], 1, "optim.warmup_epochs = 5.0: must be in [0, optim.epochs = 4]"),
    (["optim.warmup_epochs=-1"], 1, "optim.warmup_epochs"),
    (["optim.schedule_horizon=0.9"], 1, "optim.schedule_horizon = 0.9: must be >= 1"),
    (["optim.ema=[0.999, 0.99]"], 1, "optim.ema = [0.999, 0.99]: need [start, end] with 0 <= start <= end <= 1"),
    (["optim.ema=[0.9, 1.1]"], 1, "optim.ema"),
    (["optim.ema=[-0.1, 1.0]"], 1, "optim.ema"),
    (["optim.clip_grad=0"], 1, "optim.clip_grad"),
    (["loss.loss_exp=0"], 1, "loss.loss_exp = 0.0: must be > 0"),
    (["masks.equalize=trunc"], 1, "masks.equalize = 'trunc': use one of none, random_subset, truncate; did you mean"),
    (["masks.blocks=[]"], 1, "masks.blocks is empty"),
    (["masks.blocks[0].spatial_scale=[0.5, 0.2]"], 1, "masks.blocks[0].spatial_scale = [0.5, 0.2]: need [min, max]"),
    (["masks.blocks[0].spatial_scale=[0, 0.5]"], 1, "masks.blocks[0].spatial_scale"),
    (["masks.blocks[1].spatial_scale=[0.5, 1.5]"], 1, "masks.blocks[1].spatial_scale"),
    (["masks.blocks[0].temporal_scale=[0.5, 1.2]"], 1, "masks.blocks[0].temporal_scale"),
    (["masks.blocks[0].aspect_ratio=[2, 1]"], 1, "masks.blocks[0].aspect_ratio"),
    (["masks.blocks[0].num_blocks=0"], 1, "masks.blocks[0].num_blocks = 0: must be >= 1"),
    (["masks.blocks[0].max_temporal_keep=0"], 1, "masks.blocks[0].max_temporal_keep"),
    (["masks.blocks[0].max_keep=0"], 1, "masks.blocks[0].max_keep"),
    (["masks.equalize=none"], 1, "masks.equalize 'none' needs optim.micro_batch_size 1"),
    (["model.attention=flash"], 1, "model.attention = 'flash': use one of auto, manual, sdpa"),
    (["run.dtype=float16"], 1, "run.dtype = 'float16': use one of auto, bfloat16, float32"),
    (["run.device=gpu"], 1, "run.device = 'gpu': use one of auto, cpu, cuda"),
    (["data.dataset=webvid"], 1, "data.dataset = 'webvid': use one of physics, synthetic, videos"),
    (["data.dataset=videos"], 1, "data.dataset 'videos' needs data.paths"),
    (["objective=pixle"], 1, "objective = 'pixle': use one of pixel, vjepa; did you mean 'pixel'?"),
    (["objective=pixel"], 1, "pixel.mask_ratio = 0.9 masks 4 of the 4 spatial positions per frame"),
    (["objective=pixel", "pixel.mask_ratio=0.1"], 1, "pixel.mask_ratio = 0.1 masks 0 of the 4 spatial positions"),
    (["pixel.mask_ratio=1.0"], 1, "pixel.mask_ratio = 1.0: must be in (0, 1)"),
    (["pixel.decoder_depth=0"], 1, "pixel.decoder_depth = 0: must be >= 1"),
    (["objective=pixel", "pixel.mask_ratio=0.75", "pixel.decoder_num_heads=5"], 1,
     "pixel decoder width 24 (pixel.decoder_embed_dim, null = half model.embed_dim) is not divisible by its heads 5"),
    (["data.dataset=videos", "data.paths=[a.csv, b.csv]", "data.weights=[1.0]"], 1,
     "data.weights has 1 entries but data.paths has 2"),
    (["model.embed_dim=null"], 1, "model.arch 'custom' needs model.embed_dim"),
    (["model.depth=null", "model.num_heads=null"], 1, "model.arch 'custom' needs model.depth, model.num_heads"),
    (["model.num_heads=5"], 1, "model.embed_dim 48 is not divisible by model.num_heads 5"),
    (["model.pred_num_heads=3"], 1, "model.pred_embed_dim 32 is not divisible by the predictor heads 3"),
    (["data.random_resize_scale=[0.5, 0.3]"], 1, "data.random_resize_scale"),
    (["run.log_every=0"], 1, "run.log_every = 0: must be >= 1"),
    (["run.max_steps=0"], 1, "run.max_steps = 0: must be >= 1"),
])
def test_each_cross_field_rule(overrides, world_size, expected):
    cfg = load_config("cpu_tiny", overrides)
    assert expected in error_of(validate, cfg, world_size=world_size)


def test_valid_combinations_pass():
    validate(load_config("cpu_tiny"), world_size=2)  # 4 clips / 2 processes = micro-batch 2, no accumulation
    validate(load_config("cpu_tiny", ["optim.micro_batch_size=1"]), world_size=4)
    validate(load_config("cpu_tiny", ["masks.equalize=none", "optim.micro_batch_size=1"]))
    validate(load_config("cpu_tiny", ["data.dataset=videos", "data.paths=[a.csv, b.csv]", "data.weights=[1, 3]"]))
    validate(load_config("cpu_tiny", ["optim.warmup_epochs=0", "optim.schedule_horizon=1", "optim.ema=[1, 1]"]))
    assert grad_accum_steps(load_config("cpu_tiny").optim) == 2


def test_known_archs_hook():
    cfg = load_config("vitl16", ["model.arch=vit_lage"])
    validate(cfg)  # without the registry's names the arch is not checked here
    message = error_of(validate, cfg, known_archs=KNOWN_ARCHS)
    assert "model.arch = 'vit_lage'" in message and "did you mean 'vit_large'?" in message


# --------------------------------------------------------------------------------------------------- save / load
@pytest.mark.parametrize("name", [p.stem for p in PRESETS])
def test_save_and_load_round_trip(tmp_path, name):
    cfg = load_config(name, ["optim.lr=1.2345678901234567e-4", "optim.clip_grad=null"])
    path = save_resolved(cfg, tmp_path / "run" / "config.yaml")
    assert path == tmp_path / "run" / "config.yaml"
    assert load_config(path) == cfg
    assert [p.name for p in path.parent.iterdir()] == ["config.yaml"]  # no temporary file left behind
    data = yaml.safe_load(path.read_text())
    assert data == to_dict(cfg) and data["optim"]["ema"] == list(cfg.optim.ema)


def test_to_dict_is_plain_data():
    data = to_dict(load_config("vitl16"))
    assert set(data) == {"objective", "model", "data", "masks", "optim", "loss", "pixel", "run"}
    assert data["optim"]["ema"] == [0.998, 1.0] and isinstance(data["masks"]["blocks"][0], dict)
    assert json.loads(json.dumps(data)) == data  # no tuples, dataclasses or other objects


def test_save_resolved_replaces_an_existing_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("stale")
    save_resolved(load_config("cpu_tiny"), path)
    assert load_config(path) == load_config("cpu_tiny")


def test_saved_config_is_world_readable(tmp_path):
    path = save_resolved(load_config("cpu_tiny"), tmp_path / "run" / "config.yaml")
    assert path.stat().st_mode & 0o777 == 0o644  # written through vjepa.core.io (mkstemp alone gives 0600)
