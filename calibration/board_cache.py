"""Board detections saved as JSON beside the output, so a failed or repeated calibration does not detect again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from calibration.atomic import atomic_write_text
from calibration.board import Detection

CACHE_VERSION = 2


def save_detections(
    path: str | Path, signature: dict, detections: dict[str, dict[str, Detection]], searched: dict[str, int]
) -> None:
    """Write detections (camera -> frame key -> Detection) and images searched per camera, tagged by `signature`
    (what they were computed from: board, inputs, sampling), atomically."""
    data = {
        "version": CACHE_VERSION,
        "signature": signature,
        "searched": searched,
        "cameras": {
            camera: {
                key: {
                    "source": d.source,
                    "image_size": list(d.image_size),
                    "ids": d.ids.tolist(),
                    "pixels": np.round(d.pixels, 4).tolist(),
                    "inverted": d.inverted,
                    "mirrored": d.mirrored,
                }
                for key, d in found.items()
            }
            for camera, found in detections.items()
        },
    }
    atomic_write_text(path, json.dumps(data))


def load_detections(path: str | Path, signature: dict) -> tuple[dict[str, dict[str, Detection]], dict[str, int]] | None:
    """The saved detections and images searched per camera, or None if absent, unreadable or made from other input."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION or data.get("signature") != signature:
            return None
        detections = {
            camera: {
                key: Detection(
                    np.asarray(entry["ids"], dtype=np.int64),
                    np.asarray(entry["pixels"], dtype=np.float64).reshape(-1, 2),
                    tuple(entry["image_size"]),
                    entry["source"],
                    bool(entry["inverted"]),
                    bool(entry["mirrored"]),
                )
                for key, entry in found.items()
            }
            for camera, found in data["cameras"].items()
        }
        return detections, {camera: int(n) for camera, n in data["searched"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
