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
