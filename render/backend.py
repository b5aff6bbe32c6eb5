"""The one place that initialises Taichi, lazily and once per process.

The architecture comes from the `arch` argument of the first `init_taichi` call, else from the environment
variable MULTICAP_TAICHI_ARCH, else "cpu". Every kernel in `render` calls `init_taichi()` before it runs, so
importing the package never starts Taichi.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os

ARCH_ENV_VAR = "MULTICAP_TAICHI_ARCH"
ARCHES = ("cpu", "cuda", "vulkan", "metal", "gpu")
DEFAULT_ARCH = "cpu"

logger = logging.getLogger(__name__)

_initialised_arch: str | None = None


class BackendError(ValueError):
    """Taichi was asked for an architecture it cannot use, or for a second, different one."""


def init_taichi(arch: str | None = None) -> str:
    """Initialise Taichi once and return the architecture name in use.

    Args:
        arch: one of ARCHES; None means "the one already initialised", else $MULTICAP_TAICHI_ARCH, else "cpu".

    Raises:
        BackendError: unknown name, or a different arch than the one this process already initialised
            (Taichi cannot switch architectures safely while kernels and buffers exist).
    """
    global _initialised_arch
    if arch is None and _initialised_arch is not None:
        return _initialised_arch
    source = "argument 'arch'"
    if arch is None:
        arch, source = os.environ.get(ARCH_ENV_VAR, DEFAULT_ARCH), f"${ARCH_ENV_VAR}"
    arch = arch.strip().lower()
    if arch not in ARCHES:
        raise BackendError(f"{source}: expected one of {', '.join(ARCHES)}, got {arch!r}")
    if _initialised_arch is not None:
        if arch != _initialised_arch:
            raise BackendError(
                f"{source}: Taichi is already initialised with arch {_initialised_arch!r} in this process, "
                f"cannot switch to {arch!r}; set {ARCH_ENV_VAR} before the first render instead"
            )
        return _initialised_arch

    os.environ.setdefault("ENABLE_TAICHI_HEADER_PRINT", "False")  # no banner on stdout at import
    import taichi as ti

    with contextlib.redirect_stdout(io.StringIO()) as banner:  # ti.init prints "[Taichi] Starting on ..."
        ti.init(arch=getattr(ti, arch), default_fp=ti.f32, default_ip=ti.i32, log_level=ti.WARN)
    _initialised_arch = arch
    version = ".".join(map(str, ti.__version__))
    logger.info("taichi %s initialised for arch %s: %s", version, arch, banner.getvalue().strip())
    return arch


def initialised_arch() -> str | None:
    """The architecture Taichi was initialised with, or None before the first `init_taichi`."""
    return _initialised_arch
