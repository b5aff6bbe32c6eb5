"""The reconstruction pipeline: rig -> body -> masks -> per-person meshes -> fusion -> scene meshes -> report.

    from capture.pipeline import ReconstructConfig, reconstruct
    result = reconstruct(ReconstructConfig(rig=Path("capture/rig.yaml"), out=Path("RUN")))

Stages and outputs (docs/pipeline.md; the run folder layout of docs/ARCHITECTURE.md):

    keypoints  RUN/keypoints/<cam>/<frame:06d>.json   only when the capture has no 2D keypoints (`capture keypoints`)
    body       RUN/body/<frame:06d>.json              `capture body` (association, tracking, body fit)
    segment    RUN/masks/<cam>/<frame:06d>.png        segmentation.segment_run
    implicit   RUN/meshes/<frame:06d>/person_<id>.ply capture.person_frame, one task per person-frame, on an executor
    fusion     RUN/fused/<frame:06d>/person_<id>.ply  fusion.stage.fuse_run, then coloured like the per-frame meshes
    scene      RUN/scene/<frame:06d>.ply              every person of a frame in one mesh, world coordinates
    report     RUN/report/index.html                  capture.report
    RUN/run.json                                      settings, versions, per-stage status and timings, history

Resume: every stage skips work whose output exists unless `force`; every file is written atomically (temp file +
rename), so a killed run leaves finished files or none. Before a stage runs, its existing outputs are checked
(readable PLY / PNG / JSON); an unreadable one is renamed to `<name>.corrupt` and redone. A run folder made with
other settings (method, model, resolution, fusion, body fit) is refused unless `force`, so results of different
settings never mix, and so is a run folder made from another capture (capture.run_inputs: the rig's cameras and the
input files' sizes and times, named when they differ). One process at a time writes into a run folder
(capture.run_lock). Ctrl-C records the run as `interrupted` and raises RunInterrupted (finished work is kept).
A failing person-frame does not stop the others; the stage then fails naming them.
Any error inside a stage becomes one PipelineError naming the stage (`stage segment failed: <file>: ...`, or
`stage fusion crashed: <Type>: ...` for an unexpected exception), recorded in run.json; no deep traceback.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from body.detection.stage import KeypointStageConfig
from body.stage import BodyStageConfig
from calibration.progress import ProgressLog
from calibration.rig import FrameRange, Rig
from calibration.run_layout import RunLayout
from capture.person_frame import (
    METHODS,
    PersonFrameResult,
    PersonFrameTask,
    reconstruct_person_frame,
)
from capture.run_inputs import input_fingerprint
from capture.run_record import RunFolderError, RunRecord, StageRecord, now
from fusion.temporal import FusionConfig
from implicit.neighbours import DEFAULT_MARGIN_M
from implicit.reconstruct import ReconstructionConfig
from segmentation.frame import SegmentConfig

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[1]
MODEL_PRESETS = ("small", "full")
STAGES = ("keypoints", "body", "segment", "implicit", "fusion", "scene", "report")


class PipelineError(ValueError):
    """A run that cannot go on; the message names the file, field or flag and what to do."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: run.json says `interrupted`; the message says where the finished work is kept."""


