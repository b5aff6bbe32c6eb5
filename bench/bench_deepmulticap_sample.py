"""Real-data check on the DeepMultiCap sample (fetched by the user, never committed): `capture reconstruct` on the
authors' two scanned people (4 renders of 512 x 512), scored against the authors' per-person masks and SMPL-X fits.
Writes the `## DeepMultiCap sample` section of docs/BENCHMARKS.md and docs/deepmulticap_overlay.png.

    git clone --depth 1 https://github.com/DSaurus/DeepMultiCap /tmp/DeepMultiCap
    .venv/bin/python bench/bench_deepmulticap_sample.py /tmp/DeepMultiCap/dataset/multihuman --work /tmp/dmc \
        [--regimes fitted,images] [--resolution 256] [--no-doc]

The sample: img/<subject>/<view>.jpg (the same renders for both subjects), mask/<subject>/<view>.jpg (each
person's visible part), parameter/ (cameras, `capture rig import --format deepmulticap`), smplx/<subject>/smplx.obj
(the authors' SMPL-X fit as a mesh, in their world: mapped with `to_rig_world`, the import's x mirror).

Regimes: "fitted": the capture gives the union of the authors' masks, keypoints detected by BlazePose; "images": no
masks (the segmentation finds the people from the images and the fitted bodies). Per regime and person:
    people found: tracks fitted by the body stage (2 expected), matched to the subjects by centroid (Hungarian);
    body to SMPL-X: mean surface distance in cm, both directions and their mean (Chamfer), no scaling;
    silhouette IoU per view: the reconstructed meshes rendered together (z-buffered), person p's pixels against
        the authors' mask of p (the same for our fitted bodies and, as their reference, the authors' SMPL-X fits);
    connectivity: the share of the mesh's area in its largest connected component.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import write_section  # noqa: E402
from calibration.formats import import_rig  # noqa: E402
from calibration.formats.deepmulticap import to_rig_world  # noqa: E402
from calibration.rig import Rig  # noqa: E402
from calibration.rig_file import load_rig, save_rig  # noqa: E402
from calibration.run_layout import RunLayout  # noqa: E402
from capture.report import COLOURS, silhouette_iou  # noqa: E402
from multihuman_eval.metrics import SurfaceMetricsConfig, evaluate_surface, gt_height  # noqa: E402
from render import Mesh, load_mesh, render  # noqa: E402
from segmentation.run import fitted_body_meshes  # noqa: E402

HEADING = "## DeepMultiCap sample"
PICTURE = ROOT / "docs" / "deepmulticap_overlay.png"
UP = (0.0, 1.0, 0.0)
"""The authors' world is y-up (the x mirror of the import keeps y)."""
FRAME = 0
BODY_TARGET_CM, IOU_TARGET, CONNECTED_TARGET = 3.0, 0.90, 0.99
"""Targets: body-to-SMPL-X Chamfer (cm), silhouette IoU per person-view, share of area in the largest component."""
REGIMES = {"fitted": "masks given (union of the authors' masks), BlazePose keypoints",
           "images": "no masks: segmentation from the images and the fitted bodies, BlazePose keypoints"}


@dataclass
class PersonScore:
    """Figures of one subject in one regime (NaN where the person was not found)."""

    subject: str
    track: int | None
    body_to_smplx_cm: tuple[float, float, float]  # (Chamfer, ours -> SMPL-X, SMPL-X -> ours)
    mesh_iou: list[float]  # per view
    body_iou: list[float]  # per view
    smplx_iou: list[float]  # per view: the authors' fit, the reference for body_iou
    largest_component_share: float


def subjects(dataset: Path) -> list[str]:
    """The sample's subjects (folders of smplx/), sorted."""
    names = sorted(path.parent.name for path in (dataset / "smplx").glob("*/smplx.obj"))
    if not names:
        raise SystemExit(f"{dataset}: expected smplx/<subject>/smplx.obj (the DeepMultiCap dataset/multihuman folder)")
    return names


def authors_mask(dataset: Path, subject: str, view: str) -> np.ndarray:
    """(H, W) bool: the subject's visible part in the view (the JPEG thresholded at half)."""
    return cv2.imread(str(dataset / "mask" / subject / f"{view}.jpg"), cv2.IMREAD_GRAYSCALE) > 127


