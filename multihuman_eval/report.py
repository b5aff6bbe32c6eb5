"""The benchmark report: per-person CSV, the paper's Table 1 as Markdown, a bar plot, worst-scene error renders.

    table = category_table(results)                    # {method: {category: CategoryScore}}
    write_report(results, OUT, bench_dir)              # OUT/scenes.csv, table.md, bars.png, worst/*.png

Averaging (docs/evaluation.md): every person of a category counts once (each scaled to 1.80 m by their own
GT height), so a category's number is the mean over all persons of all its scenes; 'all' is the mean over all
persons of the benchmark. P2S is `p2s_rec_to_gt_cm` (reconstruction -> GT, the paper's direction).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from calibration.atomic import atomic_write_text
from multihuman_eval.benchmark import CATEGORIES
from multihuman_eval.runner import SceneResult, slug

logger = logging.getLogger(__name__)

CSV_FIELDS = ("method", "category", "scene", "person_id", "status", "chamfer_cm", "p2s_rec_to_gt_cm",
              "p2s_gt_to_rec_cm", "gt_height_m", "faces", "seconds", "body_source")  # fmt: skip
ERROR_RANGE_CM = 5.0
"""Upper end of the error colour map (cm, after scaling to 1.80 m); larger errors saturate."""


@dataclass(frozen=True)
class CategoryScore:
    """Means over the scored persons of one category for one method (cm); `empty` counts persons without a mesh."""

    chamfer_cm: float
    p2s_cm: float
    p2s_gt_to_rec_cm: float
    persons: int
    empty: int


def categories_of(results: Sequence[SceneResult]) -> list[str]:
    """The categories present, in the paper's order (others after, by name)."""
    present = {r.category for r in results}
    return [c for c in CATEGORIES if c in present] + sorted(present - set(CATEGORIES))


def methods_of(results: Sequence[SceneResult]) -> list[str]:
    return list(dict.fromkeys(r.method for r in results))


def _score(results: list[SceneResult]) -> CategoryScore:
    persons = [p for r in results for p in r.ok_persons]
    empty = sum(len(r.persons) - len(r.ok_persons) for r in results)
    mean = lambda name: float(np.mean([getattr(p, name) for p in persons])) if persons else float("nan")  # noqa: E731
    return CategoryScore(mean("chamfer_cm"), mean("p2s_rec_to_gt_cm"), mean("p2s_gt_to_rec_cm"), len(persons), empty)


def category_table(results: Sequence[SceneResult]) -> dict[str, dict[str, CategoryScore]]:
    """{method: {category: CategoryScore, ..., 'all': CategoryScore}} (module docstring for the averaging)."""
    table = {}
    for method in methods_of(results):
        mine = [r for r in results if r.method == method]
        table[method] = {c: _score([r for r in mine if r.category == c]) for c in categories_of(mine)}
        table[method]["all"] = _score(mine)
    return table