@dataclass(frozen=True)
class ReconstructConfig:
    """Settings of `capture reconstruct` (one field per flag)."""

    rig: Path
    """rig.yaml of the capture (cameras + capture section: images/videos, optional masks and keypoints)"""
    out: Path
    """run folder"""
    frames: str | None = None
    """START:STOP[:STEP]; default: the rig's frame range"""
    people: tuple[int, ...] | None = None
    """track ids to reconstruct; default: everybody"""
    resolution: int = 256
    """grid samples along the longest side of a person's box"""
    model: str = "small"
    """network weights: small, full (implicit/weights/<name>.pt) or a checkpoint path"""
    method: str | None = None
    """network or visual-hull; default: network when the weights exist, else the visual hull"""
    device: str = "cpu"
    """torch device of the network"""
    neighbour_margin_m: float | None = DEFAULT_MARGIN_M
    """network: occupancy 0 where another person's fitted body is this much nearer, metres (None: off)"""
    executor: str = "local"
    """local or ray"""
    workers: int = 1
    """parallel person-frames (local: 1 = in this process)"""
    ray_address: str | None = None
    """Ray cluster address (default: start a local Ray)"""
    fusion: bool = True
    """temporal fusion of each person's meshes over 3 frames"""
    force: bool = False
    """redo every stage's finished work"""
    keypoint_format: str | None = None
    """2D keypoint file format (default: the rig's, else openpose)"""
    layout: str | None = None
    """keypoint layout of OpenPose files (default: named in the files, else an error)"""
    fit_iterations: int = 60
    """L-BFGS iterations of the body fit"""
    report_frames: int = 10
    """at most this many frames (evenly spread) drawn in the report"""


@dataclass
class RunResult:
    """What `reconstruct` produced: frames, people, where the outputs are, per-stage records."""

    run_dir: Path
    frames: list[int]
    people: list[int]
    method: str
    method_note: str
    stages: dict[str, StageRecord]
    scene_meshes: list[Path] = field(default_factory=list)
    report: Path | None = None

    @property
    def total_seconds(self) -> float:
        return sum(record.seconds for record in self.stages.values())


def parse_frames(text: str | None) -> FrameRange | None:
    """'START:STOP[:STEP]' (empty parts: 0, open, 1) -> FrameRange; None -> None."""
    from capture.commands import parse_frame_range

    if text is None:
        return None
    try:
        return parse_frame_range(text)
    except ValueError as error:
        raise PipelineError(f"--frames: {error}") from None


def resolve_model(model: str) -> Path:
    """--model small|full|PATH -> the checkpoint file; PipelineError saying how to get one when it is missing."""
    if model in MODEL_PRESETS:
        from implicit.training import SHIPPED_WEIGHTS_DIR

        path = SHIPPED_WEIGHTS_DIR / f"{model}.pt"
        if not path.is_file():
            raise PipelineError(
                f"--model {model}: no trained weights at {path}; train them with "
                f"`capture train --config {model} --data SYNTHETIC_CAPTURES --out DIR` and pass --model DIR, "
                "or use --method visual-hull"
            )  # fmt: skip
        return path
    path = Path(model)
    if path.is_dir():
        path = path / "latest.pt"
    if not path.is_file():
        raise PipelineError(f"--model {model}: expected small, full or a checkpoint file (or a folder with latest.pt); "
                            f"{path} does not exist")  # fmt: skip
    return path


def check_checkpoint(path: Path, model: str) -> None:
    """Read the network checkpoint once before any work: PipelineError naming --model when it is unreadable, not a
    checkpoint, or a file that would run code when loaded (implicit.training.read_checkpoint refuses those)."""
    from implicit.training import CheckpointError, read_checkpoint

    try:
        read_checkpoint(path, for_training=False)
    except CheckpointError as error:
        raise PipelineError(f"--model {model}: {error}") from None


def choose_method(config: ReconstructConfig) -> tuple[str, Path | None, str]:
    """(method, checkpoint or None, note for the user) from --method and --model."""
    if config.method is not None and config.method not in METHODS:
        raise PipelineError(f"--method: expected one of {', '.join(METHODS)}, got {config.method!r}")
    if config.method == "visual-hull":
        return "visual-hull", None, "visual hull of the masks (--method visual-hull)"
    if config.method == "network":
        return "network", resolve_model(config.model), f"network {config.model}"
    try:
        path = resolve_model(config.model)
    except PipelineError as error:
        return "visual-hull", None, f"falling back to the visual hull of the masks: {error}"
    return "network", path, f"network {config.model} ({path})"


