"""Where the body package keeps its per-machine caches (the Anny model cache, ~790 MB).

Convention: ``$MULTICAP_CACHE_DIR`` if set, else ``~/.cache/multicap``; Anny's cache lives in its ``anny/``
subfolder. Anny reads ``ANNY_CACHE_DIR`` when it is first imported, so :func:`import_anny` sets it (and, if
Anny was already imported by someone else, redirects it through ``anny.paths.set_anny_cache_path``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import ModuleType

CACHE_ENV_VAR = "MULTICAP_CACHE_DIR"


def multicap_cache_dir() -> Path:
    """The project cache directory: ``$MULTICAP_CACHE_DIR`` or ``~/.cache/multicap``."""
    value = os.environ.get(CACHE_ENV_VAR)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "multicap"


def anny_cache_dir() -> Path:
    """The Anny model cache directory (``<multicap cache>/anny``)."""
    return multicap_cache_dir() / "anny"


def anny_cache_is_built() -> bool:
    """True when Anny's compacted full-body model data is already cached on this machine."""
    return any(anny_cache_dir().glob("v*/build_compact_model_data_*.safetensors"))


def _not_a_cache_hit(record: logging.LogRecord) -> bool:
    """Logging filter: False for Anny's 'Loading cached model data from ...' (logged at every model creation)."""
    return not record.getMessage().startswith("Loading cached model data")


def import_anny() -> ModuleType:
    """Import ``anny`` with its cache pointed at :func:`anny_cache_dir`; its cache-hit log line is dropped (a
    cache build is still logged)."""
    logging.getLogger("anny.models.model_data").addFilter(_not_a_cache_hit)
    cache = anny_cache_dir()
    if "anny" not in sys.modules:
        os.environ["ANNY_CACHE_DIR"] = str(cache)
    import anny
    import anny.paths

    if anny.paths.get_anny_cache_path() != cache:
        anny.paths.set_anny_cache_path(cache)
    return anny
