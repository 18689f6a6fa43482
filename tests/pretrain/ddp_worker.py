"""Test helper: ``python ddp_worker.py DIE_RANK DIE_STEP vjepa-args...`` runs ``vjepa`` in a process that exits
abruptly (status 17, no clean-up) when its ``RANK`` is DIE_RANK and it is about to run step DIE_STEP."""

import os
import sys

import vjepa.pretrain.loop as loop
from vjepa.cli.main import main

die_rank, die_step = int(sys.argv[1]), int(sys.argv[2])
real_step = loop.train_step


def dying_step(state, *args, **kwargs):
    if int(os.environ.get("RANK", "0")) == die_rank and state.step + 1 == die_step:
        os._exit(17)
    return real_step(state, *args, **kwargs)


loop.train_step = dying_step
sys.exit(main(sys.argv[3:]))