def _settings(config: ReconstructConfig, method: str, model_path: Path | None) -> dict:
    """The settings that change outputs already on disk: a run folder holds the results of one such set."""
    return {
        "method": method, "model": str(model_path) if model_path else None, "resolution": config.resolution,
        "fusion": config.fusion, "fit_iterations": config.fit_iterations,
        "neighbour_margin_m": config.neighbour_margin_m if method == "network" else None,
    }  # fmt: skip


def _versions() -> dict:
    import importlib.metadata as metadata

    from capture import __version__

    versions = {"multicap": __version__, "python": platform.python_version()}
    for package in ("numpy", "torch", "open3d", "opencv-contrib-python", "taichi", "trimesh", "PyMCubes"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True, timeout=5)
        versions["git"] = commit.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        versions["git"] = None
    return versions


# --- validation of existing outputs -------------------------------------------------------------------------------


def _readable(path: Path) -> bool:
    """Whether an existing output file can be read back (PLY, PNG or JSON)."""
    try:
        if path.suffix == ".ply":
            from render import load_mesh

            load_mesh(path)
        elif path.suffix == ".png":
            import cv2

            if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
                return False
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        return True
    except Exception:  # any failure to read means the file cannot be trusted
        return False


def quarantine_unreadable(paths: list[Path]) -> list[Path]:
    """Rename every existing but unreadable file to `<name>.corrupt` (kept, never deleted); returns them."""
    bad = [path for path in paths if path.is_file() and not _readable(path)]
    for path in bad:
        logger.warning("%s is unreadable (truncated or corrupt); kept as %s.corrupt and redone", path, path.name)
        path.replace(path.with_name(path.name + ".corrupt"))
    return bad


def remove_stale_temporaries(run_dir: Path) -> int:
    """Delete the temp files (`.<name>.<random>.tmp`, calibration.atomic) a killed run left; returns how many.
    Call it only while holding the folder's run lock (capture.run_lock), so no live writer's files are removed."""
    stale = [path for path in run_dir.rglob(".*.tmp") if path.is_file()]
    for path in stale:
        path.unlink()
    if stale:
        logger.info("removed %d temporary file(s) left by an interrupted run", len(stale))
    return len(stale)


# --- stages ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageConfigs:
    """The resolved settings of every stage of one run (recorded whole in run.json under "stage_configs")."""

    keypoints: KeypointStageConfig | None
    """None when the capture has 2D keypoints (nothing is detected)"""
    body: BodyStageConfig
    segment: SegmentConfig
    implicit: ReconstructionConfig
    fusion: FusionConfig | None
    """None with --no-fusion"""

    def describe(self) -> dict:
        """JSON-ready: every field of every stage's config (paths as strings)."""
        def plain(value):
            if dataclasses.is_dataclass(value):
                return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, (tuple, list)):
                return [plain(v) for v in value]
            return value

        return {name: plain(getattr(self, name)) for name in ("keypoints", "body", "segment", "implicit", "fusion")}


def stage_configs(rig: Rig, config: ReconstructConfig) -> StageConfigs:
    """Every stage's config from the run's: the keypoint stage runs (into RUN/keypoints) only when the capture has
    no 2D keypoints; the body stage then reads what it wrote, in the layout it wrote."""
    from body.detection.registry import DETECTOR_LAYOUTS

    layout = rig.layout
    body = BodyStageConfig(keypoint_format=config.keypoint_format, layout=config.layout,
                           fit_iterations=config.fit_iterations, force=config.force)  # fmt: skip
    detect = None
    if layout is None or layout.keypoints is None:
        if layout is None or (layout.images is None and layout.videos is None):
            raise PipelineError(f"{rig.source}: the capture section names neither keypoints nor images/videos; "
                                "nothing to reconstruct from")  # fmt: skip
        keypoint_layout = config.layout or "body25"
        if keypoint_layout not in DETECTOR_LAYOUTS:
            raise PipelineError(f"--layout {keypoint_layout}: the capture has no 2D keypoints, so they are detected, "
                                f"in one of the detector's layouts: {', '.join(DETECTOR_LAYOUTS)}")  # fmt: skip
        detect = KeypointStageConfig(layout=keypoint_layout, force=config.force)
        body = dataclasses.replace(body, keypoints=RunLayout(config.out).keypoints_dir, keypoint_format="openpose",
                                   layout=keypoint_layout)  # fmt: skip
    implicit = ReconstructionConfig(resolution=config.resolution, neighbour_margin_m=config.neighbour_margin_m)
    fusion = FusionConfig(voxel_size_m=None) if config.fusion else None  # each mesh's own voxel
    return StageConfigs(detect, body, SegmentConfig(), implicit, fusion)


