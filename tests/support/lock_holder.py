"""Another process holding an output folder's lock, as a concurrent run would (for the refusal tests)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator

HOLD = "import sys, time; from vjepa.core.lock import output_lock\nwith output_lock(sys.argv[1]):\n" \
       "    print('held', flush=True); time.sleep(120)\n"


@contextlib.contextmanager
def lock_held_elsewhere(folder) -> Iterator[subprocess.Popen]:
    """A subprocess holds ``folder``'s lock for the ``with`` block and is SIGKILLed at its end (the OS drops the
    lock with it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
