"""RUN/report/index.html: how well the reconstruction explains the input, per frame and view, and the timings.

Per reported frame (at most `report_frames`, evenly spread over the run) and per view:
    - an overlay PNG (report/frames/<frame:06d>_<cam>.png): the camera image, the reconstruction's silhouette
      tinted per person, the fitted bodies' outlines (white);
    - the silhouette IoU of the reconstruction (all selected people, rendered with the project's rasterizer)
      against the segmentation's masks, and per person (rendered person p, z-buffered, vs label 1 + p).
      A label-free quality figure: IoU below LOW_IOU is flagged.
    - the silhouette IoU of each person's fitted body (rendered z-buffered like the reconstruction) against its
      label, "body <id>": how well the body fit follows the images (a naked body in clothes scores a little
      lower); below LOW_IOU it is flagged too.
A person of the run without a mesh in a frame (not tracked there, or an empty reconstruction) is flagged too.
The numbers are also written to report/iou.json: {"frames": {frame: {camera: {"all": iou, "<id>": iou,
"body <id>": iou}}},
"missing": {frame: {"<id>": why}}} (missing: every frame of the run, not only the drawn ones).
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import cv2
import numpy as np

from calibration.atomic import atomic_write_text, write_png
from calibration.rig import Rig
from calibration.run_layout import RunLayout
from capture.run_record import RunRecord, StageRecord

logger = logging.getLogger(__name__)

LOW_IOU = 0.7
"""Silhouette IoU below this is flagged in the report."""
COLOURS = ((255, 170, 0), (60, 90, 255), (60, 200, 60), (230, 60, 230), (0, 200, 230), (255, 110, 40))
"""Per person (track id modulo 6), RGB."""


def silhouette_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (H, W) bool masks; 1.0 when both are empty."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def report_frames(frames: list[int], count: int) -> list[int]:
    """At most `count` frames evenly spread over `frames` (first and last included)."""
    if len(frames) <= count:
        return list(frames)
    return [frames[int(round(i))] for i in np.linspace(0, len(frames) - 1, count)]


def _body_meshes(run_dir: Path, frame: int, ids: list[int]) -> tuple[list[int], list]:
    """The ids and meshes of the fitted bodies of ``ids`` in ``frame``."""
    from segmentation.run import fitted_body_meshes

    body_ids, meshes = fitted_body_meshes(RunLayout(run_dir), frame)
    kept = [(person, mesh) for person, mesh in zip(body_ids, meshes) if person in ids]
    return [person for person, _ in kept], [mesh for _, mesh in kept]


def _overlay(image: np.ndarray, instance: np.ndarray, ids: list[int], bodies: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB: image darkened, person p's reconstruction tinted, body outlines white."""
    canvas = (0.6 * image).astype(np.float32)
    for index, person in enumerate(ids):
        mask = instance == index
        colour = np.asarray(COLOURS[person % len(COLOURS)], np.float32)
        canvas[mask] = 0.45 * canvas[mask] + 0.55 * colour
    canvas = canvas.astype(np.uint8)
    if bodies.any():
        contours, _ = cv2.findContours(bodies.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, (255, 255, 255), max(1, round(max(canvas.shape[:2]) / 400)))
    return canvas