def _body_frames(run_dir: Path, config: ReconstructConfig) -> list[int]:

    frame_range = parse_frames(config.frames)
    available = sorted(RunLayout(run_dir).body_frames())
    if frame_range is None:
        return available
    selected = set(frame_range.frames(available[-1] + 1 if available else 0))
    return [frame for frame in available if frame in selected]


def stage_keypoints(rig: Rig, config: ReconstructConfig, detect: KeypointStageConfig | None) -> StageRecord:
    if detect is None:
        return StageRecord("off", note="the capture has 2D keypoints")
    from body.detection.stage import run_keypoint_stage, select_camera_frames

    quarantine_unreadable(sorted(RunLayout(config.out).keypoints_dir.glob("*/*.json")))
    selected = select_camera_frames(rig, rig.names, parse_frames(config.frames))
    progress = ProgressLog("keypoints", sum(map(len, selected.values())), "images")
    summary = run_keypoint_stage(rig, config.out, selected, detect, progress=progress.step)
    progress.close()
    totals = summary.totals().values()
    found, expected = sum(found for found, _ in totals), sum(expected for _, expected in totals)
    return StageRecord("done" if summary.written else "skipped", done=summary.written, skipped=summary.skipped,
                       note=f"offline BlazePose, tiles and rig-guided re-detection; people found in {found} of "
                       f"{expected} views they project into (report/keypoints/coverage.json)")  # fmt: skip


def stage_body(rig: Rig, config: ReconstructConfig, body: BodyStageConfig) -> StageRecord:
    from body.stage import run_body_stage

    run = RunLayout(config.out)
    quarantine_unreadable(sorted(run.body_dir.glob("*.json")))
    summary = run_body_stage(rig, run, body, parse_frames(config.frames))
    note = (f"{len(summary.track_ids)} people; association {summary.association_fps:.1f} frames/s, fit "
            f"{summary.fit_seconds:.1f} s" if summary.written else "")  # fmt: skip
    return StageRecord("done" if summary.written else "skipped", done=len(summary.written),
                       skipped=len(summary.skipped), note=note)  # fmt: skip


def stage_segment(rig: Rig, config: ReconstructConfig, segment: SegmentConfig, frames: list[int]) -> StageRecord:
    from segmentation import SegmentationError, segment_run
    run = RunLayout(config.out)
    labels = [run.label_file(camera.name, frame) for frame in frames for camera in rig]
    quarantine_unreadable(labels + sorted(run.masks_dir.glob("*/*_occluded_*.png")))
    try:
        summary = segment_run(rig, config.out, parse_frames(config.frames), force=config.force, config=segment)
    except SegmentationError as error:
        raise PipelineError(str(error)) from error
    return StageRecord("done" if summary.done else "skipped", done=len(summary.done), skipped=len(summary.skipped),
                       note=f"foreground source: {summary.source}")  # fmt: skip


def frame_people(run_dir: Path, frames: list[int], people: tuple[int, ...] | None) -> dict[int, list[int]]:
    """{frame: track ids} of the body stage's files, restricted to `people` when given."""
    from body.capture_io import read_body_frame

    run, result = RunLayout(run_dir), {}
    for frame in frames:
        _, entries = read_body_frame(run.body_file(frame))
        result[frame] = [entry.id for entry in entries if people is None or entry.id in people]
    return result


