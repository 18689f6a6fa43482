"""``vjepa visualize``: mask previews and PCA maps of a real clip, as PNG grids and GIFs of the documented size."""

from __future__ import annotations

import torch
from PIL import Image

from vjepa.cli.main import main
from vjepa.masks.spec import VITL16_MASKS
from vjepa.tools.visualize import GAP, mask_overlays, pca_maps


def grid_size(rows: int, cols: int, size: int) -> tuple[int, int]:
    return cols * size + (cols - 1) * GAP, rows * size + (rows - 1) * GAP


def test_mask_preview_png_and_gif(real_clips, tmp_path, capsys):
    video = real_clips["carphone_pristine"]
    png, gif = tmp_path / "masks.png", tmp_path / "masks.gif"
    assert main(["visualize", "masks", video, "--out", str(png), "--size", "64"]) == 0
    w, h = grid_size(3, 8, 64)
    assert f"({w}x{h})" in capsys.readouterr().out
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == grid_size(3, 8, 64)  # clip + 2 configs, 8 tubelets
    assert main(["visualize", "masks", video, "--out", str(gif), "--size", "64", "--frames", "8"]) == 0
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.size == grid_size(1, 3, 64) and image.n_frames == 8


def test_mask_overlay_tints_exactly_the_target():
    clip = torch.full((4, 32, 32, 3), 100, dtype=torch.uint8)
    overlays = mask_overlays(clip, VITL16_MASKS, patch=8, tubelet=2, seed=0)
    for overlay in overlays:
        changed = (overlay != clip).any(dim=-1)  # (T, S, S)
        share = changed.float().mean().item()
        assert 0 < share < 1  # some target, some context
        assert torch.equal(changed[0], changed[1])  # one tubelet = two frames, same mask


def test_pca_png_and_gif(tiny_export, real_clips, tmp_path):
    video = real_clips["carphone_distorted"]
    png, gif = tmp_path / "pca.png", tmp_path / "pca.gif"
    assert main(["visualize", "pca", video, "--checkpoint", tiny_export, "--out", str(png)]) == 0
    with Image.open(png) as image:
        assert image.size == grid_size(2, 4, 32)  # frames + PCA row; 8 frames = 4 tubelets of the model's 32 px
    assert main(["visualize", "pca", video, "--checkpoint", tiny_export, "--out", str(gif), "--size", "48"]) == 0
    with Image.open(gif) as image:
        assert image.size == grid_size(1, 2, 48) and image.n_frames == 8


def test_pca_maps_span_the_colour_range():
    tokens = torch.randn(2, 3, 3, 16, generator=torch.Generator().manual_seed(0))
    maps = pca_maps(tokens, 12)
    assert maps.shape == (2, 12, 12, 3) and maps.dtype == torch.uint8
    assert maps.min() == 0 and maps.max() == 255


def test_unreadable_video_is_one_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    assert main(["visualize", "masks", str(bad), "--out", str(tmp_path / "m.png")]) == 2
    err = capsys.readouterr().err
    assert "bad.mp4" in err and len(err.strip().splitlines()) == 1
    assert main(["visualize", "masks", str(bad), "--out", str(tmp_path / "m.jpg")]) == 2
    assert list(tmp_path.iterdir()) == [bad]
