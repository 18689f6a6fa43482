"""`vjepa data check`: per-file reports, the summary and the exit code, through the argparse function path."""

import argparse
import io
import os

from vjepa.cli.data import add_data_parser
from vjepa.data.check import check_files, expand_inputs, print_report


def _run(argv: list[str], capsys) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="vjepa")
    add_data_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", "check", *argv])
    code = args.func(args)
    return code, capsys.readouterr().out


def test_good_files_exit_zero(media, codec_files, sample_clips, capsys):
    good = list(codec_files.values()) + [media[n] for n in ("portrait", "odd", "rotated", "png")]
    code, out = _run([*good, sample_clips["carphone_pristine"], "--no-progress"], capsys)
    assert code == 0, out
    assert f"checked {len(good) + 1} files: {len(good) + 1} usable, 0 unusable" in out and "unusable files" not in out
    assert f"{media['rotated']}: 30 frames, 25 fps, 1.20 s, 48x80, h264/mov" in out
    assert f"{media['hevc_mkv']}: ~30 frames" in out  # mkv stores no frame count: estimated from the duration


def test_bad_files_exit_nonzero_and_are_named(media, tmp_path, capsys):
    index = tmp_path / "index.csv"
    names = ("missing", "empty", "text", "truncated")
    index.write_text("".join(f"{media[n]} 0\n" for n in names) + f"{media['h264_mp4']} 1\n")
    code, out = _run([str(index), "--no-progress"], capsys)
    assert code == 1
    assert "checked 5 files: 1 usable, 4 unusable (usable: 0 images, 1 videos shorter than one clip)" in out
    unusable = out.split("unusable files:")[1]
    for name, reason in zip(names, ("file not found", "empty file", "not a readable video", "truncated")):
        assert f"  {media[name]}: {reason}" in unusable


def test_reports_short_videos_and_fields(media):
    reports = check_files([media["short"], media["long"], media["jpg"]], frames_per_clip=16, frame_step=4,
                          progress=False)
    short, long, image = reports
    assert short.ok and short.short and "padded" in short.sampling and "filter_short_videos" in short.sampling
    assert long.ok and not long.short and long.sampling == "ok"
    assert (long.num_frames, long.fps, long.width, long.height, long.codec) == (120, 25.0, 64, 48, "h264")
    assert long.duration_s == 4.8 and not long.frames_estimated
    assert image.ok and image.kind == "image" and (image.height, image.width) == (20, 30)
    out = io.StringIO()
    assert print_report(reports, out) == 0
    assert "1 videos shorter than one clip" in out.getvalue()


def test_worker_processes_give_the_same_reports(media):
    paths = [media[n] for n in ("h264_mp4", "missing", "truncated_mkv", "odd")]
    assert check_files(paths, workers=2, progress=False) == check_files(paths, workers=0, progress=False)


def test_expand_inputs(media, tmp_path):
    folder = tmp_path / "videos" / "class_a"
    folder.mkdir(parents=True)
    (folder / "a.mp4").write_bytes(b"")
    assert expand_inputs([str(tmp_path / "videos"), media["missing"]]) == [str(folder / "a.mp4"), media["missing"]]


def test_missing_or_unreadable_index_is_one_line_exit_2(tmp_path, capsys):
    from vjepa.cli.main import main

    for missing in (str(tmp_path / "nope.csv"), str(tmp_path / "no_folder")):
        assert main(["data", "check", missing, "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err == f"error: {missing}: index not found; give a CSV file, a folder of videos or a video file\n"
    index = tmp_path / "locked.csv"
    index.write_text("a.mp4 0\n")
    index.chmod(0)
    try:
        if not os.access(index, os.R_OK):  # root reads anything: the permission case is then untestable
            assert main(["data", "check", str(index), "--no-progress"]) == 2
            assert capsys.readouterr().err.startswith(f"error: {index}: cannot read the index")
    finally:
        index.chmod(0o644)