def _person_frame_done(run_dir: Path, frame: int, person: int) -> bool:
    run = RunLayout(run_dir)
    return run.mesh_file(frame, person).is_file() or run.empty_marker(frame, person).is_file()


def stage_implicit(
    config: ReconstructConfig, people: dict[int, list[int]], method: str, model_path: Path | None,
    task_function: Callable[[PersonFrameTask], PersonFrameResult] = reconstruct_person_frame,
) -> tuple[StageRecord, list[PersonFrameResult]]:  # fmt: skip
    """Every person-frame on the executor; finished ones skipped; failures reported after the others finish."""
    from capture.executors import ExecutorError, make_executor

    pairs = [(frame, person) for frame, ids in people.items() for person in ids]
    quarantine_unreadable([RunLayout(config.out).mesh_file(f, p) for f, p in pairs])
    todo = [(f, p) for f, p in pairs if config.force or not _person_frame_done(config.out, f, p)]
    record = StageRecord(skipped=len(pairs) - len(todo), note=method)
    if not todo:
        record.status = "skipped"
        return record, []
    tasks = [PersonFrameTask(str(config.rig), str(config.out), f, p, method, config.resolution,
                             str(model_path) if model_path else None, config.device, config.neighbour_margin_m)
             for f, p in todo]  # fmt: skip
    try:
        executor = make_executor(config.executor, config.workers, config.ray_address)
    except ExecutorError as error:
        raise PipelineError(str(error)) from error
    progress = ProgressLog("implicit", len(tasks), "person-frames")
    results, failures = [], []
    for task, outcome in executor.run(task_function, tasks):
        label = f"frame {task.frame}, person {task.person}"
        if isinstance(outcome, BaseException):
            logger.error("implicit: %s failed: %s", label, outcome)
            failures.append(f"{label}: {outcome}")
        else:
            results.append(outcome)
        progress.step(label)
    record.done = len(results)
    if failures:
        record.status = "failed"
        record.note = f"{len(failures)} person-frame(s) failed: " + "; ".join(failures[:5])
        return record, results
    record.status = "done"
    return record, results


def _colour_final_meshes(rig: Rig, run_dir: Path, people: dict[int, list[int]]) -> int:
    """Colour the fused meshes that have no colours yet (fusion re-meshes), like the per-frame ones."""
    from capture.colors import color_mesh
    from capture.person_frame import read_images, read_labels
    from render import load_mesh, save_mesh

    coloured = 0
    for frame, ids in people.items():
        paths = {p: RunLayout(run_dir).mesh_file(frame, p, fused=True) for p in ids}
        todo = {p: path for p, path in paths.items() if path.is_file()}
        meshes = {p: load_mesh(path) for p, path in todo.items()}
        meshes = {p: mesh for p, mesh in meshes.items() if mesh.colors is None}
        if not meshes:
            continue
        images, labels = read_images(rig, frame), read_labels(rig, run_dir, frame)
        for person, mesh in meshes.items():
            allowed = [label.astype(np.int64) == person + 1 for label in labels]
            save_mesh(todo[person], color_mesh(mesh, list(rig), images, allowed)[0])
            coloured += 1
    return coloured


def stage_fusion(rig: Rig, config: ReconstructConfig, fusion: FusionConfig | None,
                 people: dict[int, list[int]]) -> StageRecord:  # fmt: skip
    if fusion is None:
        return StageRecord("off", note="--no-fusion")
    from body.errors import BodyModelError
    from fusion import FusionError
    from fusion.stage import fuse_run

    quarantine_unreadable(sorted(RunLayout(config.out).meshes_dir(fused=True).glob("*/person_*.ply")))
    try:
        summary = fuse_run(config.out, fusion, force=config.force)
    except (FusionError, BodyModelError) as error:
        raise PipelineError(f"fusion: {error}") from error
    coloured = _colour_final_meshes(rig, config.out, people)
    return StageRecord("done" if summary.fused + summary.copied else "skipped", done=summary.fused + summary.copied,
                       skipped=summary.skipped, note=f"{summary.voxel_note}; {coloured} meshes coloured")  # fmt: skip


