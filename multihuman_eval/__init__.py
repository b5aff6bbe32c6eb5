"""MultiHuman-style evaluation metrics (protocol: docs/evaluation.md).

Surface distances, in cm after scaling the ground-truth person to 1.80 m (metrics.py):
    evaluate_surface(rec, gt, config) -> SurfaceMetrics(chamfer_cm, p2s_rec_to_gt_cm, p2s_gt_to_rec_cm, ...)
    evaluate_persons({id: rec}, {id: gt}, config) -> {id: SurfaceMetrics}     one per person of a scene
    normalize_scale, gt_height; SurfaceMetricsConfig (10,000 samples per mesh, seed 0, 1.80 m, z up)
Building blocks (surface.py): sample_surface (area-weighted, seeded), point_to_surface_distances (exact,
    Open3D RaycastingScene).
Normal consistency (normals.py):
    normal_consistency(normals_rec, masks_rec, normals_gt, masks_gt) -> NormalMetrics
    evaluate_normals(rec, gt, cameras, renderer=render_normal_maps); render_normal_maps draws with the
    project's rasterizer (`render.render`); any NormalRenderer can replace it.
Benchmarks (imported from their modules, they pull in `implicit` and torch; docs/evaluation.md, `capture eval`):
    benchmark.py  discover_scenes, load_scene -> SceneData, prepare_multihuman (the MultiHuman release), write_bench_scene
    methods.py    build_methods("ours,visual-hull,body-only", MethodConfig) -> {name: (scene, person id) -> Mesh}
    runner.py     run_benchmark(scenes, methods, out, settings) -> [SceneResult], cached per (method, scene) as JSON
    report.py     write_report: scenes.csv, table.md (Table 1 form), bars.png, worst/<method>/*.png error renders
Meshes are `render.Mesh` (vertices (N, 3) metres, faces (F, 3)); read them with `render.load_mesh(path)`.
"""

from multihuman_eval.metrics import (
    SurfaceMetrics,
    SurfaceMetricsConfig,
    evaluate_persons,
    evaluate_surface,
    gt_height,
    normalize_scale,
)
from multihuman_eval.normals import (
    NormalMetrics,
    NormalRenderer,
    evaluate_normals,
    normal_consistency,
    render_normal_maps,
)
from multihuman_eval.surface import point_to_surface_distances
from render.mesh import sample_surface

__all__ = [
    "NormalMetrics",
    "NormalRenderer",
    "SurfaceMetrics",
    "SurfaceMetricsConfig",
    "evaluate_normals",
    "evaluate_persons",
    "evaluate_surface",
    "gt_height",
    "normal_consistency",
    "normalize_scale",
    "point_to_surface_distances",
    "render_normal_maps",
    "sample_surface",
]
