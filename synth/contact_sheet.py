"""A contact sheet of the benchmark categories: one row per category, one tile per view.

    .venv/bin/python -m synth.contact_sheet docs/synth_contact_sheet.png [--tile 256] [--seed 1000]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import cv2
import numpy as np

from render import render
from synth.capture_writer import RENDER_SETTINGS
from synth.scene import make_scene

ROWS = (("single", "single", 1), ("occluded single", "occluded_single", 1), ("two natural", "natural", 2),
        ("two close", "close", 2), ("three", "natural", 3))  # fmt: skip


def contact_sheet(body, seed: int = 1000, tile: int = 256, size: int = 512, views: int = 6) -> np.ndarray:
    """(5 * tile, views * tile, 3) uint8 RGB: each category's first frame from every view, labelled."""
    rows = []
    for r, (label, category, people) in enumerate(ROWS):
        scene = make_scene(body, category, people, 1, seed + r, num_views=views, image_size=size)
        people_meshes, objects = scene.frame_meshes(0)
        rgb = render([m for _, m in people_meshes] + objects, list(scene.rig.cameras), RENDER_SETTINGS).rgb
        tiles = [cv2.resize((view * 255).astype(np.uint8), (tile, tile), interpolation=cv2.INTER_AREA) for view in rgb]
        row = np.concatenate(tiles, axis=1)
        cv2.putText(row, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(row)
    return np.concatenate(rows, axis=0)


def main(argv: list[str] | None = None) -> int:
    from body.anny_body import AnnyBody
    from calibration.atomic import write_png

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    sheet = contact_sheet(AnnyBody(), args.seed, args.tile)
    write_png(args.out, sheet[..., ::-1].copy())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
