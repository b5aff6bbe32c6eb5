"""Foreign calibration files -> Rig (import) and Rig -> EasyMocap files (export); docs/rig-import.md.

Formats (one module each): "easymocap" (intri.yml + extri.yml), "panoptic" (calibration_<seq>.json),
"anipose" (calibration.toml), "caliscope" (camera_array.toml), "zju-annots" (annots.npy), "deepmulticap"
(parameter/<subject>/<view>_*.npy). Importers convert to metres and keep each format's world as it is (but
deepmulticap's, mirrored in x so that its renders' flipped rows fit a proper camera); every problem raises
RigError naming the file, the camera and the field.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from calibration.errors import RigError
from calibration.formats import fields
from calibration.formats.anipose import read_anipose
from calibration.formats.caliscope import read_caliscope
from calibration.formats.deepmulticap import DEEPMULTICAP_IMAGE_SIZE, read_deepmulticap
from calibration.formats.easymocap import read_easymocap, resolve_sources, write_easymocap
from calibration.formats.panoptic import read_panoptic
from calibration.formats.zju_annots import ZJU_IMAGE_SIZE, read_zju_annots
from calibration.rig import Rig

FORMATS = ("easymocap", "panoptic", "anipose", "caliscope", "zju-annots", "deepmulticap")
EXPORT_FORMATS = ("easymocap",)
_SIZED_FORMATS = ("panoptic", "anipose", "caliscope")  # their files carry the image size

__all__ = ["EXPORT_FORMATS", "FORMATS", "export_rig", "import_rig"]


def _check_format(format: str, supported: tuple[str, ...], verb: str) -> None:
    if format in supported:
        return
    close = difflib.get_close_matches(str(format), supported, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    if verb == "export" and format in FORMATS:
        raise RigError(f"export to {format} is not supported; supported: {', '.join(supported)}", field="format")
    raise RigError(f"unknown format {format!r}{hint} (supported: {', '.join(supported)})", field="format")


def _single_source(format: str, sources: list[Path], what: str) -> Path:
    if len(sources) != 1:
        raise RigError(
            f"expected one {what} for format {format}, got {len(sources)} path(s): "
            f"{', '.join(map(str, sources)) or 'none'}",
            field="sources",
        )
    return Path(sources[0])


def import_rig(
    format: str,
    sources: list[Path],
    *,
    camera_type: str = "hd",
    allow_pickle: bool = False,
    image_size: tuple[int, int] | None = None,
) -> Rig:
    """Read a foreign calibration into a Rig (metres, OpenCV world -> camera).

    format: one of FORMATS.
    sources: easymocap: [intri.yml, extri.yml] or [folder containing both]; panoptic: [calibration_<seq>.json];
        anipose: [calibration.toml]; caliscope: [camera_array.toml]; zju-annots: [annots.npy];
        deepmulticap: [parameter/<subject> folder, or the folder holding parameter/].
    camera_type: panoptic only, the camera type to import ("hd", "vga", "kinect-color", ...).
    allow_pickle: zju-annots only; annots.npy is a pickle, read only when this is True (trusted files).
    image_size: (width, height) pixels. easymocap: fills missing H_/W_ (an error without it when they are
        missing); zju-annots: the size of every camera (default 1024 x 1024); deepmulticap: likewise (default
        512 x 512); refused for panoptic, anipose and
        caliscope, whose files carry the size.
    """
    _check_format(format, FORMATS, "import")
    image_size = fields.image_size_option(image_size)
    if image_size is not None and format in _SIZED_FORMATS:
        raise RigError(
            f"the {format} file gives each camera's image size; drop image_size (--image-size)", field="image_size"
        )
    sources = [Path(source) for source in sources]
    if format == "easymocap":
        return read_easymocap(*resolve_sources(sources), image_size=image_size)
    if format == "panoptic":
        return read_panoptic(_single_source(format, sources, "calibration_<seq>.json"), camera_type=camera_type)
    if format == "anipose":
        return read_anipose(_single_source(format, sources, "calibration.toml"))
    if format == "caliscope":
        return read_caliscope(_single_source(format, sources, "camera_array.toml"))
    if format == "deepmulticap":
        return read_deepmulticap(
            _single_source(format, sources, "DeepMultiCap folder"), image_size=image_size or DEEPMULTICAP_IMAGE_SIZE
        )
    return read_zju_annots(
        _single_source(format, sources, "annots.npy"),
        allow_pickle=allow_pickle,
        image_size=image_size or ZJU_IMAGE_SIZE,
    )


def export_rig(format: str, rig: Rig, out_dir: Path) -> list[Path]:
    """Write `rig` in a foreign format into `out_dir`; returns the written files.

    Only "easymocap" is supported: out_dir/intri.yml and out_dir/extri.yml.
    """
    _check_format(format, EXPORT_FORMATS, "export")
    return write_easymocap(rig, Path(out_dir))