def frame_ious(rig: Rig, run_dir: Path, frame: int, ids: list[int], fusion: bool) -> dict:
    """{camera: {"all": IoU, "<id>": IoU}} of one frame; writes its overlays to report/frames/."""
    from capture.person_frame import read_images, read_labels
    from render import load_mesh, render_views

    run = RunLayout(run_dir)
    paths = {p: run.final_mesh_file(frame, p, fusion) for p in ids}
    present = [p for p in ids if paths[p].is_file()]
    meshes = [load_mesh(paths[p]) for p in present]
    labels = read_labels(rig, run_dir, frame)
    cameras = list(rig)
    instance = render_views(meshes, cameras, "instance_id") if meshes else None
    body_ids, bodies = _body_meshes(run_dir, frame, ids)
    body_instance = render_views(bodies, cameras, "instance_id") if bodies else None
    images = read_images(rig, frame)
    result = {}
    for v, camera in enumerate(cameras):
        label = labels[v].astype(np.int64)
        wanted = np.isin(label, [p + 1 for p in ids])
        rendered = instance[v] if meshes else np.full(label.shape, -1)
        scores = {"all": silhouette_iou(rendered >= 0, wanted)}
        for index, person in enumerate(present):
            scores[str(person)] = silhouette_iou(rendered == index, label == person + 1)
        for index, person in enumerate(body_ids):
            scores[f"body {person}"] = silhouette_iou(body_instance[v] == index, label == person + 1)
        result[camera.name] = scores
        body = body_instance[v] >= 0 if body_instance is not None else np.zeros(label.shape, bool)
        picture = _overlay(images[v], rendered, present, body)
        write_png(run.report_dir / "frames" / f"{frame:06d}_{camera.name}.png", picture[..., ::-1])
    return result


def missing_people(run_dir: Path, frame: int, ids: list[int], everyone: list[int], fusion: bool) -> dict[str, str]:
    """{person: why} for the run's people without a mesh in `frame`: not tracked there (left the rig, hidden)
    or tracked but reconstructed empty (nobody in the masks at the body's place)."""
    run, missing = RunLayout(run_dir), {}
    for person in everyone:
        if person not in ids:
            missing[str(person)] = "not tracked in this frame (left the rig or not seen)"
        elif run.empty_marker(frame, person).is_file():
            missing[str(person)] = "empty reconstruction (not in the masks)"
        elif not run.final_mesh_file(frame, person, fusion).is_file():
            missing[str(person)] = "no mesh"
    return missing


def _cell(value: float) -> str:
    flag = ' class="low" title="low: below %.2f"' % LOW_IOU if value < LOW_IOU else ""
    return f"<td{flag}>{value:.3f}</td>"


def _stage_rows(record: RunRecord) -> str:
    earlier = record.earlier_seconds()
    rows = []
    for name, stage in record.stage_records().items():
        note = stage.note
        if stage.status == "skipped" and name in earlier:
            note = "; ".join(part for part in (f"done by an earlier run in {earlier[name]:.1f} s", note) if part)
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(stage.status)}</td>"
                    f"<td>{stage.seconds:.1f}</td><td>{stage.done}</td><td>{stage.skipped}</td>"
                    f"<td>{html.escape(note)}</td></tr>")  # fmt: skip
    return "".join(rows)


