from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

from app.core.base.hashing import StreamHasher, hash_file
from tests.conftest import random_bytes


def reference(data: bytes) -> dict[str, str]:
    return {
        "crc32": f"{zlib.crc32(data):08x}",
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_stream_hasher_equals_one_shot_digests() -> None:
    data = random_bytes(3_000_000)
    h = StreamHasher(depth=2)  # tiny queues: the reader must block, not drop chunks
    for i in range(0, len(data), 65536):
        h.update(data[i : i + 65536])
    assert h.finish() == reference(data)


def test_hash_file_and_stop(tmp_path: Path) -> None:
    data = random_bytes(2_500_000, seed=3)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    assert hash_file(str(p), chunk=100_000) == reference(data)
    assert hash_file(str(p), should_stop=lambda: True) is None


def test_md5_has_a_thread_of_its_own() -> None:
    from app.core.base.hashing import groups_of

    assert groups_of(("crc32", "md5", "sha1", "sha256")) == [["md5"], ["sha1", "sha256", "crc32"]]
    assert groups_of(("sha1",)) == [["sha1"]]
    h = StreamHasher()
    assert len(h._threads) == 2  # two cores, two threads: MD5 never shares its core
    h.abort()


def test_a_snapshot_brings_the_digests_back() -> None:
    a, b = random_bytes(400_000, seed=4), random_bytes(300_000, seed=5)
    h = StreamHasher(depth=2)
    h.update(a)
    snap = h.snapshot()
    h.update(b"something else entirely" * 1000)
    h.restore(snap, len(a))
    h.update(b)
    assert h.finish() == reference(a + b)


def rewrite(p: Path, data: bytearray, offset: int, new: bytes) -> None:
    data[offset : offset + len(new)] = new
    with open(p, "r+b") as f:
        f.seek(offset)
        f.write(new)


def test_image_hasher_follows_changes_behind_and_ahead(tmp_path: Path) -> None:
    from app.core.base.hashing import ImageHasher

    data = bytearray(random_bytes(6_000_000, seed=6))
    holes = [1_000_000, 2_500_000, 4_000_000, 5_500_000]  # where a rescue may still write
    for h in holes:
        data[h : h + 2048] = bytes(2048)
    p = tmp_path / "img"
    p.write_bytes(data)
    hasher = ImageHasher(str(p), holes, len(data), chunk=65536)
    import random

    rng = random.Random(1)
    for i in range(40):  # writes into the holes while it hashes: behind it, ahead of it
        h = rng.choice(holes)
        rewrite(p, data, h, bytes([i + 1]) * 2048)
        hasher.changed(h)
    assert hasher.finish(len(data)) == reference(bytes(data))


def test_image_hasher_hashes_a_shorter_image_and_stops(tmp_path: Path) -> None:
    from app.core.base.hashing import ImageHasher

    data = random_bytes(3_000_000, seed=7)
    p = tmp_path / "img"
    p.write_bytes(data)
    hasher = ImageHasher(str(p), [2_000_000], len(data), chunk=65536)
    hasher.hasher.snapshot().ready.wait()
    with open(p, "r+b") as f:  # the rescue cuts trailing unreadable run-out off the image
        f.truncate(2_000_000)
    assert hasher.finish(2_000_000) == reference(data[:2_000_000])
    waiting = ImageHasher(str(p), [], 3_000_000)  # bytes that never come: it must not hang
    assert waiting.finish(3_000_000, should_stop=lambda: True) is None


def test_image_hasher_goes_on_from_digests_of_the_prefix(tmp_path: Path) -> None:
    """A rescue hands over the digests of what it read in order: the background hash starts
    there (never reading those bytes again) and still ends with the whole file's hashes."""
    from app.core.base.hashing import ImageHasher

    data = bytearray(random_bytes(3_000_000, seed=8))
    p = tmp_path / "img"
    p.write_bytes(data)
    prefix = StreamHasher()
    prefix.update(bytes(data[:1_000_000]))
    with open(p, "r+b") as f:  # what the background hash must not read: it is not hashed
        f.write(bytes(1_000_000))
    hasher = ImageHasher(str(p), [2_000_000], len(data), chunk=65536, start=(prefix, 1_000_000))
    rewrite(p, data, 2_000_000, b"\x07" * 2048)  # a later sector recovered meanwhile
    hasher.changed(2_000_000)
    assert hasher.finish(len(data)) == reference(bytes(data))


def test_image_hasher_refuses_a_change_before_where_it_began(tmp_path: Path) -> None:
    import pytest

    from app.core.base.hashing import ImageHasher

    data = random_bytes(1_000_000, seed=9)
    p = tmp_path / "img"
    p.write_bytes(data)
    prefix = StreamHasher()
    prefix.update(data[:500_000])
    hasher = ImageHasher(str(p), [], len(data), chunk=65536, start=(prefix, 500_000))
    with pytest.raises(OSError):  # the caller then hashes the file anew
        hasher.finish(400_000)  # the image was cut shorter than the prefix


def _until(cond: object, what: str) -> None:
    import time

    deadline = time.monotonic() + 30  # a state to reach, not a speed: only a hang fails
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_image_hasher_follows_a_last_forward_pass(tmp_path: Path) -> None:
    """Held at the position of a rescue's last forward pass: the first change behind it sends
    it back at once, and from then on it hashes only up to that position, so the changes
    that follow (always ahead of the position) never send it back again."""
    from app.core.base.hashing import ImageHasher

    data = bytearray(random_bytes(3_000_000, seed=10))
    marks = [1_000_000, 2_000_000, 2_600_000]
    p = tmp_path / "img"
    p.write_bytes(data)
    hasher = ImageHasher(str(p), marks, len(data), chunk=65536)
    _until(lambda: hasher.pos == len(data), "hashed ahead to the end")
    hasher.hold(1_000_000)  # the last pass begins: nothing changed behind it yet
    hasher.hold(2_000_000)
    rewrite(p, data, 2_000_000, b"\x01" * 2048)  # recovered: behind what was hashed
    hasher.changed(2_000_000)
    hasher.hold(2_100_000)
    _until(lambda: hasher.pos == 2_100_000, "back at once, then up to the pass")
    assert hasher.rollbacks == 1
    hasher.hold(2_600_000)
    _until(lambda: hasher.pos == 2_600_000, "following the pass")
    rewrite(p, data, 2_600_000, b"\x02" * 2048)
    hasher.changed(2_600_000)
    hasher.hold(None)
    assert hasher.finish(len(data)) == reference(bytes(data))
    assert hasher.rollbacks == 1  # the change at the pass's position was never hashed before
