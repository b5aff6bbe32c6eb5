"""Props that the masks do not name: does one blocked view carve the person, and does the lone-background rule
(`ReconstructionConfig.lone_background_blocked`, implicit.visibility) keep her?

For every person of the benchmark scenes (a `capture synth-bench` folder or any folder `capture eval` reads), each
method reconstructs her with
  - "labelled": the masks as given (objects marked, so their pixels are unobserved), rule off: the reference;
  - "unlabelled": object pixels turned into background (a prop nobody segmented), rule off;
  - "unlabelled + rule": the same masks, rule on;
  - "labelled + rule": the masks as given, rule on (what the rule costs where nothing is blocked).
Regime: oracle (true bodies, true masks apart from the objects). Chamfer and P2S in cm (1.80 m scaling).

    .venv/bin/python bench/bench_blocked_views.py --bench BENCH [--categories occluded_single,single] [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import write_section  # noqa: E402
from multihuman_eval.benchmark import OBJECT_LABEL, discover_scenes, load_scene  # noqa: E402
from multihuman_eval.methods import MethodConfig, build_methods  # noqa: E402
from multihuman_eval.metrics import evaluate_surface  # noqa: E402

VARIANTS = {  # name -> (objects kept in the masks, rule on)
    "labelled": (True, False),
    "unlabelled": (False, False),
    "unlabelled + rule": (False, True),
    "labelled + rule": (True, True),
}
SECTION = "## Props absent from the masks (lone-background rule)"


def _unlabelled(scene):
    """The scene with object pixels as background (a prop the segmentation did not name)."""
    labels = np.where(scene.labels == OBJECT_LABEL, 0, scene.labels)
    return dataclasses.replace(scene, labels=labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True, type=Path, help="benchmark folder (capture synth-bench output)")
    parser.add_argument("--categories", default="occluded_single,single", help="comma-separated categories")
    parser.add_argument("--methods", default="ours,visual-hull", help="methods of capture eval")
    parser.add_argument("--resolution", type=int, default=256, help="grid samples along a person's longest side")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants to run")
    parser.add_argument("--write", action="store_true", help="write the table into docs/BENCHMARKS.md")
    args = parser.parse_args()

    scenes = discover_scenes(args.bench, args.categories.split(","))
    rows, start = [], time.perf_counter()
    variants = {name: VARIANTS[name] for name in args.variants.split(",")}
    for variant, (labelled, rule) in variants.items():
        config = MethodConfig(reconstruction=dataclasses.replace(MethodConfig().reconstruction,
                                                                 resolution=args.resolution,
                                                                 lone_background_blocked=rule))  # fmt: skip
        methods = build_methods(args.methods, config)
        for scene_ref in scenes:
            scene = load_scene(scene_ref)
            has_objects = bool((scene.labels == OBJECT_LABEL).any())
            if not labelled:
                scene = _unlabelled(scene)
            for name, method in methods.items():
                for person in scene.person_ids:
                    metrics = evaluate_surface(method(scene, person), scene.gt_meshes[person])
                    rows.append((scene_ref.category, variant, name, has_objects, metrics.chamfer_cm,
                                 metrics.p2s_rec_to_gt_cm))  # fmt: skip
                    print(f"{scene_ref.name} person {person} {name} {variant}: Chamfer {metrics.chamfer_cm:.2f} cm",
                          flush=True)  # fmt: skip
    seconds = time.perf_counter() - start
    lines = [
        SECTION, "",
        f"Command: `.venv/bin/python bench/bench_blocked_views.py --bench BENCH --categories {args.categories} "
        f"--methods {args.methods} --resolution {args.resolution}`, BENCH = `capture synth-bench "
        f"--scenes-per-category 2`; machine: {platform.machine()} {platform.system()}, 2 cores, no GPU; date: "
        f"{date.today().isoformat()}; {seconds:.0f} s. Regime: oracle (true bodies; true masks, except that "
        "'unlabelled' turns the objects' pixels into background, as a segmentation that does not know the props "
        "would). Mean over people, cm at 1.80 m.", "",
        "| category | method | " + " | ".join(f"{v} Chamfer / P2S" for v in variants) + " |",
        "| --- | --- | " + " | ".join("---" for _ in variants) + " |",
    ]  # fmt: skip
    for category in dict.fromkeys(row[0] for row in rows):
        for name in dict.fromkeys(row[2] for row in rows):
            cells = []
            for variant in variants:
                picked = [row for row in rows if row[:3] == (category, variant, name)]
                cells.append(f"{np.mean([r[4] for r in picked]):.2f} / {np.mean([r[5] for r in picked]):.2f}"
                             if picked else "-")  # fmt: skip
            lines.append(f"| {category} | {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
