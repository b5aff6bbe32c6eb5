"""The body stage: 2D keypoints of every view -> people per frame -> tracks -> body fit over the sequence.

    summary = run_body_stage(rig, RunLayout(RUN), BodyStageConfig(), frames=None)

Reads the keypoint files (``config.keypoints`` or the rig's ``capture.keypoints``; one sub-folder per camera),
associates and triangulates each frame (`body.association`), tracks people (`body.tracking`), fits the body model
over each track (`body.sequence_fit`) and writes ``RUN/body/<frame:06d>.json`` (docs/body-output.md) plus, for one
frame, an overlay per view (`body.overlay`). Frames already written are skipped unless ``force``; the sequence is
still associated, tracked and fitted as a whole, so the files written now agree with those already there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from body.capture_io import BodyPerson, write_body_frame
from body.errors import BodyStageError
from body.params import BodyParams
from calibration.progress import ProgressLog
from calibration.rig import FrameRange, Rig, select_frames
from calibration.run_layout import RunLayout

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BodyStageConfig:
    """Settings of the body stage (one field per `capture body` option)."""

    keypoints: Path | None = None
    """keypoint folder with one sub-folder per camera; None: the rig's capture.keypoints"""
    keypoint_format: str | None = None
    """openpose, easymocap or synthetic; None: the rig's capture.keypoint_format, else openpose"""
    layout: str | None = None
    """keypoint layout of the files (body25, coco17, ...); None: the layout the files name"""
    body_model: str = "anny"
    """anny or smplx"""
    body_model_dir: str | None = None
    """SMPL-X model folder (None: $MULTICAP_SMPLX_DIR)"""
    fit: bool = True
    """fit the body model (False: only associate, triangulate and track)"""
    fit_iterations: int = 60
    """L-BFGS iterations of the full fit stage"""
    global_iterations: int = 30
    """L-BFGS iterations of the first stage (global rotation and translation)"""
    overlay_frame: int | None = None
    """frame drawn to RUN/report/body/ (None: the first frame with the most people)"""
    force: bool = False
    """rewrite frames whose file already exists"""


@dataclass
class BodyStageSummary:
    """What one run of the stage did: frames selected, written and already there; track ids; frames flagged with
    input problems; association speed and fit time; the overlay pictures."""

    frames: list[int]
    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    track_ids: list[int] = field(default_factory=list)
    flagged: int = 0
    association_fps: float = 0.0
    fit_seconds: float = 0.0
    overlays: list[Path] = field(default_factory=list)
    overlay_frame: int | None = None


def keypoint_folders(rig: Rig, keypoints: Path | None) -> list[Path]:
    """Per camera (rig order), its keypoint folder under ``keypoints`` (else the rig's capture.keypoints)."""
    layout = rig.layout
    base = keypoints or (layout.keypoints if layout is not None else None)
    if base is None:
        raise BodyStageError(f"{rig.source}: no keypoints: pass --keypoints DIR or set capture.keypoints in the rig")
    if not Path(base).is_dir():
        raise BodyStageError(f"--keypoints: {base} is not a folder")
    return [Path(base) / (layout.camera_folder(name) if layout is not None else name) for name in rig.names]


def _stage_frames(available: list[int], frames: FrameRange | None, rig: Rig, folders: list[Path]) -> list[int]:
    """The available frames inside `frames` (frames beyond the keypoint files are an error), else inside the rig's
    frame range, else all of them."""
    if frames is not None:
        return select_frames(frames, available, f"the keypoint files ({folders[0].parent})")
    if rig.layout is None or not available:
        return available
    selected = set(rig.layout.frames.frames(available[-1] + 1))
    return [frame for frame in available if frame in selected]


def _associate_all(source, associator, frames: list[int]) -> tuple[list, list[list[str]]]:
    """Per frame: the people (triangulated) and the input problems met."""
    people, problems = [], []
    progress = ProgressLog("body: association", len(frames), "frames")
    for frame in frames:
        detections = source.read(frame)
        for message in detections.problems:
            logger.warning("frame %d: %s", frame, message)
        problems.append(source.problems + detections.problems)  # source.problems (whole views) were logged once
        frame_people = associator(detections)
        if not frame_people:
            problems[-1].append("nobody seen by 2 or more views could be triangulated in this frame")
        people.append(frame_people)
        progress.step(f"frame {frame}")
    progress.close()
    return people, problems


