"""Shared fixtures of the synth tests: one AnnyBody per session (its cache is built at most once per machine)."""

from __future__ import annotations

import pytest

from body.anny_body import AnnyBody


@pytest.fixture(scope="session")
def anny_body() -> AnnyBody:
    return AnnyBody()
