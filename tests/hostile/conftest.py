"""Fixtures of the hostile-input tests."""

from __future__ import annotations

import pytest

from tests.hostile.common import Devices


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch) -> Devices:
    """Every driver replaced by a hook that records the device and refuses: proof of what was contacted."""
    hook = Devices()
    monkeypatch.setattr("engine.transaction.open_driver", hook)
    return hook
