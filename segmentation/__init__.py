"""Per-person segmentation: foreground per view (capture masks, background plate, chroma key, or GrabCut seeded
by the bodies) split into people with the fitted bodies' z-buffered projections, with occlusion marks.

    from segmentation import segment_frame, FrameInputs
    result = segment_frame(cameras, body_meshes, track_ids, "masks", FrameInputs(masks=masks))
    result.index      # (V, H, W) int32: -1 background, p = person track_ids[p]
    result.occluded   # (P, V, H, W) bool: person p hidden by a nearer person

`segment_run(rig, run_dir, ...)` is the stage on files (RUN/body/ -> RUN/masks/, docs/segmentation.md);
`labels` holds the label-map encoding (0 background, 1 + track id), `metrics` the IoU used by the benchmark.
"""

from segmentation.errors import SegmentationError
from segmentation.foreground import (
    SOURCES,
    ForegroundConfig,
    background_difference,
    chroma_key,
    clean_mask,
    grabcut_foreground,
)
from segmentation.frame import FrameInputs, FrameSegmentation, SegmentConfig, segment_frame
from segmentation.instances import SplitConfig, occlusion_masks, split_foreground
from segmentation.labels import index_to_label, label_to_index, read_label_map, read_occluded
from segmentation.metrics import mask_iou, person_iou
from segmentation.projection import BodyFields, body_fields, render_person_depths
from segmentation.run import RunSummary, segment_run

__all__ = [
    "SOURCES", "BodyFields", "ForegroundConfig", "FrameInputs", "FrameSegmentation", "RunSummary", "SegmentConfig",
    "SegmentationError", "SplitConfig", "background_difference", "body_fields", "chroma_key", "clean_mask",
    "grabcut_foreground", "index_to_label", "label_to_index", "mask_iou", "occlusion_masks", "person_iou",
    "read_label_map", "read_occluded", "render_person_depths", "segment_frame", "segment_run", "split_foreground",
]  # fmt: skip
