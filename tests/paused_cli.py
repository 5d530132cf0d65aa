"""``headstart`` with a pause after each checkpoint, for tests/test_interrupts.py's Ctrl-C test.

    python paused_cli.py SECONDS fit DATA ... --out RUN

The pause (``time.sleep`` after ``checkpoint.save`` returns) gives the test a wide window in
which a checkpoint exists and training is not over, so its SIGINT lands mid-run however
loaded the machine is; the signal itself is real and goes through Python's own handler.
"""

from __future__ import annotations

import os
import signal
import sys
import time

os.environ.setdefault("HEADSTART_PROGRESS", "0")


def main() -> int:
    pause = float(sys.argv[1])
    # A process started in the background by a non-interactive shell inherits SIGINT ignored (and
    # Python then leaves it so); the test sends SIGINT as a terminal's Ctrl-C would: take it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from headstart.cli import run
    from headstart.train import checkpoint

    save = checkpoint.save

    def paused(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        save(*args, **kwargs)
        time.sleep(pause)

    checkpoint.save = paused
    return run(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
