from vjepa.core.plots import new_figure, save_figure


def test_figure_is_written_as_a_png_atomically(tmp_path):
    figure = new_figure(2, 1)
    figure.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
    path = save_figure(figure, tmp_path / "sub" / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in path.parent.iterdir()] == ["plot.png"]  # no temporary file left