def _html(rig: Rig, record: RunRecord, people: list[int], ious: dict, missing: dict) -> str:
    config, frames = record.config, record.frames
    span = f"{frames[0]}..{frames[-1]} ({len(frames)})" if frames else "none"
    low = sum(1 for frame in ious.values() for scores in frame.values() if scores["all"] < LOW_IOU)
    low_bodies = low_body_views(ious)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>capture reconstruct report</title><style>",
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:0.5em 0}"
        "td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}td:first-child,table.timings td:last-child,table.timings th:last-child{text-align:left}td.low,p.low{background:#f8b4b4;font-weight:bold}"
        ".views{display:flex;flex-wrap:wrap;gap:6px}.views figure{margin:0}.views img{width:240px}"
        "figcaption{font-size:80%;text-align:center}</style></head><body>",
        "<h1>Reconstruction report</h1>",
        f"<p>Rig <code>{html.escape(str(config.get('rig')))}</code>, run <code>{html.escape(str(config.get('out')))}</code>; "
        f"method <b>{html.escape(str(record.method))}</b>; {len(rig)} views; "
        f"people {people}; frames {span}.</p>",
        f"<p>Silhouette IoU of the reconstruction against the segmentation's masks, per view (all people) and per "
        f"person; cells below {LOW_IOU} are <span style='background:#f8b4b4'>flagged</span> ({low} view(s) of "
        f"{sum(len(f) for f in ious.values())}). Overlays: reconstruction tinted per person, fitted bodies outlined "
        "in white. Columns <i>body p</i>: the fitted body's silhouette against person p's mask "
        f"({len(low_bodies)} person-view(s) below {LOW_IOU}).</p>",
        "<h2>Timings</h2><table class='timings'><tr><th>stage</th><th>status</th><th>seconds</th><th>done</th><th>skipped</th>"
        f"<th>note</th></tr>{_stage_rows(record)}</table>",
    ]  # fmt: skip
    for frame, scores in ious.items():
        parts.append(f"<h2>Frame {frame}</h2><table><tr><th>view</th><th>all</th>"
                     + "".join(f"<th>person {p}</th>" for p in people)
                     + "".join(f"<th>body {p}</th>" for p in people) + "</tr>")  # fmt: skip
        for camera, values in scores.items():
            keys = [str(p) for p in people] + [f"body {p}" for p in people]
            cells = "".join(_cell(values[key]) if key in values else "<td>-</td>" for key in keys)
            parts.append(f"<tr><td>{html.escape(camera)}</td>{_cell(values['all'])}{cells}</tr>")
        parts.append("</table>")
        for person, why in missing[frame].items():
            parts.append(f"<p class='low'>Person {person}: {html.escape(why)}.</p>")
        parts.append("<div class='views'>")
        for camera, values in scores.items():
            parts.append(f"<figure><img src='frames/{frame:06d}_{html.escape(camera)}.png' alt='{html.escape(camera)}'>"
                         f"<figcaption>{html.escape(camera)}: IoU {values['all']:.3f}</figcaption></figure>")  # fmt: skip
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def low_body_views(ious: dict) -> list[str]:
    """"frame <f> <camera> body <id>" for every fitted body whose silhouette IoU is below LOW_IOU."""
    return [f"frame {frame} {camera} {key}" for frame, views in ious.items() for camera, scores in views.items()
            for key, value in scores.items() if key.startswith("body ") and value < LOW_IOU]  # fmt: skip


def write_report(rig: Rig, config, people: dict[int, list[int]], record: RunRecord) -> tuple[StageRecord, Path]:
    """Write RUN/report/index.html and iou.json for the run (module docstring); returns (StageRecord, path)."""
    run_dir = Path(config.out)
    frames = sorted(people)
    drawn = report_frames(frames, config.report_frames)
    ious = {frame: frame_ious(rig, run_dir, frame, people[frame], config.fusion) for frame in drawn}
    everyone = sorted({p for ids in people.values() for p in ids})
    missing = {frame: missing_people(run_dir, frame, people[frame], everyone, config.fusion) for frame in frames}
    missing = {frame: why for frame, why in missing.items() if why}
    out = RunLayout(run_dir).report_dir
    atomic_write_text(out / "iou.json", json.dumps({"low_iou": LOW_IOU, "frames": {str(f): v for f, v in ious.items()},
                                                    "missing": {str(f): v for f, v in missing.items()}}, indent=1))  # fmt: skip
    atomic_write_text(out / "index.html", _html(rig, record, everyone, ious, {f: missing.get(f, {}) for f in drawn}))
    low = sum(1 for frame in ious.values() for scores in frame.values() if scores["all"] < LOW_IOU)
    mean = float(np.mean([s["all"] for frame in ious.values() for s in frame.values()])) if ious else float("nan")
    note = f"mean silhouette IoU {mean:.3f}, {low} view(s) flagged"
    low_bodies = low_body_views(ious)
    if low_bodies:
        note += f"; fitted body below {LOW_IOU} IoU in {len(low_bodies)} person-view(s)"
        more = f" and {len(low_bodies) - 10} more" if len(low_bodies) > 10 else ""
        logger.warning("fitted body vs mask IoU below %.2f: %s%s", LOW_IOU, ", ".join(low_bodies[:10]), more)
    if missing:
        note += "; person missing in frame(s) " + ", ".join(str(f) for f in missing)
    return StageRecord("done", done=len(drawn), note=note), out / "index.html"
