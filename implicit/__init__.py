"""The DeepMultiCap network: coarse-to-fine pixel-aligned implicit function with multi-view self-attention,
body volume features and body global normal maps (docs/network.md), its training (`capture train`), and
occupancy evaluation for meshing.

    from implicit import DeepMultiCap, small_config, build_person_inputs, occupancy_function
    inputs, crops, frame = build_person_inputs(cameras, images, person_mask, unobserved, body, config)
    fn = occupancy_function(model, inputs)     # (N, 3) world points -> (N,) occupancy, an OccupancyFn
    mesh = reconstruct_person(PersonViews(cameras, images, person_mask, unobserved), body, others,
                              ReconstructionConfig(), model).mesh     # one person's mesh, as the pipeline makes it

Heavy modules (torch, Open3D, Taichi) load with the submodules; `import implicit` imports torch.
"""

from body.surface import BodySurface
from implicit.body_volume import BodyFrame, canonical_frame, voxelize
from implicit.config import (
    ABLATIONS,
    CoarseConfig,
    Config,
    ConfigError,
    FineConfig,
    InputConfig,
    SamplingConfig,
    TrainConfig,
    full_config,
    preset,
    small_config,
    tiny_config,
    with_ablation,
)
from implicit.dataset import (
    PersonCrops,
    TrainingDataset,
    TrainingExample,
    TrainingSample,
    build_person_inputs,
    capture_samples,
    render_training_sample,
)
from implicit.features import CropBox, PersonInputs, crop_box_around, crop_image, project_to_crops
from implicit.model import (
    DeepMultiCap,
    NetworkOutput,
    PersonEncoding,
    encoded_occupancy_function,
    occupancy_function,
    parameter_counts,
    predict_occupancy,
)
from implicit.reconstruct import (
    DEFAULT_GRID_MARGIN_M,
    PersonReconstruction,
    PersonViews,
    ReconstructionConfig,
    ReconstructionError,
    reconstruct_person,
)
from implicit.training import CHECKPOINT_NAME, TrainResult, load_model, train

__all__ = [
    "ABLATIONS", "CoarseConfig", "Config", "ConfigError", "FineConfig", "InputConfig", "SamplingConfig",
    "TrainConfig", "full_config", "preset", "small_config", "tiny_config", "with_ablation",
    "BodySurface", "PersonCrops", "TrainingDataset", "TrainingExample", "TrainingSample", "build_person_inputs",
    "capture_samples", "render_training_sample",
    "CropBox", "PersonInputs", "crop_box_around", "crop_image", "project_to_crops",
    "BodyFrame", "canonical_frame", "voxelize",
    "DeepMultiCap", "NetworkOutput", "PersonEncoding", "encoded_occupancy_function", "occupancy_function",
    "parameter_counts", "predict_occupancy",
    "DEFAULT_GRID_MARGIN_M", "PersonReconstruction", "PersonViews", "ReconstructionConfig", "ReconstructionError",
    "reconstruct_person",
    "CHECKPOINT_NAME", "TrainResult", "load_model", "train",
]  # fmt: skip
