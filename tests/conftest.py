"""Shared fixtures. Fault devices are real: FUSE + loop device, never a mock of the engine."""

from __future__ import annotations

import functools
import os
import random
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.faultdev import FaultDevice, unavailable_reason

MakeDevice = Callable[..., FaultDevice]
DEPS_LIST = Path(__file__).resolve().parents[1] / "packaging" / "deps" / "apt.txt"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@functools.cache
def tool_packages() -> dict[str, str]:
    """Command or library name -> the Debian package that provides it, from the shared list
    that `make test` and .ci/run install (packaging/deps/apt.txt)."""
    out: dict[str, str] = {}
    for line in DEPS_LIST.read_text().splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[0].startswith("#"):
            continue
        for probe in fields[2:]:
            out.setdefault(probe.split(":", 1)[1], fields[0])
    return out


def install_hint(*tools: str) -> str:
    """The command that installs ``tools``, for a skip or failure message."""
    known = tool_packages()
    unknown = [t for t in tools if t not in known]
    if unknown:
        return f"add {', '.join(unknown)} with its package to packaging/deps/apt.txt"
    pkgs = " ".join(dict.fromkeys(known[t] for t in tools))
    sudo = "" if os.geteuid() == 0 else "sudo "
    return (
        f"run: {sudo}apt-get install --no-install-recommends {pkgs} (`make test` does it as root)"
    )


def missing_tool(*tools: str) -> NoReturn:
    """Skip the test, or fail it in CI, because ``tools`` (commands or libraries) are missing."""
    msg = f"{', '.join(tools)} {'is' if len(tools) == 1 else 'are'} not installed — "
    msg += install_hint(*tools)
    if in_ci():
        pytest.fail(f"required in CI: {msg}", pytrace=False)
    pytest.skip(msg)


def require_tool(*tools: str) -> None:
    """Every external program a test runs goes through here first: present, or a skip naming
    the install command (outside CI), or a loud failure (CI) — never a FileNotFoundError."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        missing_tool(*missing)


def _raise_for_missing_program(e: FileNotFoundError) -> None:
    """A test that ran a program without require_tool() first: turn subprocess's
    FileNotFoundError for a bare program name into the same skip/failure."""
    name = e.filename if isinstance(e.filename, str) else None
    if name and os.sep not in name and shutil.which(name) is None:
        missing_tool(name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except FileNotFoundError as e:
        _raise_for_missing_program(e)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except FileNotFoundError as e:
        _raise_for_missing_program(e)
        raise


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
