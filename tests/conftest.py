"""Shared fixtures. Fault devices are real: FUSE + loop device, never a mock of the engine."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faultdev import FaultDevice, unavailable_reason

MakeDevice = Callable[..., FaultDevice]


def require_fault_devices() -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"fault-injecting block devices are required in CI but unavailable: {reason}")
    pytest.skip(f"fault devices unavailable: {reason}")


@pytest.fixture
def make_device(tmp_path: Path) -> Iterator[MakeDevice]:
    """``make_device(data, faults, error_delay=0)`` -> a loop device over faultfs."""
    require_fault_devices()
    made: list[FaultDevice] = []

    def make(data: bytes, faults: list[dict[str, Any]], error_delay: float = 0.0) -> FaultDevice:
        work = tmp_path / f"dev{len(made)}"
        work.mkdir()
        backing = work / "backing.bin"
        backing.write_bytes(data)
        dev = FaultDevice(backing, work, faults, error_delay)
        made.append(dev)
        return dev

    yield make
    for dev in made:
        dev.close()


def random_bytes(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)
