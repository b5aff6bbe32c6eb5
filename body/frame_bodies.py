"""The one reader of a frame's bodies from a run folder: every person of ``RUN/body/<frame>.json`` with their fitted
body evaluated (lazily) by one body model per (model, model folder) for the whole process (`body.shared_body`).

    bodies = read_frame_bodies(RunLayout(RUN), 12)        # {track id: FrameBody}
    bodies[3].person.keypoints, bodies[3].surface.vertices, bodies[3].mesh()
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from body.capture_io import BodyPerson, read_body_frame
from body.surface import BodySurface, body_surface
from calibration.run_layout import RunLayout


@dataclass(frozen=True)
class FrameBody:
    """One person of one frame: the body stage's entry and where to evaluate their body.

    Attributes:
        person: the entry (keypoints, confidence, fitted parameters or None, model name).
        model_dir: SMPL-X model folder for a body fitted with SMPL-X (None: $MULTICAP_SMPLX_DIR).
    """

    person: BodyPerson
    model_dir: str | None = None

    @property
    def fitted(self) -> bool:
        return self.person.params is not None

    @functools.cached_property
    def surface(self) -> BodySurface | None:
        """The posed body (None without a fit), evaluated on first use."""
        from body import shared_body

        if self.person.params is None:
            return None
        model = shared_body(self.person.model, self.model_dir)
        return body_surface(model, self.person.params.to(dtype=model.dtype))

    def mesh(self):
        """The posed body as a `render.Mesh` (None without a fit)."""
        from render import Mesh

        surface = self.surface
        return None if surface is None else Mesh(surface.vertices, surface.faces)


def read_frame_bodies(run: RunLayout, frame: int, model_dir: str | None = None) -> dict[int, FrameBody]:
    """{track id: FrameBody} of everybody in ``frame`` (file order). Raises what `read_body_frame` raises for a
    missing or malformed file (BodyModelError naming the file and field)."""
    _, people = read_body_frame(run.body_file(frame))
    return {person.id: FrameBody(person, model_dir) for person in people}
