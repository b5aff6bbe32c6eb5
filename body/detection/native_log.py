"""Native (C++) log lines of mediapipe kept off the terminal: its EGL/GPU, XNNPACK and feedback-tensor notices.

mediapipe 0.10.14 logs through absl before any absl::InitializeLog, straight to file descriptor 2, and ignores
GLOG_minloglevel / TF_CPP_MIN_LOG_LEVEL. :func:`filtered_native_stderr` sends descriptor 2 to a temporary file
while the native code starts up and replays every line that is not one of these known notices.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

MEDIAPIPE_NOTICES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "GPU suport is not available",
    "GPU support is not available",
    "Created TensorFlow Lite XNNPACK delegate for CPU",
    "Feedback manager requires a model with a single signature inference",
)
"""Substrings of the start-up lines dropped (a CPU-only run needs no GPU; the rest are informational)."""


def kept_lines(text: str, notices: tuple[str, ...] = MEDIAPIPE_NOTICES) -> str:
    """`text` without the lines that contain one of `notices` (line endings kept)."""
    return "".join(line for line in text.splitlines(keepends=True) if not any(n in line for n in notices))


@contextlib.contextmanager
def filtered_native_stderr(notices: tuple[str, ...] = MEDIAPIPE_NOTICES) -> Iterator[None]:
    """While inside, descriptor 2 (C++ and Python stderr alike) goes to a temporary file; on leaving, its lines
    that contain none of `notices` are written to the real stderr, in order."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = kept_lines(capture.read().decode("utf-8", errors="replace"), notices)
            if text:
                sys.stderr.write(text)
                sys.stderr.flush()
