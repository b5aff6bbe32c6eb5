"""Progress of a long stage: a tqdm bar on a terminal, else periodic log lines (every stage uses it)."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

logger = logging.getLogger("capture.progress")


def progress_mode(stream: TextIO | None = None) -> str:
    """'bar' when `stream` (default sys.stderr) is a terminal, else 'log' (files, pipes, CI logs stay readable)."""
    stream = sys.stderr if stream is None else stream
    try:
        return "bar" if stream.isatty() else "log"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "log"


class ProgressLog:
    """Progress of `total` items: a tqdm bar on stderr when it is a terminal, else log lines
    `<stage>: done/total <unit> (label), s each, ~s left` at most every `every` seconds and at the end.

    Args:
        stage: name shown first, e.g. "fuse".
        total: number of items the stage will process (an upper bound is fine: `close` ends early).
        unit: what an item is, e.g. "images" or "person-frames".
        every: least number of seconds between two log lines (the last item always logs).
        mode: 'bar' or 'log'; default progress_mode().
    """

    def __init__(self, stage: str, total: int, unit: str = "items", every: float = 5.0, mode: str | None = None) -> None:
        self.stage, self.total, self.unit, self.every = stage, total, unit, every
        self.mode = mode or progress_mode()
        if self.mode not in ("bar", "log"):
            raise ValueError(f"ProgressLog: argument 'mode': expected 'bar' or 'log', got {self.mode!r}")
        self.done = 0
        self.start = self.last = time.perf_counter()
        self.bar = self._redirect = None
        if self.mode == "bar" and total > 0:  # nothing to do: no bar
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self.bar = tqdm(total=total, desc=stage, unit=unit.rstrip("s") or unit, file=sys.stderr)
            self._redirect = logging_redirect_tqdm()  # log lines above the bar, not glued to it
            self._redirect.__enter__()

    def step(self, label: str) -> None:
        """One more item done; `label` names it (e.g. "cam01 frame 12")."""
        self.done += 1
        if self.mode == "bar":
            if self.bar is not None:
                self.bar.set_postfix_str(label, refresh=False)
                self.bar.update(1)
                if self.done >= self.total:
                    self.close()
            return
        now = time.perf_counter()
        if now - self.last < self.every and self.done < self.total:
            return
        self.last = now
        each = (now - self.start) / self.done
        logger.info("%s: %d/%d %s (%s), %.2f s each, ~%.0f s left", self.stage, self.done, self.total, self.unit, label,
                    each, each * max(self.total - self.done, 0))  # fmt: skip

    def close(self) -> None:
        """End the bar (a stage that finishes below `total`) and give the console log handlers back; log mode has
        nothing to end."""
        if self.bar is not None:
            self.bar.close()
            self._redirect.__exit__(None, None, None)
            self.bar = self._redirect = None