def stage_scene(config: ReconstructConfig, people: dict[int, list[int]]) -> tuple[StageRecord, list[Path]]:
    """RUN/scene/<frame>.ply: the frame's final person meshes concatenated (world coordinates, colours kept)."""
    from render import Mesh, load_mesh, save_mesh

    record, written, run = StageRecord(), [], RunLayout(config.out)
    quarantine_unreadable([run.scene_file(frame) for frame in people])
    for frame, ids in people.items():
        path = run.scene_file(frame)
        paths = [run.final_mesh_file(frame, p, config.fusion) for p in ids]
        paths = [p for p in paths if p.is_file()]
        if not paths:
            continue
        written.append(path)
        if path.is_file() and not config.force:
            record.skipped += 1
            continue
        meshes = [load_mesh(p) for p in paths]
        offsets = np.cumsum([0] + [m.num_vertices for m in meshes[:-1]])
        save_mesh(path, Mesh(np.concatenate([m.vertices for m in meshes]),
                             np.concatenate([m.faces + o for m, o in zip(meshes, offsets)]),
                             colors=np.concatenate([m.vertex_colors() for m in meshes])))  # fmt: skip
        record.done += 1
    record.status = "done" if record.done else "skipped"
    return record, written


# --- the whole run ------------------------------------------------------------------------------------------------


def _timed(record_fn: Callable[[], StageRecord | tuple]) -> tuple:
    start = time.perf_counter()
    value = record_fn()
    record, extra = (value, None) if isinstance(value, StageRecord) else value
    record.seconds = round(time.perf_counter() - start, 3)
    return record, extra


def stage_error_message(name: str, error: Exception, run_dir: Path) -> str:
    """What the user reads when stage `name` raised `error`: this project's errors (ValueError subclasses that name
    the file or field) as they are, anything else as a crash with its type; both say that finished work is kept."""
    from capture.cli import UserFacingError

    if isinstance(error, PipelineError):
        return str(error)
    kept = f"finished work is kept in {run_dir}, rerun the same command to resume"
    if isinstance(error, (ValueError, UserFacingError)) and type(error) is not ValueError:
        return f"stage {name} failed: {error}; {kept}"
    return f"stage {name} crashed: {type(error).__name__}: {error} (run with -v for the traceback); {kept}"


def reconstruct(
    config: ReconstructConfig,
    task_function: Callable[[PersonFrameTask], PersonFrameResult] = reconstruct_person_frame,
) -> RunResult:
    """Run (or resume) every stage; see the module docstring. Raises PipelineError naming what failed (before any
    work for a bad flag, rig, checkpoint, --out, another capture's run folder or a folder another run holds) and
    RunInterrupted after Ctrl-C."""
    from calibration.rig_file import load_rig
    from capture.cli import UserFacingError, check_output_folder
    from capture.run_lock import RunLockedError, run_lock

    if config.resolution < 8:
        raise PipelineError(f"--resolution: expected >= 8 grid samples, got {config.resolution}")
    if config.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise PipelineError("--device cuda: no CUDA device is available; use --device cpu")
    try:
        check_output_folder(config.out)
    except UserFacingError as error:
        raise PipelineError(str(error)) from None
    rig = load_rig(config.rig)
    method, model_path, note = choose_method(config)
    if model_path is not None:
        check_checkpoint(model_path, config.model)
    stages = stage_configs(rig, config)
    logger.info("reconstruct: %s", note)
    config.out.mkdir(parents=True, exist_ok=True)
    try:
        with run_lock(config.out, "capture reconstruct"):
            remove_stale_temporaries(config.out)
            inputs = input_fingerprint(rig)
            plain_config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
            run = RunRecord(config.out, plain_config, stages.describe(), _settings(config, method, model_path),
                            _versions(), inputs, force=config.force)  # fmt: skip
            result = RunResult(config.out, [], [], method, note, {})
            return _run_stages(rig, config, stages, run, result, model_path, task_function)
    except (RunLockedError, RunFolderError) as error:
        raise PipelineError(str(error)) from None


