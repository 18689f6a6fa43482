import pytest

from vjepa.core import formats
from vjepa.core.errors import CheckpointError


def test_tags_share_one_style_and_are_distinct():
    tags = [v for k, v in vars(formats).items() if k.isupper() and isinstance(v, str)]
    assert len(tags) == len(set(tags)) >= 10
    assert all(t.startswith("vjepa-") and t.rsplit("/", 1)[1].isdigit() for t in tags)


def test_legacy_tags_read_as_their_current_tag_and_others_fail_in_one_line():
    formats.check_format("vjepa-features-v1", formats.FEATURES, "f.safetensors")
    formats.check_format(formats.LOWSHOT_SPLITS, formats.LOWSHOT_SPLITS, "splits.json")
    with pytest.raises(CheckpointError, match=r"^x.pt: format is 'vjepa-export/1', expected 'vjepa-train-checkpoint/1'$"):
        formats.check_format(formats.EXPORT, formats.TRAIN_CHECKPOINT, "x.pt")
    with pytest.raises(CheckpointError, match="no format tag"):
        formats.check_format(None, formats.EXPORT, "y")
