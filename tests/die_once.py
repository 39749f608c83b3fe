"""``python -m reproduce train`` whose second process dies once, abruptly (``os._exit``, as a killed process does,
with no checkpoint written), in the middle of epoch 2: what ``torchrun --max-restarts`` must recover from. The
marker file (``DIE_ONCE_MARKER``) makes it die only in the first attempt. Run by tests/test_training.py."""

import os
import sys

from reproduce.cli import main
from reproduce.training import loop

real_step = loop.train_step
steps = {"taken": 0}


def step_or_die(*args, **kwargs):
    steps["taken"] += 1
    marker = os.environ["DIE_ONCE_MARKER"]
    if os.environ.get("RANK") == "1" and steps["taken"] == 4 + 2 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return real_step(*args, **kwargs)


loop.train_step = step_or_die
sys.exit(main(["train", *sys.argv[1:]]))
