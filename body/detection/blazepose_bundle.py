"""Build BlazePose's Tasks-API model bundle (``.task``) from the files inside the installed mediapipe wheel.

Nothing is downloaded. The mediapipe 0.10.14 wheel ships the person detector
(``mediapipe/modules/pose_detection/pose_detection.tflite``, with TFLite metadata) and the full landmark model
(``mediapipe/modules/pose_landmark/pose_landmark_full.tflite``, without metadata). The Tasks
``PoseLandmarker`` reads a ``.task`` file: an uncompressed, 4-byte-aligned zip holding
``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``, and it needs the landmark model's input
normalisation in its metadata (it refuses float inputs without). The legacy MediaPipe graph feeds that model
RGB in [0, 1], so the metadata written here is an RGB image input with mean 0 and std 255.

The bundle is cached as ``<cache>/mediapipe/pose_landmarker_full_<mediapipe version>_<hash>.task``
(``<cache>`` = ``$MULTICAP_CACHE_DIR`` or ``~/.cache/multicap``), the hash naming the two source models.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from pathlib import Path
from types import ModuleType

from body.cache import multicap_cache_dir
from body.detection.errors import DETECT_INSTALL_HELP, DetectorUnavailableError
from calibration.atomic import atomic_path

logger = logging.getLogger(__name__)

DETECTOR_MODEL = "modules/pose_detection/pose_detection.tflite"
LANDMARK_MODEL = "modules/pose_landmark/pose_landmark_full.tflite"
BUNDLE_MEMBERS = ("pose_detector.tflite", "pose_landmarks_detector.tflite")
LANDMARK_INPUT_MEAN = 0.0
LANDMARK_INPUT_STD = 255.0


def import_mediapipe() -> ModuleType:
    """Import mediapipe, or raise ``DetectorUnavailableError`` saying how to install it."""
    try:
        import mediapipe
        from mediapipe.tasks.python import vision  # noqa: F401  (the Tasks API must import too)
    except ImportError as error:
        raise DetectorUnavailableError(
            f"the BlazePose detector needs mediapipe 0.10.14 ({error}); {DETECT_INSTALL_HELP}"
        ) from error
    return mediapipe


def wheel_models(mediapipe: ModuleType) -> tuple[Path, Path]:
    """Paths of the detector and landmark .tflite files inside the installed mediapipe package."""
    root = Path(mediapipe.__file__).parent
    paths = (root / DETECTOR_MODEL, root / LANDMARK_MODEL)
    for path in paths:
        if not path.is_file():
            raise DetectorUnavailableError(
                f"mediapipe {mediapipe.__version__} at {root} does not ship {path.relative_to(root)}; "
                f"only the 0.10.14 wheel (and older) bundles the BlazePose models: {DETECT_INSTALL_HELP}"
            )
    return paths


def add_landmark_metadata(model: bytes) -> bytes:
    """The landmark model with TFLite metadata: RGB image input normalised as (pixel - 0) / 255."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info("pose_landmarks_detector", "BlazePose GHUM 3D full landmark model (mediapipe wheel)")
    writer.add_image_input([LANDMARK_INPUT_MEAN], [LANDMARK_INPUT_STD])
    for name in writer_utils.get_output_tensor_names(model):
        writer.add_feature_output(name=name)
    with_metadata, _ = writer.populate()
    return bytes(with_metadata)


def build_bundle(path: str | Path) -> Path:
    """Write the ``.task`` bundle to ``path`` (atomically) from the installed wheel's models; returns ``path``."""
    mediapipe = import_mediapipe()
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    detector, landmarks = (model.read_bytes() for model in wheel_models(mediapipe))
    path = Path(path)
    with atomic_path(path) as temp:
        model_asset_bundle_utils.create_model_asset_bundle(
            {BUNDLE_MEMBERS[0]: detector, BUNDLE_MEMBERS[1]: add_landmark_metadata(landmarks)}, str(temp)
        )
    logger.info("built BlazePose bundle %s from the mediapipe %s wheel", path, mediapipe.__version__)
    return path


def _is_bundle(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return sorted(archive.namelist()) == sorted(BUNDLE_MEMBERS)
    except (OSError, zipfile.BadZipFile):
        return False


def bundle_path(cache_dir: str | Path | None = None) -> Path:
    """The cached BlazePose ``.task`` bundle, built on first use.

    Args:
        cache_dir: cache root (default :func:`body.cache.multicap_cache_dir`); the bundle lies in its
            ``mediapipe/`` subfolder.
    """
    mediapipe = import_mediapipe()
    digest = hashlib.sha256()
    for model in wheel_models(mediapipe):
        digest.update(model.read_bytes())
    root = Path(cache_dir) if cache_dir is not None else multicap_cache_dir()
    path = root / "mediapipe" / f"pose_landmarker_full_{mediapipe.__version__}_{digest.hexdigest()[:12]}.task"
    if not _is_bundle(path):
        build_bundle(path)
    return path
