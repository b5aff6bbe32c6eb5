"""The methods a benchmark compares, each a function (scene, person id) -> reconstructed Mesh (world metres).

    config = MethodConfig(ReconstructionConfig(resolution=256), checkpoints={"ours": p})
    methods = build_methods(["ours", "visual-hull", "body-only"], config)
    mesh = methods["visual-hull"](scene_data, person_id)

| name | what |
| --- | --- |
| `visual-hull` | occupancy carved from this person's masks (other people and objects are unknown, not background), on the same grid and with the same meshing as the network |
| `body-only` | the body mesh alone (ground-truth body parameters, or the fitted ones with `load_scene(body_runs=)`) |
| `ours` | the DeepMultiCap network (`implicit`) from a checkpoint; space another person's body claims is outside (`implicit.neighbours`, `ReconstructionConfig.neighbour_margin_m`) |
| `ours:<ablation>` | an ablation (`implicit.config.ABLATIONS`): a checkpoint trained with it; `ours:coarse_only` also runs from the `ours` checkpoint with the fine level switched off |

Both volumetric methods go through `implicit.reconstruct_person`, the function `capture reconstruct` uses, with
`MethodConfig.reconstruction`: the same grid (body box plus the library's margin), meshing and neighbour rule as
the pipeline, so `capture eval` scores what `capture reconstruct` makes, and the visual hull and the network
differ by method, not by sampling.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from implicit.reconstruct import PersonViews, ReconstructionConfig, reconstruct_person
from multihuman_eval.benchmark import SceneData
from render.mesh import Mesh

logger = logging.getLogger(__name__)

Method = Callable[[SceneData, int], Mesh]
"""(scene, person id) -> reconstructed Mesh of that person, world metres."""

BASELINES = ("visual-hull", "body-only")


class MethodError(ValueError):
    """An unknown method name or a method that cannot run (e.g. no checkpoint); the message says what to pass."""


@dataclass(frozen=True)
class MethodConfig:
    """Settings shared by the methods of one benchmark run (saved with every result)."""

    reconstruction: ReconstructionConfig = field(default_factory=ReconstructionConfig)
    """Grid, meshing and neighbour rule of the volumetric methods (`implicit.reconstruct_person`)."""
    checkpoints: dict[str, Path] = field(default_factory=dict)
    """Method name ('ours', 'ours:mean_pooling', ...) -> checkpoint; missing ones come from implicit/weights/."""
    device: str = "cpu"
    """Torch device of the network."""

    def describe(self) -> dict:
        """JSON-ready settings that change the numbers (a cached result with other settings is recomputed); the
        network's level is the method's (`ours:coarse_only`), not a setting."""
        return {k: v for k, v in self.reconstruction.describe().items() if k != "fine"}


def person_views(scene: SceneData, person_id: int) -> PersonViews:
    """A person's views in a scene: other people and objects are unobserved, not background."""
    return PersonViews(scene.cameras, scene.images, scene.person_mask(person_id), scene.unobserved(person_id))


def visual_hull(config: MethodConfig) -> Method:
    """The visual-hull baseline (implicit.visual_hull): hard carving, unknown = other people and objects."""

    def run(scene: SceneData, person_id: int) -> Mesh:
        body = scene.body(person_id)
        return reconstruct_person(person_views(scene, person_id), body.surface or body.mesh, None,
                                  config.reconstruction).mesh  # fmt: skip

    return run


def body_only(scene: SceneData, person_id: int) -> Mesh:
    """The body-only baseline: the person's body mesh as it is."""
    return scene.body(person_id).mesh


def checkpoint_ablation(model_config) -> str:
    """The ablation (implicit.config.ABLATIONS name) an `implicit.Config` realises, 'none' for the full model."""
    fusion_mean = model_config.coarse.fusion == "mean"
    body_volume, normals = model_config.inputs.use_body_volume, model_config.inputs.use_global_normals
    if fusion_mean and not body_volume and not normals:
        return "pifu_like"
    changes = [name for name, on in (("mean_pooling", fusion_mean), ("no_body_volume", not body_volume),
                                     ("no_global_normals", not normals), ("coarse_only", not model_config.fine.enabled)) if on]  # fmt: skip
    if len(changes) > 1:
        return "+".join(changes)
    return changes[0] if changes else "none"


