import sys
from pathlib import Path

# Make tests/official_fixture.py importable from every test folder.
sys.path.insert(0, str(Path(__file__).parent))


# Tests use tiny tensors: one thread avoids OpenMP oversubscription, which slows tiny ops by 10-100x on a busy
# 2-core machine. Subprocesses started by tests set OMP_NUM_THREADS themselves where it matters.
import torch  # noqa: E402

torch.set_num_threads(1)
