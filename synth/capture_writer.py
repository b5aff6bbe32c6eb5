"""Render a synthetic scene into a capture folder in the project's own layout, with all ground truth.

Layout and encodings: docs/synth.md. In short::

    DIR/rig.yaml                               cameras + capture: section (images, masks, keypoints, frames, fps)
    DIR/images/<cam>/<frame:06d>.png           RGB render (headlight + ambient)
    DIR/masks/<cam>/<frame:06d>.png            uint8 labels: 0 background, 1 + person id, OBJECT_LABEL objects
    DIR/keypoints/<cam>/<frame:06d>.json       OpenPose JSON, BODY_25, projected ground truth
    DIR/gt/meshes/<frame:06d>/person_<id>.ply  posed clothed watertight meshes with colours, world metres
    DIR/gt/objects/object_<k>.ply              static props, world metres
    DIR/gt/body_params.json                    body parameters (P, T) (docs/body-params.md)
    DIR/gt/keypoints3d/<frame:06d>.json        BODY_25 3D keypoints per person, world metres
    DIR/gt/depth/<cam>/<frame:06d>.png         uint16 camera z in millimetres, 0 where empty
    DIR/gt/normals/<cam>/<frame:06d>.npz       'normal' (H, W, 3) float16 camera-frame unit normals, 0 where empty
    DIR/gt/instances/<cam>/<frame:06d>.png     uint16: 0 background, 1 + person id, OBJECT_INSTANCE_BASE + k
    DIR/gt/scene.json                          category, seed, people (shape, outfit, presence), objects, encodings

2D keypoint confidence: 1 where the joint is visible (its camera depth is within VISIBILITY_TOLERANCE of the
rendered depth at its pixel, or the pixel is empty), OCCLUDED_CONFIDENCE where something is in front, 0 (and
position 0, 0) outside the image or for BODY_25 joints the body model lacks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from body.detection.openpose_json import people_to_openpose
from body.detection.people import PersonKeypoints
from calibration.atomic import atomic_path, atomic_write_text, write_png
from calibration.progress import ProgressLog
from calibration.rig import CaptureLayout, FrameRange, Rig
from calibration.rig_file import save_rig
from render import RenderOutput, RenderSettings, render, save_mesh
from synth.scene import Scene


OBJECT_LABEL = 255
"""Value of object pixels in masks/ label maps."""
OBJECT_INSTANCE_BASE = 1000
"""gt/instances value of object k: OBJECT_INSTANCE_BASE + k."""
OCCLUDED_CONFIDENCE = 0.3
"""2D keypoint confidence of a joint hidden behind something."""
VISIBILITY_TOLERANCE = 0.15
"""Metres a joint may lie behind the rendered surface at its pixel and still count as visible (joints are
inside the body, under the clothes)."""
KEYPOINT_LAYOUT = "body25"
RENDER_SETTINGS = RenderSettings(ambient=0.35, background=(0.0, 0.0, 0.0))


def frame_name(frame: int) -> str:
    return f"{frame:06d}"


def keypoint_confidence(pixels: np.ndarray, depth: np.ndarray, available: np.ndarray, rendered_depth: np.ndarray) -> np.ndarray:
    """(K,) confidences of keypoints at `pixels` (K, 2) with camera depth (K,) against a view's depth (H, W).

    1 visible, OCCLUDED_CONFIDENCE behind something, 0 outside the image, behind the camera or unavailable.
    """
    height, width = rendered_depth.shape
    x, y = np.round(pixels[:, 0]).astype(int), np.round(pixels[:, 1]).astype(int)
    inside = available & (depth > 0) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    confidence = np.zeros(len(pixels))
    surface = rendered_depth[np.clip(y, 0, height - 1), np.clip(x, 0, width - 1)]
    visible = depth <= surface + VISIBILITY_TOLERANCE
    confidence[inside & visible] = 1.0
    confidence[inside & ~visible] = OCCLUDED_CONFIDENCE
    return confidence


def _write_views(out: Path, rig: Rig, frame: int, rendered: RenderOutput, labels: np.ndarray, instances: np.ndarray,
                 people_kp: dict[int, np.ndarray], available: np.ndarray) -> None:  # fmt: skip
    """Images, masks, keypoints and per-view ground truth of one frame."""
    name = frame_name(frame)
    for v, camera in enumerate(rig.cameras):
        instance = rendered.instance_id[v]
        write_png(out / "images" / camera.name / f"{name}.png", (rendered.rgb[v, ..., ::-1] * 255.0 + 0.5).astype(np.uint8))
        write_png(out / "masks" / camera.name / f"{name}.png", np.where(instance >= 0, labels[instance], 0).astype(np.uint8))
        write_png(out / "gt" / "instances" / camera.name / f"{name}.png", np.where(instance >= 0, instances[instance], 0).astype(np.uint16))
        depth_mm = np.where(np.isfinite(rendered.depth[v]), np.round(rendered.depth[v] * 1000.0), 0.0)
        write_png(out / "gt" / "depth" / camera.name / f"{name}.png", np.clip(depth_mm, 0, 65535).astype(np.uint16))
        with atomic_path(out / "gt" / "normals" / camera.name / f"{name}.npz") as temp:
            with open(temp, "wb") as handle:
                np.savez_compressed(handle, normal=rendered.normal[v].astype(np.float16))
        entries, ids = [], []
        for pid, keypoints in people_kp.items():
            pixels = camera.project(keypoints)
            depth = camera.world_to_camera(keypoints)[:, 2]
            confidence = keypoint_confidence(pixels, depth, available, rendered.depth[v])
            if confidence.any():
                entries.append(PersonKeypoints(np.where(confidence[:, None] > 0, pixels, 0.0), confidence, KEYPOINT_LAYOUT))
                ids.append(pid)
        document = people_to_openpose(entries, detector="synthetic ground truth")
        document["layout"] = KEYPOINT_LAYOUT
        for entry, pid in zip(document["people"], ids):
            entry["person_id"] = [pid]
        atomic_write_text(out / "keypoints" / camera.name / f"{name}.json", json.dumps(document, separators=(",", ":")))


def write_capture(scene: Scene, out: str | Path) -> Path:
    """Render every frame of `scene` into the capture folder `out` (created); returns the rig.yaml path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    motion, rig = scene.motion, scene.rig
    output = scene.body_output()
    keypoints3d, available = scene.body.layout_keypoints(output, KEYPOINT_LAYOUT)
    keypoints3d, available = keypoints3d.double().cpu().numpy(), available.cpu().numpy()
    for k, obj in enumerate(scene.objects):
        save_mesh(out / "gt" / "objects" / f"object_{k}.ply", obj.mesh)
    scene.body.save_params(out / "gt" / "body_params.json", motion.params)
    progress = ProgressLog("synth", motion.num_frames, "frames")
    for frame in range(motion.num_frames):
        name = frame_name(frame)
        people, object_meshes = scene.frame_meshes(frame, output)
        for pid, mesh in people:
            save_mesh(out / "gt" / "meshes" / name / f"person_{pid}.ply", mesh)
        index = {pid: p for p, pid in enumerate(motion.person_ids)}
        people_kp = {pid: keypoints3d[index[pid], frame] for pid, _ in people}
        kp_doc = {"layout": KEYPOINT_LAYOUT, "units": "metres, world", "available": available.tolist(),
                  "people": [{"person_id": pid, "keypoints": np.round(kp, 6).tolist()} for pid, kp in people_kp.items()]}  # fmt: skip
        atomic_write_text(out / "gt" / "keypoints3d" / f"{name}.json", json.dumps(kp_doc))
        meshes = [mesh for _, mesh in people] + list(object_meshes)
        labels = np.array([1 + pid for pid, _ in people] + [OBJECT_LABEL] * len(object_meshes))
        instances = np.array([1 + pid for pid, _ in people] + [OBJECT_INSTANCE_BASE + k for k in range(len(object_meshes))])
        if meshes:
            rendered = render(meshes, list(rig.cameras), RENDER_SETTINGS)
        else:  # nobody and nothing in the scene this frame
            rendered = _empty_render(rig)
        _write_views(out, rig, frame, rendered, labels, instances, people_kp, available)
        progress.step(f"frame {frame}")
    atomic_write_text(out / "gt" / "scene.json", json.dumps(scene_description(scene), indent=1))
    layout = CaptureLayout(images=out / "images", masks=out / "masks", keypoints=out / "keypoints",
                           keypoint_format="openpose", frames=FrameRange(0, motion.num_frames), fps=motion.fps)  # fmt: skip
    return save_rig(Rig(rig.cameras, layout), out / "rig.yaml", header=f"synthetic capture: category {scene.category}, seed {scene.seed}")


