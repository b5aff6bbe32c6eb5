"""Errors for bad calibration input, with the file, camera and field that caused them."""

from __future__ import annotations

from pathlib import Path


class RigError(ValueError):
    """A rig or calibration file (or a Camera built in code) is not what was expected.

    The message always reads ``<file>: camera '<name>': field '<field>': <what was expected, what was got>``,
    leaving out the parts that do not apply, so users can find the problem without a traceback.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        camera: str | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.camera = camera
        self.field = field
        self.detail = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.camera is not None:
            parts.append(f"camera '{self.camera}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        parts.append(self.detail)
        return ": ".join(parts)

    def located(
        self, *, file: str | Path | None = None, camera: str | None = None, field: str | None = None
    ) -> "RigError":
        """The same error with location parts filled in where they were still unknown."""
        return RigError(
            self.detail,
            file=self.file or file,
            camera=self.camera if self.camera is not None else camera,
            field=self.field or field,
        )


class FrameSelectionError(RigError):
    """--frames (a FrameRange) asks for frames the data does not have; the message names the data and its range."""