def authors_fit(dataset: Path, subject: str) -> Mesh:
    """The authors' SMPL-X fit in the rig's world (x mirrored, faces reversed to stay outward)."""
    mesh = load_mesh(dataset / "smplx" / subject / "smplx.obj")
    return Mesh(to_rig_world(mesh.vertices), mesh.faces[:, ::-1])


def lay_out_capture(dataset: Path, folder: Path, with_masks: bool) -> Path:
    """A capture folder: rig.yaml (imported), images/<cam>/000000.png, masks/<cam>/000000.png (label 1 + subject
    index, when `with_masks`). Returns the rig file; an existing one is kept as it is, so a rerun resumes the run."""
    path = folder / "rig.yaml"
    if path.is_file():
        return path
    rig = import_rig("deepmulticap", [dataset])
    names = subjects(dataset)
    for camera in rig.cameras:
        image = cv2.imread(str(dataset / "img" / names[0] / f"{camera.name}.jpg"))
        (folder / "images" / camera.name).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / "images" / camera.name / f"{FRAME:06d}.png"), image)
        if with_masks:
            labels = np.zeros(image.shape[:2], np.uint8)
            for index, subject in enumerate(names):
                labels[authors_mask(dataset, subject, camera.name)] = index + 1
            (folder / "masks" / camera.name).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / "masks" / camera.name / f"{FRAME:06d}.png"), labels)
    save_rig(rig, path)
    capture = "capture:\n  images: images\n" + ("  masks: masks\n" if with_masks else "") + "  frames: [0, 1]\n"
    path.write_text(path.read_text() + capture)
    return path


def reconstruct(rig_path: Path, run: Path, resolution: int) -> float:
    """`capture reconstruct` in a child process; returns its wall time in seconds."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "capture", "reconstruct", "--rig", str(rig_path), "--out", str(run),
               "--resolution", str(resolution)]
    subprocess.run(command, check=True, cwd=ROOT)
    return time.perf_counter() - start


def largest_component_share(mesh: Mesh) -> float:
    """Share of the mesh's area in its largest connected component (faces joined by shared vertices)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    faces = mesh.faces
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(mesh.num_vertices,) * 2)
    _, labels = connected_components(graph, directed=False)
    corners = mesh.vertices[faces]
    areas = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    per_component = np.bincount(labels[faces[:, 0]], weights=areas)
    return float(per_component.max() / per_component.sum())