def _empty_render(rig: Rig) -> RenderOutput:
    width, height = rig.cameras[0].image_size
    shape = (len(rig), height, width)
    return RenderOutput(
        camera_names=tuple(rig.names), depth=np.full(shape, np.inf, np.float32), mask=np.zeros(shape, bool),
        instance_id=np.full(shape, -1, np.int32), triangle_id=np.full(shape, -1, np.int32),
        barycentric=np.zeros((*shape, 3), np.float32), normal=np.zeros((*shape, 3), np.float32),
        rgb=np.zeros((*shape, 3), np.float32),
    )  # fmt: skip


def scene_description(scene: Scene) -> dict:
    """The JSON-ready content of gt/scene.json."""
    motion = scene.motion
    return {
        "format": "multicap.synthetic_scene",
        "version": 1,
        "category": scene.category,
        "seed": scene.seed,
        "fps": motion.fps,
        "num_frames": motion.num_frames,
        "body_model": scene.body.name,
        "people": [
            {"person_id": pid, "shape": scene.people[p].shape.round(6).tolist(),
             "present_frames": np.nonzero(motion.present[p])[0].tolist(),
             "num_faces": int(len(scene.people[p].faces)), "outfit": scene.people[p].outfit.describe()}
            for p, pid in enumerate(motion.person_ids)
        ],
        "objects": [{"index": k, "kind": o.kind, "center": list(o.center), "yaw": o.yaw, "mesh": f"gt/objects/object_{k}.ply"}
                    for k, o in enumerate(scene.objects)],
        "encodings": {
            "masks": f"uint8: 0 background, 1 + person_id, {OBJECT_LABEL} objects",
            "instances": f"uint16: 0 background, 1 + person_id, {OBJECT_INSTANCE_BASE} + object index",
            "depth": "uint16 millimetres of camera z, 0 empty",
            "normals": "npz 'normal' float16 (H, W, 3) camera frame (OpenCV axes), 0 empty",
            "keypoints": f"OpenPose JSON, {KEYPOINT_LAYOUT}; confidence 1 visible, {OCCLUDED_CONFIDENCE} occluded, 0 outside",
        },
    }  # fmt: skip
