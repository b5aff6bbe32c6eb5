"""Progress of a long stage as log lines: done/total, time per item and time left (every stage uses it)."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("capture.progress")


class ProgressLog:
    """Logs `<stage>: done/total <unit> (label), s each, ~s left` at most every `every` seconds and at the end.

    Args:
        stage: name shown first on each line, e.g. "fuse".
        total: number of items the stage will process.
        unit: what an item is, e.g. "images" or "person-frames".
        every: least number of seconds between two lines (the last item always logs).
    """

    def __init__(self, stage: str, total: int, unit: str = "items", every: float = 5.0) -> None:
        self.stage, self.total, self.unit, self.every = stage, total, unit, every
        self.done = 0
        self.start = self.last = time.perf_counter()

    def step(self, label: str) -> None:
        """One more item done; `label` names it (e.g. "cam01 frame 12")."""
        self.done += 1
        now = time.perf_counter()
        if now - self.last < self.every and self.done < self.total:
            return
        self.last = now
        each = (now - self.start) / self.done
        logger.info("%s: %d/%d %s (%s), %.2f s each, ~%.0f s left", self.stage, self.done, self.total, self.unit, label,
                    each, each * (self.total - self.done))  # fmt: skip