def match_tracks(bodies: list[Mesh], fits: list[Mesh]) -> dict[int, int]:
    """{subject index: body index}, by the distance between vertex centroids (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    cost = np.array([[np.linalg.norm(body.vertices.mean(0) - fit.vertices.mean(0)) for body in bodies] for fit in fits])
    rows, cols = linear_sum_assignment(cost)
    return dict(zip(rows.tolist(), cols.tolist()))


def surface_cm(ours: Mesh, theirs: Mesh) -> tuple[float, float, float]:
    """(Chamfer, ours -> theirs, theirs -> ours) mean surface distances in cm, unscaled (the scale factor is 1)."""
    config = SurfaceMetricsConfig(target_height_m=gt_height(theirs, UP), up=UP)
    metrics = evaluate_surface(ours, theirs, config)
    return metrics.chamfer_cm, metrics.p2s_rec_to_gt_cm, metrics.p2s_gt_to_rec_cm


def score_run(dataset: Path, rig: Rig, run: Path) -> tuple[list[PersonScore], int, dict]:
    """Per-subject figures of one run, the number of people fitted, and what the overlay needs."""
    names = subjects(dataset)
    fits = [authors_fit(dataset, subject) for subject in names]
    track_ids, bodies = fitted_body_meshes(RunLayout(run), FRAME)
    matched = match_tracks(bodies, fits) if bodies else {}
    cameras = list(rig)
    tracks = [track_ids[matched[s]] if s in matched else None for s in range(len(names))]
    mesh_paths = [RunLayout(run).final_mesh_file(FRAME, track, True) if track is not None else None for track in tracks]
    meshes = [load_mesh(path) if path is not None and path.is_file() else None for path in mesh_paths]
    present = [s for s, mesh in enumerate(meshes) if mesh is not None]
    mesh_render = render([meshes[s] for s in present], cameras).instance_id if present else None
    body_order = [s for s in range(len(names)) if s in matched]
    body_render = render([bodies[matched[s]] for s in body_order], cameras).instance_id if body_order else None
    fit_render = render(fits, cameras).instance_id
    scores = []
    for s, subject in enumerate(names):
        truth = [authors_mask(dataset, subject, camera.name) for camera in cameras]
        mesh_iou = [silhouette_iou(mesh_render[v] == present.index(s), truth[v]) if s in present else float("nan")
                    for v in range(len(cameras))]
        body_iou = [silhouette_iou(body_render[v] == body_order.index(s), truth[v]) if s in matched else float("nan")
                    for v in range(len(cameras))]
        scores.append(PersonScore(
            subject=subject,
            track=tracks[s],
            body_to_smplx_cm=surface_cm(bodies[matched[s]], fits[s]) if s in matched else (float("nan"),) * 3,
            mesh_iou=mesh_iou,
            body_iou=body_iou,
            smplx_iou=[silhouette_iou(fit_render[v] == s, truth[v]) for v in range(len(cameras))],
            largest_component_share=largest_component_share(meshes[s]) if s in present else float("nan"),
        ))
    drawing = {"mesh": mesh_render, "present": present, "bodies": [bodies[matched[s]] for s in body_order],
               "fits": fits}
    return scores, len(bodies), drawing


def overlay(dataset: Path, rig: Rig, drawing: dict, path: Path) -> None:
    """One row per view set: the image with each person's mesh tinted, our fitted bodies outlined white and the
    authors' SMPL-X fits outlined yellow; the views side by side."""
    cameras = list(rig)
    names = subjects(dataset)
    body_masks = render(drawing["bodies"], cameras).mask if drawing["bodies"] else None
    fit_masks = render(drawing["fits"], cameras).mask
    tiles = []
    for v, camera in enumerate(cameras):
        image = cv2.imread(str(dataset / "img" / names[0] / f"{camera.name}.jpg")).astype(np.float32)
        canvas = 0.6 * image
        if drawing["mesh"] is not None:
            for index, subject_index in enumerate(drawing["present"]):
                mask = drawing["mesh"][v] == index
                colour = np.asarray(COLOURS[subject_index % len(COLOURS)][::-1], np.float32)  # RGB -> BGR
                canvas[mask] = 0.45 * canvas[mask] + 0.55 * colour
        canvas = canvas.astype(np.uint8)
        outlines = [(fit_masks[v], (0, 230, 255))]
        if body_masks is not None:
            outlines.append((body_masks[v], (255, 255, 255)))
        for mask, colour in outlines:
            contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(canvas, contours, -1, colour, 1)
        cv2.putText(canvas, f"view {camera.name}", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        tiles.append(canvas)
    sheet = np.hstack(tiles)
    cv2.imwrite(str(path), cv2.resize(sheet, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA))


def fmt(value: float, digits: int = 2) -> str:
    return "-" if not np.isfinite(value) else f"{value:.{digits}f}"


def targets(scores: list[PersonScore]) -> str:
    """The figures against the targets: body within 3 cm, IoU >= 0.90 per person-view, one connected mesh."""
    chamfers = [score.body_to_smplx_cm[0] for score in scores]
    ious = [iou for score in scores for iou in score.mesh_iou]
    connected = [score.largest_component_share for score in scores]
    return (
        f"Targets: fitted body within {BODY_TARGET_CM:g} cm (Chamfer) of the SMPL-X fit: "
        f"{sum(c <= BODY_TARGET_CM for c in chamfers)} of {len(scores)} people; mesh IoU >= {IOU_TARGET:.2f}: "
        f"{sum(i >= IOU_TARGET for i in ious)} of {len(ious)} person-views (min {fmt(np.nanmin(ious), 3)}); "
        f"one connected mesh (>= {100 * CONNECTED_TARGET:g} % of the area in one component): "
        f"{sum(c >= CONNECTED_TARGET for c in connected)} of {len(scores)} people."
    )


def section(results: dict, views: list[str], resolution: int, command: str) -> str:
    lines = [
        HEADING,
        "",
        f"Command: `{command}` (the sample is `dataset/multihuman` of github.com/DSaurus/DeepMultiCap, fetched by the "
        "user; never committed). Two real scanned people rendered in 4 views of 512 x 512; rig from "
        "`capture rig import --format deepmulticap` (world mirrored in x, docs/rig-import.md); one frame; "
        f"`capture reconstruct --resolution {resolution}` with its defaults otherwise (shipped `small` network, "
        f"fusion on). Machine: {platform.machine()} 2-core CPU, no GPU, shared with other jobs. Date: {date.today()}.",
        "",
        "Body to SMPL-X: our fitted body (Anny) against the authors' SMPL-X fit (mirrored like the rig), mean surface "
        "distance in cm without any scaling (Chamfer = mean of both directions). IoU: the person's pixels of the "
        "meshes rendered together (z-buffered) against the authors' mask of that person (its visible part); the same "
        "for our fitted bodies and for the authors' SMPL-X fits (what a well-fitted minimally clothed body reaches). "
        "Connectivity: share of the mesh's area in its largest connected component.",
        "",
    ]
    for regime, result in results.items():
        stages = ", ".join(f"{name} {seconds:.0f}" for name, seconds in result["stages"].items())
        lines += [f"Regime \"{regime}\" ({REGIMES[regime]}): people found {result['found']} of "
                  f"{len(result['scores'])}; reconstruct {result['seconds']:.0f} s wall (stages, s: {stages}); "
                  f"keypoints: {result['keypoints_note']}.", ""]
        lines.append("| person (track) | body to SMPL-X: Chamfer / ours->SMPL-X / SMPL-X->ours (cm) | mesh IoU "
                     + " / ".join(views) + " | body IoU " + " / ".join(views) + " | SMPL-X fit IoU "
                     + " / ".join(views) + " | area in largest component |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for score in result["scores"]:
            track = "not found" if score.track is None else str(score.track)
            lines.append(
                f"| {score.subject} ({track}) | " + " / ".join(fmt(x) for x in score.body_to_smplx_cm)
                + " | " + " / ".join(fmt(x, 3) for x in score.mesh_iou)
                + " | " + " / ".join(fmt(x, 3) for x in score.body_iou)
                + " | " + " / ".join(fmt(x, 3) for x in score.smplx_iou)
                + f" | {fmt(100 * score.largest_component_share, 1)} % |"
            )
        lines += ["", targets(result["scores"]), ""]
    lines += [
        f"![DeepMultiCap sample, regime \"{next(iter(results))}\"](deepmulticap_overlay.png)",
        "",
        "Overlay (`docs/deepmulticap_overlay.png`, first regime): the reconstructed meshes tinted per person, our "
        "fitted bodies outlined white, the authors' SMPL-X fits outlined yellow.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="the sample: DeepMultiCap's dataset/multihuman folder")
    parser.add_argument("--work", type=Path, required=True, help="folder for the captures and runs (outside the repo)")
    parser.add_argument("--regimes", default="fitted", help="comma-separated: fitted, images")
    parser.add_argument("--resolution", type=int, default=256, help="capture reconstruct --resolution")
    parser.add_argument("--no-doc", action="store_true", help="print the section, leave docs/ alone")
    args = parser.parse_args()
    regimes = [name.strip() for name in args.regimes.split(",")]
    unknown = [name for name in regimes if name not in REGIMES]
    if unknown:
        parser.error(f"--regimes: unknown {unknown}; expected some of {', '.join(REGIMES)}")
    results = {}
    for regime in regimes:
        folder = args.work / regime
        rig_path = lay_out_capture(args.dataset, folder / "capture", with_masks=regime == "fitted")
        seconds = reconstruct(rig_path, folder / "run", args.resolution)
        rig = load_rig(rig_path)
        scores, found, drawing = score_run(args.dataset, rig, folder / "run")
        record = json.loads((folder / "run" / "run.json").read_text())
        results[regime] = {"scores": scores, "found": found, "seconds": seconds,
                           "stages": {name: stage["seconds"] for name, stage in record["stages"].items()},
                           "keypoints_note": record["stages"]["keypoints"]["note"]}
        (folder / "scores.json").write_text(json.dumps({**results[regime], "scores": [vars(s) for s in scores]},
                                                       indent=1))
        if regime == regimes[0] and not args.no_doc:
            overlay(args.dataset, rig, drawing, PICTURE)
    views = [camera.name for camera in load_rig(args.work / regimes[0] / "capture" / "rig.yaml")]
    command = "bench/bench_deepmulticap_sample.py DATASET --work DIR " + f"--regimes {','.join(regimes)}"
    text = section(results, views, args.resolution, f".venv/bin/python {command}")
    print(text)
    if not args.no_doc:
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