def _shipped_checkpoints() -> dict[str, Path]:
    """{ablation: path} of the checkpoints shipped in implicit/weights/ (first by name when several realise one)."""
    from implicit.config import Config
    from implicit.training import SHIPPED_WEIGHTS_DIR, read_checkpoint

    found: dict[str, Path] = {}
    for path in sorted(SHIPPED_WEIGHTS_DIR.glob("*.pt")) if SHIPPED_WEIGHTS_DIR.is_dir() else []:
        found.setdefault(checkpoint_ablation(Config.from_dict(read_checkpoint(path, for_training=False)["config"])), path)
    return found


def _network(name: str, config: MethodConfig) -> Method:
    """`ours` / `ours:<ablation>` from its checkpoint (MethodConfig.checkpoints, else implicit/weights/)."""
    from implicit.config import ABLATIONS

    ablation = name.split(":", 1)[1] if ":" in name else "none"
    if ablation not in ABLATIONS:
        raise MethodError(f"method {name!r}: unknown ablation {ablation!r}; expected one of {ABLATIONS}")
    fine = ablation != "coarse_only"
    path = config.checkpoints.get(name)
    if path is None and ablation == "coarse_only":
        path = config.checkpoints.get("ours")
    if path is None:
        shipped = _shipped_checkpoints()
        path = shipped.get(ablation) or (shipped.get("none") if ablation == "coarse_only" else None)
    if path is None:
        raise MethodError(
            f"method {name!r}: no checkpoint; pass --checkpoint {'' if name == 'ours' else name + '='}PATH "
            f"(a `capture train` checkpoint{'' if name == 'ours' else ' trained with --ablation ' + ablation}) "
            "or ship one in implicit/weights/"
        )
    from implicit.training import load_model

    model = load_model(path, config.device)
    realised = checkpoint_ablation(model.config)
    if realised != ablation and not (ablation == "coarse_only" and realised == "none"):
        raise MethodError(f"method {name!r}: checkpoint {path} realises ablation {realised!r}, expected {ablation!r}")
    logger.info("method %s: checkpoint %s (config %s)", name, path, model.config.name)

    reconstruction = dataclasses.replace(config.reconstruction, fine=fine)

    def run(scene: SceneData, person_id: int) -> Mesh:
        body = scene.body(person_id).surface
        if body is None:
            raise MethodError(f"method {name!r}: scene {scene.scene.name} has a body mesh but no body parameters "
                              f"for person {person_id}; the network needs them (gt/body_params.json or --body-runs)")  # fmt: skip
        others = [info.mesh for pid, info in scene.bodies.items() if pid != person_id]
        return reconstruct_person(person_views(scene, person_id), body, others, reconstruction, model).mesh

    return run


def method_names(spec: str | Sequence[str]) -> list[str]:
    """'ours,visual-hull' or a list -> validated, de-duplicated names in the given order."""
    from implicit.config import ABLATIONS

    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    for n in names:
        if n not in BASELINES and n != "ours" and not (n.startswith("ours:") and n[5:] in ABLATIONS):
            raise MethodError(
                f"unknown method {n!r}; expected {', '.join(BASELINES)}, ours or ours:<ablation> with an ablation "
                f"from {ABLATIONS}"
            )
    if not names:
        raise MethodError("expected at least one method name, got none")
    return list(dict.fromkeys(names))


def build_methods(names: str | Sequence[str], config: MethodConfig = MethodConfig()) -> dict[str, Method]:
    """{name: Method} for the named methods (`method_names`); network checkpoints are loaded here, so a missing
    one fails before any scene runs."""
    methods: dict[str, Method] = {}
    for name in method_names(names):
        if name == "visual-hull":
            methods[name] = visual_hull(config)
        elif name == "body-only":
            methods[name] = body_only
        else:
            methods[name] = _network(name, config)
    return methods
