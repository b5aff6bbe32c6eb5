"""Network inference benchmark: seconds, network queries and peak memory per person-frame at 256 samples along the
person's longest side, octree against dense evaluation of the same grid (same network, same meshing).

The person is a clothed synthetic person (synth, seed 7, 6 views of 512^2) reconstructed with a checkpoint (default:
the shipped implicit/weights/small.pt) on the CPU with a fixed number of torch threads. Writes its section
`## Network inference` of docs/BENCHMARKS.md.

    .venv/bin/python bench/bench_network.py [--checkpoint PATH] [--resolution 256] [--threads 1] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import write_section  # noqa: E402
from implicit.dataset import build_person_inputs, capture_samples  # noqa: E402
from implicit.meshing import MeshingConfig, reconstruct_mesh  # noqa: E402
from implicit.model import occupancy_function  # noqa: E402
from implicit.neighbours import exclude_neighbours  # noqa: E402
from implicit.reconstruct import DEFAULT_GRID_MARGIN_M, ReconstructionConfig, person_grid  # noqa: E402
from implicit.training import SHIPPED_WEIGHTS_DIR, load_model  # noqa: E402
from multihuman_eval.metrics import evaluate_surface  # noqa: E402
from render.mesh import Mesh  # noqa: E402

SECTION = "## Network inference"
NEIGHBOUR_OFFSET_M = np.array([0.45, 0.0, 0.0])
"""Where the neighbour-rule mode puts a copy of the person's body: beside them, reaching into their grid."""
logger = logging.getLogger("bench_network")


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def synthetic_person(folder: Path):
    """One clothed person (TrainingSample) rendered in 6 views of 512^2 into `folder`."""
    from body.anny_body import AnnyBody
    from synth.capture_writer import write_capture
    from synth.scene import make_scene

    write_capture(make_scene(AnnyBody(), "single", 1, 1, 7, num_views=6, image_size=512), folder)
    return capture_samples(folder)[0]()


