"""Taichi is initialised once; a bad or conflicting architecture is refused with a clear message."""

from __future__ import annotations

import pytest

from render import BackendError, init_taichi
from render.backend import ARCHES


def test_init_is_idempotent(taichi_arch):
    assert taichi_arch in ARCHES
    assert init_taichi() == taichi_arch
    assert init_taichi(taichi_arch.upper()) == taichi_arch


def test_unknown_arch_is_refused(taichi_arch):
    with pytest.raises(BackendError, match="argument 'arch': expected one of cpu, cuda"):
        init_taichi("tpu")


def test_switching_arch_is_refused(taichi_arch):
    other = "vulkan" if taichi_arch != "vulkan" else "cpu"
    with pytest.raises(BackendError, match=f"already initialised with arch '{taichi_arch}'"):
        init_taichi(other)
