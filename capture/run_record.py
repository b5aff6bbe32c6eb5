"""RUN/run.json, the record of a run: settings, every stage's resolved config, versions, the input fingerprint, per
stage status and timings, and the history of earlier invocations in the same folder.

    record = RunRecord(run_dir, config={...}, stage_configs={...}, settings={...}, versions={...}, inputs={...})
    record.stage("body", StageRecord("done", seconds=3.2, done=10))
    record.update(status="finished", finished=now())

Written at the start, after every stage and at the end (atomically). A folder whose record says it was made from
other input or with other settings is refused (RunFolderError naming what differs) unless ``force``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from calibration.atomic import atomic_write_text
from calibration.run_layout import RunLayout
from capture.run_inputs import input_differences

logger = logging.getLogger(__name__)

RUN_FORMAT = "multicap.run"


class RunFolderError(ValueError):
    """The run folder holds the results of another capture or of other settings; the message says what differs."""


@dataclass
class StageRecord:
    """One stage of one invocation: status (done, skipped, failed, off, interrupted), seconds, work done / skipped."""

    status: str = "pending"
    seconds: float = 0.0
    done: int = 0
    skipped: int = 0
    note: str = ""


def now() -> str:
    """The current UTC time as ISO 8601 to the second (run.json's times)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunRecord:
    """RUN/run.json of one invocation (see the module docstring).

    Args:
        run_dir: the run folder.
        config: the run's options, JSON-ready (``capture reconstruct``'s ReconstructConfig).
        stage_configs: every stage's resolved config, JSON-ready.
        settings: the settings that change outputs already on disk (compared with the folder's previous record).
        versions: package versions and the git commit.
        inputs: the capture's fingerprint (capture.run_inputs).
        force: accept a folder made from other input or with other settings.
    """

    def __init__(self, run_dir: Path, config: dict, stage_configs: dict, settings: dict, versions: dict, inputs: dict,
                 force: bool = False) -> None:  # fmt: skip
        self.path = RunLayout(run_dir).record_file
        previous = self.read(self.path)
        differences = input_differences(previous["inputs"], inputs) if previous and "inputs" in previous else []
        if differences and not force:
            raise RunFolderError(
                f"{run_dir}: this run folder was made from other input: " + "; ".join(differences)
                + "; choose another --out for this capture, or pass --force to redo every stage from the current input"
            )  # fmt: skip
        if previous and previous.get("settings") != settings and not force:
            changed = {k: (previous.get("settings", {}).get(k), v) for k, v in settings.items()
                       if previous.get("settings", {}).get(k) != v}  # fmt: skip
            raise RunFolderError(
                f"{run_dir}: this run folder was made with other settings "
                + ", ".join(f"{k} {old!r} (now {new!r})" for k, (old, new) in changed.items())
                + "; pass --force to redo it with the new ones, or choose another --out"
            )
        history = previous.get("history", []) if previous else []
        if previous:
            history.append({key: previous.get(key) for key in ("started", "finished", "status", "stages")})
        self.document = {
            "format": RUN_FORMAT, "version": 1, "status": "running", "started": now(), "finished": None,
            "settings": settings, "config": config, "stage_configs": stage_configs,
            "versions": versions, "stages": {}, "frames": [], "people": [], "outputs": {}, "history": history,
            "inputs": inputs,
        }  # fmt: skip
        self.write()

    @staticmethod
    def read(path: Path) -> dict | None:
        """The run.json document, or None when absent; an unreadable one is kept aside as run.json.corrupt."""
        if not path.is_file():
            return None
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(document, dict) or document.get("format") != RUN_FORMAT:
                raise ValueError(f"field 'format': expected {RUN_FORMAT!r}")
            return document
        except (OSError, ValueError) as error:
            logger.warning("%s: unreadable (%s); kept as %s.corrupt, starting a new record", path, error, path.name)
            path.replace(path.with_name(path.name + ".corrupt"))
            return None

    # --- typed views of the record (what the report reads) ---
    @property
    def method(self) -> str | None:
        return self.document["settings"].get("method")

    @property
    def frames(self) -> list[int]:
        return list(self.document["frames"])

    @property
    def config(self) -> dict:
        return self.document["config"]

    def stage_records(self) -> dict[str, StageRecord]:
        """This invocation's stages, in the order they ran."""
        return {name: StageRecord(**fields) for name, fields in self.document["stages"].items()}

    def earlier_seconds(self) -> dict[str, float]:
        """Per stage, the seconds of the last earlier invocation that did it (status done)."""
        earlier = {}
        for entry in self.document["history"]:
            for name, stage in (entry.get("stages") or {}).items():
                if stage.get("status") == "done":
                    earlier[name] = stage.get("seconds", 0.0)
        return earlier

    # --- writing ---
    def update(self, **fields) -> None:
        self.document.update(fields)
        self.write()

    def stage(self, name: str, record: StageRecord) -> None:
        self.document["stages"][name] = asdict(record)
        self.write()

    def write(self) -> None:
        atomic_write_text(self.path, json.dumps(self.document, indent=1))