def run(checkpoint: Path, resolution: int, dense: bool) -> tuple[list[str], dict]:
    """Table rows (one per evaluation mode) and facts about the case."""
    model = load_model(checkpoint)
    with tempfile.TemporaryDirectory() as tmp:
        sample = synthetic_person(Path(tmp) / "person")
    start = time.perf_counter()
    inputs, _, _ = build_person_inputs(sample.cameras, sample.images, sample.person_mask, sample.unobserved, sample.body,
                                       model.config)  # fmt: skip
    inputs_s = time.perf_counter() - start
    grid = person_grid(sample.body.vertices, ReconstructionConfig(resolution=resolution))  # as reconstruct_person
    body = Mesh(sample.body.vertices, sample.body.faces)
    neighbour = Mesh(sample.body.vertices + NEIGHBOUR_OFFSET_M, sample.body.faces)
    modes = [("octree, both levels", True, MeshingConfig(), []),
             ("octree, both levels, neighbour rule", True, MeshingConfig(), [neighbour])]  # fmt: skip
    if model.fine is not None:
        modes.append(("octree, coarse level only", False, MeshingConfig(), []))
    if dense:
        modes.append(("dense, both levels", True, MeshingConfig(octree=False), []))
    rows, meshes, seconds_of, queries_of = [], {}, {}, {}
    rss_before = peak_rss_mb()
    for name, fine, config, neighbours in modes:
        start = time.perf_counter()
        fn = exclude_neighbours(occupancy_function(model, inputs, fine=fine), body, neighbours)
        mesh, stats = reconstruct_mesh(fn, grid, config, anchors=sample.body.vertices)
        seconds = time.perf_counter() - start
        meshes[name], seconds_of[name], queries_of[name] = mesh, seconds, stats.queries
        metrics = evaluate_surface(mesh, sample.mesh)
        rows.append(
            f"| {name} | {seconds:.1f} | {stats.queries:,} ({stats.query_fraction:.1%}) | "
            f"{stats.queries / seconds:,.0f} | {peak_rss_mb():.0f} | {mesh.num_faces:,} | "
            f"{metrics.chamfer_cm:.2f} / {metrics.p2s_rec_to_gt_cm:.2f} |"
        )
        logger.info(rows[-1])
    facts = {
        "neighbour_cost": seconds_of["octree, both levels, neighbour rule"] / seconds_of["octree, both levels"],
        "grid": f"{'x'.join(map(str, grid.shape))} ({grid.voxel_size * 1000:.1f} mm voxels, {grid.num_points:,} samples)",
        "inputs_s": inputs_s,
        "rss_before": rss_before,
        "config": model.config.name,
        "goals": f"goal <= 20 s per person-frame: {seconds_of['octree, both levels']:.1f} s "
                 f"({'met' if seconds_of['octree, both levels'] <= 20 else 'not met'})",
    }
    if dense:
        octree_mesh, dense_mesh = meshes["octree, both levels"], meshes["dense, both levels"]
        same = octree_mesh.vertices.shape == dense_mesh.vertices.shape and np.array_equal(octree_mesh.faces, dense_mesh.faces)
        facts["compare"] = (
            f"identical faces, max vertex difference {np.abs(octree_mesh.vertices - dense_mesh.vertices).max():.1e} m"
            if same else f"differ: {octree_mesh.num_faces} vs {dense_mesh.num_faces} faces"
        )  # fmt: skip
        fewer = queries_of["dense, both levels"] / queries_of["octree, both levels"]
        facts["goals"] += (f"; goal >= 10x fewer queries than dense at an identical mesh: {fewer:.1f}x "
                           f"({'met' if fewer >= 10 and same else 'not met'}), "
                           f"{seconds_of['dense, both levels'] / seconds_of['octree, both levels']:.1f}x faster")  # fmt: skip
    return rows, facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=SHIPPED_WEIGHTS_DIR / "small.pt", help="network weights")
    parser.add_argument("--resolution", type=int, default=256, help="grid samples along the person's longest side")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-dense", action="store_true", help="skip the dense evaluation (slow)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows, facts = run(args.checkpoint, args.resolution, not args.no_dense)
    load = f"1-minute load average at start / end: {load_before:.1f} / {os.getloadavg()[0]:.1f}"
    logger.info(load)
    if args.no_write:
        return 0
    try:
        checkpoint = args.checkpoint.resolve().relative_to(ROOT)
    except ValueError:
        checkpoint = args.checkpoint
    command = f".venv/bin/python bench/bench_network.py --checkpoint {checkpoint} --resolution {args.resolution} --threads {args.threads}"
    write_section(
        SECTION,
        f"{SECTION}\n\n"
        f"Command: `{command}`; {platform.processor() or platform.machine()} CPU with 2 cores, no GPU, "
        f"{datetime.date.today().isoformat()}, torch {torch.__version__} with {args.threads} thread(s); {load}.\n\n"
        f"One clothed synthetic person (synth 'single', seed 7, 6 views of 512^2), network `{facts['config']}`, grid "
        f"around the body with a {DEFAULT_GRID_MARGIN_M:.2f} m margin (as `capture reconstruct` and `capture eval`): {facts['grid']}. Building the inputs (crops, global normal "
        f"maps, body voxels) took {facts['inputs_s']:.2f} s and is not in the times below. Peak memory is the "
        f"process's peak resident set after each mode (it was {facts['rss_before']:.0f} MB before the first; queries "
        "go through the network in chunks of `train.query_chunk` points, which bounds it).\n\n"
        "| mode | seconds | network queries (share of dense) | queries / s | peak RSS (MB) | faces | Chamfer / P2S (cm) |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n" + "\n".join(rows) + "\n\n"
        + (f"Octree against dense mesh: {facts['compare']}.\n\n" if "compare" in facts else "")
        + f"{facts['goals'][0].upper()}{facts['goals'][1:]}.\n\n"
        f"The neighbour rule (`implicit.neighbours`, margin 0.03 m) with a copy of the body "
        f"{NEIGHBOUR_OFFSET_M[0]:.2f} m to the side costs {facts['neighbour_cost']:.2f}x the time of the plain octree "
        "(signed distances to both bodies at every query; queries the neighbour claims skip the network).\n",
        after="## Meshing and visual hull",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
