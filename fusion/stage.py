"""The fusion stage on a run folder: ``RUN/meshes`` + ``RUN/body`` -> ``RUN/fused`` (resumable, atomic writes).

Inputs: ``RUN/meshes/<frame:06d>/person_<id>.ply`` (per-frame reconstructions) with their records
(``person_<id>.json``, :func:`implicit.reconstruct.write_mesh_record`: the voxel size each mesh was made with, which
the fused frame's grid uses unless ``FusionConfig.voxel_size_m`` is set) and ``RUN/body/<frame:06d>.json``
(the body stage's fitted parameters per track id, :mod:`body.capture_io`). Output:
``RUN/fused/<frame:06d>/person_<id>.ply``, one per input mesh. A person-frame whose fused mesh exists is skipped
unless ``force``. A mesh without a fitted body in its frame cannot be warped to: it is copied unchanged (with a
warning), and it is not used as a neighbour either. Frames whose body was interpolated (the person was not
detected) weigh ``interpolated_weight`` in the mean.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from body import shared_body
from body.capture_io import BodyPerson
from body.model import BodyModel, BodyOutput
from calibration.progress import ProgressLog
from calibration.run_layout import RunLayout
from fusion.errors import FusionError
from fusion.temporal import FusionConfig, PersonFrame, PersonFuser, window_frames
from render.mesh import load_mesh, save_mesh

logger = logging.getLogger(__name__)

def read_bodies(run: RunLayout, frames: Iterable[int]) -> dict[tuple[int, int], BodyPerson]:
    """{(person, frame): body stage entry with a fitted body} for ``frames`` (frames without a body file skipped)."""
    from body.frame_bodies import read_frame_bodies

    bodies = {}
    for frame in sorted(set(frames)):
        if run.body_file(frame).is_file():
            for person_id, body in read_frame_bodies(run, frame).items():
                if body.fitted:
                    bodies[person_id, frame] = body.person
    return bodies


@dataclass
class FuseSummary:
    """What a stage run did: person-frames ``fused``, ``skipped`` (already done), ``copied`` (no body); the voxel
    size of each fused one, metres."""

    fused: int = 0
    skipped: int = 0
    copied: int = 0
    seconds: float = 0.0
    voxel_sizes_m: list[float] = field(default_factory=list)

    @property
    def voxel_note(self) -> str:
        """'voxel 14.7-18.6 mm' (the range of ``voxel_sizes_m``), 'no voxel' when nothing was fused."""
        if not self.voxel_sizes_m:
            return "no voxel"
        low, high = (f"{1000 * v:.1f}" for v in (min(self.voxel_sizes_m), max(self.voxel_sizes_m)))
        return f"voxel {low} mm" if low == high else f"voxel {low}-{high} mm"


def fuse_run(run_dir: str | Path, config: FusionConfig = FusionConfig(voxel_size_m=None), force: bool = False,
             model_dir: str | None = None, interpolated_weight: float = 1.0) -> FuseSummary:  # fmt: skip
    """Fuse every person-frame of a run (module docstring). ``model_dir``: SMPL-X files, if the run used SMPL-X."""
    run_dir = Path(run_dir)
    run = RunLayout(run_dir)
    if not interpolated_weight >= 0:
        raise FusionError(f"interpolated_weight: expected >= 0, got {interpolated_weight!r}")
    meshes = run.find_meshes()
    if not meshes:
        raise FusionError(f"{run_dir / 'meshes'}: expected per-frame meshes <frame:06d>/person_<id>.ply, found none")
    bodies = read_bodies(run, set().union(*meshes.values()))
    summary = FuseSummary()
    start = time.perf_counter()
    progress = ProgressLog("fuse", sum(len(frames) for frames in meshes.values()), "person-frames", every=10.0)
    for person in sorted(meshes):
        todo = [f for f in sorted(meshes[person]) if force or not run.mesh_file(f, person, fused=True).is_file()]
        summary.skipped += len(meshes[person]) - len(todo)
        usable = {f for f in meshes[person] if (person, f) in bodies}
        loaded: dict[int, PersonFrame] = {}
        fuser: PersonFuser | None = None
        for frame in todo:
            out_path = run.mesh_file(frame, person, fused=True)
            if frame not in usable:
                logger.warning("fuse: person %d has no fitted body in frame %d; copying its mesh unfused", person, frame)
                save_mesh(out_path, load_mesh(run.mesh_file(frame, person)))
                summary.copied += 1
                progress.step(f"person {person}, frame {frame}")
                continue
            model_name = bodies[person, frame].model
            body = shared_body(model_name, model_dir)
            if fuser is None or fuser.body is not body:
                fuser = PersonFuser(body, config)
            needed = [f for f in window_frames(frame, config.window, usable) if bodies[person, f].model == model_name]
            loaded = {f: loaded.get(f) or _load_frame(run, person, f, body, bodies[person, f], interpolated_weight)
                      for f in needed}  # fmt: skip
            voxel = config.voxel_size_m or _recorded_voxel_size(run.mesh_file(frame, person))
            result = fuser.fuse(frame, loaded, voxel)
            if result.mesh.num_faces == 0:
                raise FusionError(f"person {person}, frame {frame}: the fused field has no inside (frames {result.frames})")
            save_mesh(out_path, result.mesh)
            summary.fused += 1
            summary.voxel_sizes_m.append(voxel)
            logger.debug("fuse: person %d frame %d from frames %s in %.2f s", person, frame, result.frames, result.seconds)
            progress.step(f"person {person}, frame {frame}")
    summary.seconds = time.perf_counter() - start
    logger.info("fuse: %d fused, %d copied without a body, %d already done, %.1f s",
                summary.fused, summary.copied, summary.skipped, summary.seconds)  # fmt: skip
    return summary


def _recorded_voxel_size(mesh_path: Path) -> float:
    """The voxel size the implicit stage reconstructed `mesh_path` with (its record), metres."""
    from implicit.reconstruct import ReconstructionError, read_voxel_size

    try:
        return read_voxel_size(mesh_path)
    except ReconstructionError as error:
        raise FusionError(str(error)) from error


def _load_frame(run: RunLayout, person: int, frame: int, body: BodyModel, fitted: BodyPerson,
                interpolated_weight: float) -> PersonFrame:  # fmt: skip
    mesh = load_mesh(run.mesh_file(frame, person))
    with torch.no_grad():
        output: BodyOutput = body(fitted.params.to(dtype=body.dtype, device=body.device))
    return PersonFrame(mesh, output, interpolated_weight if fitted.interpolated else 1.0)
