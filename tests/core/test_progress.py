"""Progress bars: thousands of quick updates on a terminal, one record per few seconds on a log file."""

from __future__ import annotations

import io
import re
import time

from vjepa.core.progress import NON_TTY_INTERVAL_S, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _records(text: str) -> list[str]:
    """The bar states written: tqdm separates redraws with carriage returns."""
    return [r for r in re.split(r"[\r\n]", text) if "it" in r]



def test_a_log_file_gets_one_record_per_few_seconds():
    log = io.StringIO()
    bar = progress_bar(total=20, file=log, desc="work")
    assert bar.mininterval == NON_TTY_INTERVAL_S >= 2
    for step in range(20):  # 1 s of work: a default tqdm bar would redraw ~10 times (20 with set_postfix)
        time.sleep(0.05)
        bar.update(1)
        bar.set_postfix(loss=f"{1 / (step + 1):.3f}")  # as the training loops do every step
    bar.close()
    records = _records(log.getvalue())
    assert len(records) <= 3 and "20/20" in records[-1], records


def test_a_terminal_gets_live_updates():
    term = Terminal()
    bar = progress_bar(total=2000, file=term, desc="work", mininterval=0, miniters=1)
    for _ in range(2000):
        bar.update(1)
    bar.close()
    assert len(_records(term.getvalue())) > 100


def test_disabled_bars_write_nothing():
    log = io.StringIO()
    for _ in progress_bar(range(10), enabled=False, file=log):
        pass
    assert log.getvalue() == ""