def _run_stages(rig: Rig, config: ReconstructConfig, stages: StageConfigs, run: RunRecord, result: RunResult,
                model_path: Path | None, task_function: Callable[[PersonFrameTask], PersonFrameResult]) -> RunResult:  # fmt: skip
    """Every stage in order, recorded in `run` and `result`; see reconstruct."""
    method = result.method

    def finish(name: str, record: StageRecord) -> None:
        result.stages[name] = record
        run.stage(name, record)
        logger.info("stage %s: %s in %.1f s (%d done, %d skipped)%s", name, record.status, record.seconds,
                    record.done, record.skipped, f"; {record.note}" if record.note else "")  # fmt: skip
        if record.status == "failed":
            run.update(status="failed", finished=now())
            raise PipelineError(f"stage {name} failed: {record.note}; finished work is kept in {config.out}, "
                                "rerun the same command to resume")  # fmt: skip

    def stage(name: str, work: Callable[[], StageRecord | tuple]):
        """Run, time and record one stage; any error becomes a PipelineError naming the stage (no deep traceback)."""
        try:
            record, extra = _timed(work)
        except KeyboardInterrupt:
            result.stages[name] = StageRecord("interrupted", note="interrupted (Ctrl-C)")
            run.stage(name, result.stages[name])
            raise
        except Exception as error:
            logger.debug("stage %s failed", name, exc_info=True)
            message = stage_error_message(name, error, config.out)
            result.stages[name] = StageRecord("failed", note=message)
            run.stage(name, result.stages[name])
            run.update(status="failed", finished=now())
            raise PipelineError(message) from error
        finish(name, record)
        return extra

    try:
        stage("keypoints", lambda: stage_keypoints(rig, config, stages.keypoints))
        stage("body", lambda: stage_body(rig, config, stages.body))
        frames = _body_frames(config.out, config)
        if not frames:
            raise PipelineError(f"{config.out / 'body'}: the body stage wrote no frame in --frames {config.frames}")
        people = frame_people(config.out, frames, config.people)
        result.frames = frames
        result.people = sorted({p for ids in people.values() for p in ids})
        if config.people is not None and set(config.people) - set(result.people):
            found = sorted({p for ids in frame_people(config.out, frames, None).values() for p in ids})
            raise PipelineError(f"--people: no track with id(s) {sorted(set(config.people) - set(result.people))} "
                                f"in the selected frames; tracks found: {found}")  # fmt: skip
        if not result.people:
            raise PipelineError(f"{config.out / 'body'}: nobody was found in frames {frames[0]}..{frames[-1]}")
        run.update(frames=frames, people=result.people)
        stage("segment", lambda: stage_segment(rig, config, stages.segment, frames))
        stage("implicit", lambda: stage_implicit(config, people, method, model_path, task_function))
        stage("fusion", lambda: stage_fusion(rig, config, stages.fusion, people))
        result.scene_meshes = stage("scene", lambda: stage_scene(config, people))
        from capture.report import write_report

        result.report = stage("report", lambda: write_report(rig, config, people, run))
    except KeyboardInterrupt:
        run.update(status="interrupted", finished=now())
        raise RunInterrupted(f"finished work is kept in {config.out} (run.json says interrupted); rerun the same "
                             "command to resume") from None  # fmt: skip
    except Exception:
        if run.document["status"] == "running":
            run.update(status="failed", finished=now())
        raise
    run.update(status="finished", finished=now(),
               outputs={"meshes": "meshes/", "fused": "fused/" if config.fusion else None, "scene": "scene/",
                        "report": "report/index.html"})  # fmt: skip
    return result
