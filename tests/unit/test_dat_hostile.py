"""DATs made to hurt: each gives one clear error in bounded time and memory, never a hang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.base.events import Cancelled, CancelToken
from app.core.verify import dat, verifier

HEAD = (
    '<?xml version="1.0"?>\n<datafile>\n<game name="G"><rom name="g.iso" size="1" crc="00000001"/>'
)


def write(tmp_path: Path, *parts: bytes) -> str:
    p = tmp_path / "h.dat"
    with open(p, "wb") as f:
        for part in parts:
            f.write(part)
    return str(p)


def test_one_16mb_attribute_is_refused_in_one_line(tmp_path: Path) -> None:
    # expat 2.5 re-scans an unfinished tag on every chunk: 32 s at 16 MB with the old parser
    path = write(
        tmp_path, HEAD.encode(), b'<rom name="', b"a" * (16 << 20), b'"/></game></datafile>'
    )
    with pytest.raises(dat.DatError) as e:
        dat.load(path)
    msg = str(e.value)
    assert "runs past 1 MiB" in msg and "h.dat" in msg and "\n" not in msg


@pytest.mark.parametrize(
    "junk",
    [b"<!-- " + b"c" * (3 << 20) + b" -->", b"<rom " + b'a="" ' * (700_000) + b"/>"],
    ids=["comment", "many-attributes"],
)
def test_other_unbounded_tokens_are_refused(tmp_path: Path, junk: bytes) -> None:
    path = write(tmp_path, HEAD.encode(), junk, b"</game></datafile>")
    with pytest.raises(dat.DatError, match="runs past"):
        dat.load(path)


def test_long_text_is_read_as_it_comes(tmp_path: Path) -> None:
    # character data does not stall expat; a long description is odd but harmless
    path = write(
        tmp_path, HEAD.encode(), b"<description>", b"t" * (6 << 20), b"</description></game>",
        b"</datafile>",
    )  # fmt: skip
    assert dat.load(path).rom_count == 1


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE datafile [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE datafile [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE datafile [<!ENTITY % p SYSTEM "http://example.invalid/x.dtd"> %p;]>',
    ],
    ids=["billion-laughs", "external-file", "parameter-entity"],
)
def test_entity_declarations_are_refused(tmp_path: Path, doctype: str) -> None:
    body = f'<?xml version="1.0"?>\n{doctype}\n<datafile><game name="&b;">'
    path = write(tmp_path, body.encode(), b'<rom name="g" size="1" crc="1"/></game></datafile>')
    with pytest.raises(dat.DatError, match="entities"):
        dat.load(path)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD.encode(), b"<a>" * 10_000, b"</a>" * 10_000, b"</game></datafile>")
    with pytest.raises(dat.DatError, match="nested"):
        dat.load(path)


@pytest.mark.timeout(30)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.dat"
    os.mkfifo(fifo)
    with pytest.raises(dat.DatError, match="not a regular file"):
        dat.load(str(fifo))
    with pytest.raises(dat.DatError, match="not a regular file"):
        dat.load(str(tmp_path))


def test_binary_garbage_names_line_and_problem(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD.encode(), b"\x00\xff\xfe garbage")
    with pytest.raises(dat.DatError, match=r"not a valid XML DAT \(.* at line 3\)"):
        dat.load(path)


class CancelAfter(CancelToken):
    """A token that is cancelled after ``n`` checks, as a signal handler would do mid-load."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.checks = 0
        self.n = n

    def raise_if_cancelled(self) -> None:
        self.checks += 1
        if self.checks > self.n:
            self.cancel("stopped by SIGINT")
        super().raise_if_cancelled()


def big_dat(tmp_path: Path, games: int) -> str:
    rows = "".join(
        f'<game name="G{i}"><rom name="g{i}.iso" size="{i}" crc="{i:08x}"/></game>\n'
        for i in range(games)
    )
    return write(tmp_path, f'<?xml version="1.0"?>\n<datafile>\n{rows}</datafile>\n'.encode())


def test_cancel_stops_the_load_between_chunks(tmp_path: Path) -> None:
    path = big_dat(tmp_path, 100_000)  # ~7 MB: several chunks
    token = CancelAfter(2)
    with pytest.raises(Cancelled):
        dat.load(path, cancel=token)
    assert token.checks == 3  # stopped at the third chunk, not after the whole file


def test_verify_reports_cancelled_when_stopped_while_the_dat_loads(tmp_path: Path) -> None:
    image = tmp_path / "x.iso"
    image.write_bytes(b"\0" * 2048 * 4)
    token = CancelToken()
    token.cancel("stopped by SIGINT")
    r = verifier.verify(str(image), dat_path=big_dat(tmp_path, 10), cancel=token)
    assert r.outcome == "cancelled"


def test_cli_prints_one_line_and_exits_4(tmp_path: Path) -> None:
    image = tmp_path / "x.iso"
    image.write_bytes(b"\0" * 2048 * 4)
    path = write(
        tmp_path, HEAD.encode(), b'<rom name="', b"a" * (3 << 20), b'"/></game></datafile>'
    )
    r = subprocess.run(
        [sys.executable, "-m", "app", "verify", str(image), "--dat", path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 4
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("discvault: ") and "runs past" in lines[0]