def csv_text(results: Sequence[SceneResult]) -> str:
    """One row per (method, scene, person), columns CSV_FIELDS; empty cells where a reconstruction was empty."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        for p in r.persons:
            row = {"method": r.method, "category": r.category, "scene": r.scene, "body_source": r.body_source}
            for name in CSV_FIELDS[3:-1]:
                value = getattr(p, name)
                row[name] = f"{value:.4f}" if isinstance(value, float) else ("" if value is None else value)
            writer.writerow(row)
    return buffer.getvalue()


def markdown_table(table: dict[str, dict[str, CategoryScore]]) -> str:
    """The paper's Table 1 form: rows = methods, columns = categories x (Chamfer, P2S), cm; lower is better.

    A second header row gives the persons per category; a cell with empty reconstructions says how many.
    """
    methods = list(table)
    columns = [c for c in table[methods[0]]] if methods else []
    for method in methods[1:]:
        columns += [c for c in table[method] if c not in columns]
    head = "| method | " + " | ".join(f"{c} Chamfer | {c} P2S" for c in columns) + " |"
    rule = "| --- |" + " ---: | ---: |" * len(columns)
    lines = [head, rule]
    for method in methods:
        cells = []
        for c in columns:
            s = table[method].get(c)
            if s is None or s.persons == 0:
                cells += ["n/a", "n/a"]
                continue
            note = f" ({s.empty} empty)" if s.empty else ""
            cells += [f"{s.chamfer_cm:.2f}{note}", f"{s.p2s_cm:.2f}"]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    counts = {c: max((table[m][c].persons + table[m][c].empty for m in methods if c in table[m]), default=0)
              for c in columns}  # fmt: skip
    lines.append("")
    lines.append("Persons per category: " + ", ".join(f"{c} {n}" for c, n in counts.items()) + ".")
    return "\n".join(lines) + "\n"


def bar_plot(table: dict[str, dict[str, CategoryScore]], path: str | Path) -> None:
    """Grouped bars (one group per category, one bar per method), Chamfer and P2S side by side, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(table)
    columns = list(dict.fromkeys(c for m in methods for c in table[m]))
    x = np.arange(len(columns))
    width = 0.8 / max(len(methods), 1)
    figure, axes = plt.subplots(1, 2, figsize=(max(8, 2.2 * len(columns)), 3.8), sharey=False)
    for axis, (field, title) in zip(axes, (("chamfer_cm", "Chamfer (cm)"), ("p2s_cm", "P2S rec -> GT (cm)"))):
        for k, method in enumerate(methods):
            values = [getattr(table[method][c], field) if c in table[method] else np.nan for c in columns]
            axis.bar(x + (k - (len(methods) - 1) / 2) * width, values, width, label=method)
        axis.set_xticks(x, columns, rotation=20)
        axis.set_title(title)
        axis.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle("MultiHuman-style benchmark (lower is better; GT scaled to 1.80 m)")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def error_colors(rec, gt, scale_factor: float, vmax_cm: float = ERROR_RANGE_CM) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) colours in [0, 1] and (N,) errors in cm of `rec`'s vertices: each vertex's exact distance to the
    `gt` surface times `scale_factor` (the person's 1.80 m scaling), coloured 0 .. vmax_cm with 'turbo'."""
    from matplotlib import colormaps

    from multihuman_eval.surface import point_to_surface_distances

    errors = point_to_surface_distances(rec.vertices, gt) * scale_factor * 100.0
    colors = colormaps["turbo"](np.clip(errors / vmax_cm, 0.0, 1.0))[:, :3]
    return colors, errors


def worst_scenes(results: Sequence[SceneResult], method: str, count: int) -> list[SceneResult]:
    """The `count` scenes of `method` with the highest mean Chamfer (scenes without a score are skipped)."""
    scored = [r for r in results if r.method == method and r.mean("chamfer_cm") is not None]
    return sorted(scored, key=lambda r: -r.mean("chamfer_cm"))[:count]


def _crop(image: np.ndarray, mask: np.ndarray, pad: int = 12) -> np.ndarray:
    """`image` (H, W, 3) cut to the bounding box of `mask` (H, W) grown by `pad` pixels (whole image if empty)."""
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return image
    top, left = max(rows.min() - pad, 0), max(cols.min() - pad, 0)
    return image[top : rows.max() + pad + 1, left : cols.max() + pad + 1]


def error_figure(result: SceneResult, out: Path, scenes: dict, path: str | Path, views: int = 2) -> None:
    """PNG: one row per scored person of the scene, each rendered alone from `views` of the scene's cameras
    spread around it: the ground truth in grey beside the reconstruction coloured by its per-vertex error
    (`error_colors`), with a colour bar in cm.

    Args:
        result: one method on one scene; its meshes are read from `out`.
        scenes: {scene name: BenchScene} to find the cameras and GT meshes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from calibration.rig_file import load_rig
    from render import Mesh, RenderSettings, load_mesh, render

    scene = scenes[result.scene]
    rig = load_rig(scene.path / "rig.yaml", check_paths=False)
    cameras = [rig.cameras[round(k * len(rig.cameras) / views) % len(rig.cameras)] for k in range(views)]
    gt_dir = scene.path / "gt" / "meshes" / f"{scene.frame:06d}"
    settings = RenderSettings(ambient=0.55, background=(1.0, 1.0, 1.0))
    persons = result.ok_persons
    figure, axes = plt.subplots(len(persons), 2 * views, figsize=(2.0 * 2 * views + 1.2, 3.4 * len(persons) + 0.6),
                                squeeze=False)  # fmt: skip
    for row, p in enumerate(persons):
        gt = load_mesh(gt_dir / f"person_{p.person_id}.ply")
        rec = load_mesh(out / p.mesh)
        colors, errors = error_colors(rec, gt, p.scale_factor)
        shown = (render([Mesh(gt.vertices, gt.faces)], cameras, settings),
                 render([Mesh(rec.vertices, rec.faces, colors=colors)], cameras, settings))  # fmt: skip
        for v in range(views):
            mask = shown[0].mask[v] | shown[1].mask[v]
            for k, (label, image) in enumerate((("GT", shown[0].rgb[v]), (result.method, shown[1].rgb[v]))):
                axis = axes[row, 2 * v + k]
                axis.imshow(np.clip(_crop(image, mask), 0.0, 1.0))
                axis.set_axis_off()
                axis.set_title(f"person {p.person_id} {label} ({cameras[v].name})", fontsize=8)
        axes[row, 0].text(0.0, -0.04, f"Chamfer {p.chamfer_cm:.2f} cm, P2S {p.p2s_rec_to_gt_cm:.2f} cm, "
                          f"99th pct vertex error {np.percentile(errors, 99):.1f} cm", transform=axes[row, 0].transAxes,
                          fontsize=8, va="top")  # fmt: skip
    mappable = ScalarMappable(Normalize(0.0, ERROR_RANGE_CM), colormaps["turbo"])
    figure.colorbar(mappable, ax=axes.ravel().tolist(), label="distance to GT surface (cm)", shrink=0.6)
    figure.suptitle(f"{result.scene}: {result.method}, mean Chamfer {result.mean('chamfer_cm'):.2f} cm", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_report(results: Sequence[SceneResult], out: str | Path, scenes: Sequence, worst: int = 3,
                 command: str | None = None) -> dict[str, Path]:  # fmt: skip
    """Write OUT/scenes.csv, OUT/table.md, OUT/bars.png and OUT/worst/<method>/<scene>.png (the `worst` scenes
    of each method by Chamfer). Returns {kind: path} of what was written ('worst' entries numbered)."""
    out = Path(out)
    table = category_table(results)
    written = {"csv": out / "scenes.csv", "table": out / "table.md", "bars": out / "bars.png"}
    atomic_write_text(written["csv"], csv_text(results))
    header = "# MultiHuman-style benchmark\n\n"
    if command:
        header += f"Command: `{command}`\n\n"
    header += ("Chamfer and P2S (reconstruction -> GT) in cm, each person scaled to 1.80 m, mean over the persons "
               "of each category (docs/evaluation.md). Lower is better.\n\n")  # fmt: skip
    atomic_write_text(written["table"], header + markdown_table(table))
    bar_plot(table, written["bars"])
    by_name = {s.name: s for s in scenes}
    for method in table:
        for k, result in enumerate(worst_scenes(results, method, worst)):
            path = out / "worst" / slug(result.method) / f"{slug(result.scene)}.png"
            error_figure(result, out, by_name, path)
            written[f"worst {method} {k}"] = path
    logger.info("report written to %s", out)
    return written
