"""`capture body`: 2D keypoints of every view -> people per frame -> tracks -> body fit over the sequence.

Writes ``RUN/body/<frame:06d>.json`` (docs/body-output.md) and, for one frame, an overlay per view of the fitted
bodies and triangulated skeletons: ``RUN/report/body/<camera>_<frame:06d>.png``. Frames already written are
skipped unless ``--force`` (the sequence is still associated, tracked and fitted as a whole, so the files
written now agree with those already there).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from calibration.progress import ProgressLog
from calibration.rig import FrameRange
from capture.commands import add_frames_argument

logger = logging.getLogger(__name__)

_COLOURS = ((255, 200, 0), (80, 80, 255), (80, 220, 80), (255, 0, 255), (0, 220, 255), (255, 128, 0))
"""Per person id, BGR."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "body", help="associate 2D keypoints across views, track people, fit a body model over the sequence"
    )
    parser.add_argument(
        "--rig", required=True, type=Path, help="rig.yaml (cameras; capture.keypoints if no --keypoints)"
    )
    parser.add_argument("--out", required=True, type=Path, help="run folder; writes RUN/body/<frame:06d>.json")
    parser.add_argument(
        "--keypoints", type=Path, default=None, help="keypoint folder with one sub-folder per camera (default: rig's)"
    )
    parser.add_argument(
        "--keypoint-format", default=None, choices=("openpose", "easymocap", "synthetic"),
        help="file format (default: the rig's capture.keypoint_format, else openpose)",
    )  # fmt: skip
    parser.add_argument(
        "--layout", default=None, help="keypoint layout of the files: body25, body25b, coco18, coco17, ... "
        "(default: the layout the files name, as this project's do; easymocap: body25; needed for OpenPose's own)",
    )  # fmt: skip
    parser.add_argument("--body-model", default="anny", choices=("anny", "smplx"), help="body model (default: anny)")
    parser.add_argument("--body-model-dir", default=None, help="SMPL-X model folder (or $MULTICAP_SMPLX_DIR)")
    add_frames_argument(parser, "frames to fit instead of the rig's frame range")
    parser.add_argument("--no-fit", action="store_true", help="only associate, triangulate and track (no body fit)")
    parser.add_argument("--fit-iterations", type=int, default=60, help="L-BFGS iterations of the full fit stage")
    parser.add_argument("--overlay-frame", type=int, default=None, help="frame drawn to RUN/report/body/ (default: "
                        "the first frame with the most people)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="rewrite frames whose JSON already exists")
    parser.set_defaults(func=run_body)


def _keypoint_folders(rig, keypoints: Path | None) -> list[Path]:
    from capture.cli import UserFacingError

    layout = rig.layout
    base = keypoints or (layout.keypoints if layout is not None else None)
    if base is None:
        raise UserFacingError(f"{rig.source}: no keypoints: pass --keypoints DIR or set capture.keypoints in the rig")
    if not Path(base).is_dir():
        raise UserFacingError(f"--keypoints: {base} is not a folder")
    return [Path(base) / (layout.camera_folder(name) if layout is not None else name) for name in rig.names]


def _select_frames(available: list[int], frames: FrameRange | None, rig, folders: list[Path]) -> list[int]:
    """The available frames inside `frames` (--frames; frames beyond the keypoint files are an error), else
    inside the rig's frame range, else all of them."""
    from capture.commands import select_frames

    if frames is not None:
        return select_frames(frames, available, f"the keypoint files ({folders[0].parent})")
    if rig.layout is None or not available:
        return available
    selected = set(rig.layout.frames.frames(available[-1] + 1))
    return [frame for frame in available if frame in selected]


def _associate_all(source, associator, frames: list[int]):
    """Per frame: detections (for the problems) and people."""
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
    return people, problems


def _frame_people(frame, tracks, fits, body, layout):
    """BodyPerson entries of one frame: triangulated keypoints where seen, the fitted body's elsewhere."""
    import numpy as np

    from body.capture_io import BodyPerson
    from body.params import BodyParams

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


def _background(rig, camera, frame: int):
    """The camera's image of ``frame`` (BGR) if the rig's capture has images/videos, else a dark canvas."""
    import cv2
    import numpy as np

    from body.detection.errors import DetectionError
    from body.detection.frames import read_camera_frames

    canvas = np.full((camera.height, camera.width, 3), 40, dtype=np.uint8)
    if rig.layout is None or (rig.layout.images is None and rig.layout.videos is None):
        return canvas
    try:
        for _, image in read_camera_frames(rig.layout, camera.name, [frame]):
            height, width = min(image.shape[0], camera.height), min(image.shape[1], camera.width)
            canvas[:height, :width] = cv2.cvtColor(image[:height, :width], cv2.COLOR_RGB2BGR)
    except DetectionError as error:
        logger.warning("overlay: no image for camera %s frame %d (%s)", camera.name, frame, error)
    return canvas


def write_overlays(rig, frame: int, people, body, out: Path) -> list[Path]:
    """Per view: the fitted body meshes (rendered, blended) and the keypoint skeletons with ids over the image."""
    import cv2
    import numpy as np
    import torch

    from body.keypoint_layouts import get_layout
    from calibration.atomic import write_png

    meshes, colours = [], []
    if body is not None:
        from render import Mesh

        for person in people:
            if person.params is not None:
                with torch.no_grad():
                    output = body(person.params.to(dtype=body.dtype))
                colour = np.asarray(_COLOURS[person.id % len(_COLOURS)][::-1], dtype=np.float64) / 255.0
                meshes.append(Mesh(output.vertices.double().numpy(), output.faces.numpy(),
                                   colors=np.tile(colour, (output.vertices.shape[0], 1))))  # fmt: skip
    paths = []
    for camera in rig:
        canvas = _background(rig, camera, frame)
        if meshes:
            from render import render

            rendered = render(meshes, [camera])
            mask = rendered.mask[0]
            rgb = (rendered.rgb[0][..., ::-1] * 255.0).astype(np.float32)
            canvas[mask] = (0.45 * canvas[mask] + 0.55 * rgb[mask]).astype(np.uint8)
        thickness = max(1, round(max(canvas.shape[:2]) / 500))
        for person in people:
            colour = _COLOURS[person.id % len(_COLOURS)]
            pixels = camera.project(person.keypoints)
            seen = person.confidence > 0
            points = np.round(pixels).astype(int)
            for a, b in get_layout(person.layout).edges:
                if seen[a] and seen[b]:
                    cv2.line(canvas, tuple(points[a]), tuple(points[b]), colour, thickness, cv2.LINE_AA)
            if seen.any():
                x, y = points[seen].min(0)
                cv2.putText(canvas, f"id {person.id}", (int(x), max(int(y) - 8, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                            0.5 * thickness, colour, thickness)  # fmt: skip
        path = out / "report" / "body" / f"{camera.name}_{frame:06d}.png"
        write_png(path, canvas)
        paths.append(path)
    return paths


def run_body(args: argparse.Namespace) -> int:
    from body import create_body
    from body.association import Associator
    from body.capture_io import body_frame_path, finished_frames, write_body_frame
    from body.detection.errors import DetectionError
    from body.errors import BodyModelError
    from body.fitting import FitConfig, max_evaluations
    from body.keypoint_io import KeypointSource
    from body.sequence_fit import SequenceFitConfig, fit_tracks
    from body.tracking import track_people
    from calibration.rig_file import load_rig
    from capture.cli import UserFacingError

    rig = load_rig(args.rig)
    layout_info = rig.layout
    keypoint_format = args.keypoint_format or (layout_info.keypoint_format if layout_info else None) or "openpose"
    try:
        source = KeypointSource(_keypoint_folders(rig, args.keypoints), keypoint_format, args.layout)
    except DetectionError as error:
        raise UserFacingError(str(error)) from error
    frames = _select_frames(source.frames(), args.frames, rig, source.folders)
    if not frames:
        raise UserFacingError(f"no keypoint files for the selected frames in {', '.join(map(str, source.folders))}")
    done = finished_frames(args.out)
    todo = [frame for frame in frames if args.force or frame not in done]
    overlay_missing = not list((args.out / "report" / "body").glob("*.png"))
    if not todo and not overlay_missing:
        print(f"all {len(frames)} frames already in {args.out / 'body'}; nothing to do (--force to redo)")
        return 0
    logger.info("body: %d frames (%d to write), %d cameras, layout %s, format %s", len(frames), len(todo), len(rig),
                source.layout, keypoint_format)  # fmt: skip

    start = time.perf_counter()
    people, problems = _associate_all(source, Associator(list(rig), source.layout), frames)
    association_s = time.perf_counter() - start
    tracks = track_people(frames, people)
    logger.info("body: %d tracks (ids %s)", len(tracks), [t.id for t in tracks])
    body, fits = None, []
    if not args.no_fit and tracks:
        try:
            body = create_body(args.body_model, args.body_model_dir)
            config = SequenceFitConfig(fit=FitConfig(global_iterations=30, iterations=args.fit_iterations))
            progress = ProgressLog("body: fit", max_evaluations(config.fit), "evaluations")
            fits = fit_tracks(body, tracks, frames, list(rig), source.layout, config, progress.step)
            progress.close()
        except BodyModelError as error:
            raise UserFacingError(str(error)) from error
    fit_s = time.perf_counter() - start - association_s

    entries = {frame: _frame_people(frame, tracks, fits, body, source.layout) for frame in frames}
    for frame, frame_problems in zip(frames, problems):
        if frame in todo:
            write_body_frame(args.out, frame, entries[frame], frame_problems)
    flagged = sum(1 for frame_problems in problems if frame_problems)
    overlay = args.overlay_frame
    if overlay is None:
        overlay = max(frames, key=lambda f: (len(entries[f]), -f))
    if overlay not in entries:
        raise UserFacingError(f"--overlay-frame {overlay}: not among the selected frames {frames[0]}..{frames[-1]}")
    overlays = write_overlays(rig, overlay, entries[overlay], body, args.out)
    print(f"wrote {len(todo)} frames to {body_frame_path(args.out, todo[0] if todo else frames[0]).parent} "
          f"({len(frames) - len(todo)} already there); {len(tracks)} people; {flagged} frames flagged with input "
          f"problems (see each file's 'problems'); association {len(frames) / max(association_s, 1e-9):.1f} frames/s, "
          f"fit {fit_s:.1f} s")  # fmt: skip
    print(f"overlays: {overlays[0].parent} ({len(overlays)} views, frame {overlay})")
    return 0