def frame_entries(frame: int, tracks, fits, body, layout: str) -> list[BodyPerson]:
    """The people of one frame: triangulated keypoints where seen, the fitted body's elsewhere; a track absent from
    the frame but fitted through it is kept as interpolated."""
    entries = []
    fit_of = {fit.track_id: fit for fit in fits}
    for track in tracks:
        person, fit = track.people.get(frame), fit_of.get(track.id)
        if fit is not None and frame in fit.frames:
            t = fit.frames.index(frame)
            keypoints, confidence = fit.keypoints[t].copy(), np.zeros(len(fit.keypoints[t]))
            p = fit.params
            params = BodyParams(p.shape[0], p.pose_aa[t], p.global_rot_aa[t], p.transl[t])
        elif person is not None:
            keypoints, confidence, params = np.zeros_like(person.keypoints), np.zeros(len(person.keypoints)), None
        else:
            continue
        if person is not None:
            seen = person.confidence > 0
            keypoints[seen], confidence[seen] = person.keypoints[seen], person.confidence[seen]
        entries.append(BodyPerson(
            id=track.id, layout=layout, keypoints=keypoints, confidence=confidence, params=params,
            model=body.name if body is not None else None,
            pose_joint_names=list(body.pose_joint_names) if body is not None else [],
            shape_names=list(body.shape_names) if body is not None else [],
            interpolated=person is None, num_views=person.num_views if person else 0,
            reprojection_px=person.reprojection_px if person else 0.0,
        ))  # fmt: skip
    return entries


def _fit(body_config: BodyStageConfig, tracks, frames: list[int], rig: Rig, layout: str):
    """(body model, fits) of every track."""
    from body import shared_body
    from body.fitting import FitConfig, max_evaluations
    from body.sequence_fit import SequenceFitConfig, fit_tracks

    body = shared_body(body_config.body_model, body_config.body_model_dir)
    fit = FitConfig(global_iterations=body_config.global_iterations, iterations=body_config.fit_iterations)
    config = SequenceFitConfig(fit=fit)
    progress = ProgressLog("body: fit", max_evaluations(config.fit), "evaluations")
    fits = fit_tracks(body, tracks, frames, list(rig), layout, config, progress.step)
    progress.close()
    return body, fits


def run_body_stage(
    rig: Rig, run: RunLayout, config: BodyStageConfig = BodyStageConfig(), frames: FrameRange | None = None,
    log: Callable[[str], None] = logger.info,
) -> BodyStageSummary:  # fmt: skip
    """Associate, track, fit and write the selected frames (`frames`, else the rig's range); see the module docstring.

    Raises BodyStageError (no keypoints, none in the selected frames, a bad overlay frame), FrameSelectionError
    (`frames` beyond the keypoint files), DetectionError (unreadable keypoint files) or BodyModelError.
    """
    from body.association import Associator
    from body.keypoint_io import KeypointSource
    from body.overlay import write_body_overlays
    from body.tracking import track_people

    if config.fit_iterations < 1:
        raise BodyStageError(f"--fit-iterations: expected >= 1, got {config.fit_iterations}")
    layout_info = rig.layout
    keypoint_format = config.keypoint_format or (layout_info.keypoint_format if layout_info else None) or "openpose"
    source = KeypointSource(keypoint_folders(rig, config.keypoints), keypoint_format, config.layout)
    selected = _stage_frames(source.frames(), frames, rig, source.folders)
    if not selected:
        raise BodyStageError(f"no keypoint files for the selected frames in {', '.join(map(str, source.folders))}")
    done = run.body_frames()
    summary = BodyStageSummary(selected)
    todo = [frame for frame in selected if config.force or frame not in done]
    summary.skipped = [frame for frame in selected if frame not in todo]
    overlay_missing = not list((run.report_dir / "body").glob("*.png"))
    if not todo and not overlay_missing:
        return summary
    log(f"body: {len(selected)} frames ({len(todo)} to write), {len(rig)} cameras, layout {source.layout}, "
        f"format {keypoint_format}")  # fmt: skip

    start = time.perf_counter()
    people, problems = _associate_all(source, Associator(list(rig), source.layout), selected)
    association_s = time.perf_counter() - start
    tracks = track_people(selected, people)
    summary.track_ids = [track.id for track in tracks]
    log(f"body: {len(tracks)} tracks (ids {summary.track_ids})")
    body, fits = (None, [])
    if config.fit and tracks:
        body, fits = _fit(config, tracks, selected, rig, source.layout)
    summary.fit_seconds = time.perf_counter() - start - association_s
    summary.association_fps = len(selected) / max(association_s, 1e-9)

    entries = {frame: frame_entries(frame, tracks, fits, body, source.layout) for frame in selected}
    for frame, frame_problems in zip(selected, problems):
        if frame in todo:
            write_body_frame(run.root, frame, entries[frame], frame_problems)
            summary.written.append(frame)
    summary.flagged = sum(1 for frame_problems in problems if frame_problems)
    overlay = config.overlay_frame
    if overlay is None:
        overlay = max(selected, key=lambda f: (len(entries[f]), -f))
    if overlay not in entries:
        raise BodyStageError(f"--overlay-frame {overlay}: not among the selected frames {selected[0]}..{selected[-1]}")
    summary.overlay_frame = overlay
    summary.overlays = write_body_overlays(rig, overlay, entries[overlay], body, run)
    return summary
