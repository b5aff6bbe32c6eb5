"""ProgressLog: a tqdm bar when stderr is a terminal, periodic log lines otherwise."""

from __future__ import annotations

import io
import logging

import pytest

from calibration.progress import ProgressLog, progress_mode


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_mode_is_a_bar_on_a_terminal_and_log_lines_elsewhere():
    assert progress_mode(Terminal()) == "bar"
    assert progress_mode(io.StringIO()) == "log"
    closed = io.StringIO()
    closed.close()  # its isatty raises ValueError
    assert progress_mode(closed) == "log"
    assert progress_mode(object()) == "log"  # no isatty at all


def test_log_mode_writes_lines_and_no_bar(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="capture.progress"):
        progress = ProgressLog("fuse", 3, "person-frames", every=3600.0, mode="log")
        for k in range(3):
            progress.step(f"frame {k}")
    lines = [r.getMessage() for r in caplog.records if r.name == "capture.progress"]
    assert len(lines) == 1 and lines[0].startswith("fuse: 3/3 person-frames (frame 2)")  # throttled, the last logs
    assert capsys.readouterr().err == ""


def test_bar_mode_draws_on_stderr_and_logs_nothing(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="capture.progress"):
        progress = ProgressLog("keypoints", 4, "images", mode="bar")
        for k in range(3):
            progress.step(f"cam0 frame {k}")
        progress.close()  # ended below its total
        progress.step("after close")  # ignored
    err = capsys.readouterr().err
    assert "keypoints:" in err and "3/4" in err and "cam0 frame 2" in err
    assert not [r for r in caplog.records if r.name == "capture.progress"]
    handlers = list(logging.root.handlers)
    assert ProgressLog("nothing to do", 0, mode="bar").bar is None and logging.root.handlers == handlers
    with pytest.raises(ValueError, match="'mode'"):
        ProgressLog("x", 1, mode="fancy")


def test_log_lines_during_a_bar_go_above_it_and_the_handlers_come_back(capsys):
    import sys

    console = logging.StreamHandler(sys.stderr)
    logging.root.addHandler(console)
    try:
        before = list(logging.root.handlers)
        progress = ProgressLog("fit", 2, "evaluations", mode="bar")
        assert console not in logging.root.handlers  # redirected through tqdm while the bar is drawn
        progress.step("first")
        logging.getLogger("capture.test").warning("in the middle")
        progress.step("second")  # the last: closes the bar
        assert logging.root.handlers == before
    finally:
        logging.root.removeHandler(console)
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    assert "in the middle" in lines  # a line of its own, not glued to the bar
