"""Extract files from an image without ever writing outside the chosen folder.

Refused, each with a message, while the rest goes on: names that are empty, ``.``/``..``, hold a
``/``, ``\\`` or NUL; names that collide with another after case folding (they would overwrite
each other on Windows and macOS); anything that already exists; symlinks that are absolute or
point outside the folder. Symlinks are made last, so no file is ever written through one.
Data streams in 1 MiB pieces (constant memory for a 4 GB file); zisofs files are decompressed.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field

from app.core.base.events import CancelToken, Progress, ProgressCallback, no_progress
from app.core.fs.inspection import Inspection
from app.core.fs.node import SECTOR, InspectError, Node

CHUNK = 1 << 20
ZISOFS_MAGIC = b"\x37\xe4\x53\x96\xc9\xdb\xd6\x07"


@dataclass
class ExtractResult:
    written: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (image path, why)
    bytes: int = 0


def _bad_name(name: str) -> str | None:
    if name in ("", ".", ".."):
        return "a name that is empty, '.' or '..'"
    if any(c in name for c in "/\\\0"):
        return "a name containing '/', '\\' or NUL"
    return None


def _stream(insp: Inspection, node: Node) -> bytes:
    """Yield-free reader used by zisofs: the raw stored bytes (bounded by the image)."""
    out = bytearray()
    for lba, ln in node.extents:
        out += insp.img.read(lba * SECTOR, ln)
    return bytes(out)


def _zisofs_blocks(raw: bytes, size: int) -> list[bytes]:
    if raw[:8] != ZISOFS_MAGIC or len(raw) < 16:
        raise InspectError("not zisofs data")
    hdr_size, log2 = raw[12] * 4, raw[13]
    if not 15 <= log2 <= 17:
        raise InspectError(f"zisofs block size 2^{log2} is not valid")
    block = 1 << log2
    nblocks = -(-size // block)
    ptrs = struct.unpack_from(f"<{nblocks + 1}I", raw, hdr_size)
    blocks = []
    for i in range(nblocks):
        a, b = ptrs[i], ptrs[i + 1]
        want = min(block, size - i * block)
        if a == b:
            blocks.append(bytes(want))
            continue
        d = zlib.decompressobj()
        data = d.decompress(raw[a:b], want)  # bounded: a zip bomb cannot grow past a block
        if len(data) != want:
            raise InspectError("zisofs block decompresses to the wrong size")
        blocks.append(data)
    return blocks


def _write_file(
    insp: Inspection,
    node: Node,
    dest: str,
    res: ExtractResult,
    tick: ProgressCallback,
    cancel: CancelToken,
) -> None:
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        if node.zisofs is not None:
            real_size = node.zisofs[2]
            if real_size > 64 * node.size + CHUNK:
                raise InspectError("zisofs size is implausible for its stored size")
            for blk in _zisofs_blocks(_stream(insp, node), real_size):
                os.write(fd, blk)
                res.bytes += len(blk)
        elif node.inline is not None:
            os.write(fd, node.inline)
            res.bytes += len(node.inline)
        else:
            left = node.size
            for lba, ln in node.extents:
                off, end = lba * SECTOR, lba * SECTOR + min(ln, left)
                while off < end:
                    cancel.raise_if_cancelled()
                    data = insp.img.read(off, min(CHUNK, end - off))
                    if not data:
                        raise InspectError("the image ends inside this file (truncated image)")
                    os.write(fd, data)
                    off += len(data)
                    left -= len(data)
                    res.bytes += len(data)
                    tick(Progress("extract", 1, 1, off, 0, res.bytes, 0, 0, 0.0, None, node.path))
    finally:
        os.close(fd)
    if node.mode is not None:
        os.chmod(dest, node.mode & 0o777)  # never setuid/setgid/sticky from an image
    if node.mtime is not None:
        os.utime(dest, (node.mtime, node.mtime))


def _link_escapes(root: str, link_dir: str, target: str) -> bool:
    if os.path.isabs(target) or target.startswith("\\"):
        return True
    resolved = os.path.normpath(os.path.join(link_dir, target))
    return os.path.commonpath([root, resolved]) != root


def extract(
    insp: Inspection,
    paths: list[str] | None,
    out_dir: str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ExtractResult:
    token = cancel or CancelToken()
    res = ExtractResult()
    root = os.path.realpath(out_dir)
    os.makedirs(root, exist_ok=True)
    tops: list[Node] = []
    for p in paths or ["/"]:
        node = insp.find(p)
        if node is None:
            res.refused.append((p, "not in the image"))
        else:
            tops.append(node)
    links: list[tuple[Node, str]] = []
    folded: dict[str, str] = {}

    def place(node: Node, rel_parts: list[str]) -> None:
        token.raise_if_cancelled()
        why = next((w for w in map(_bad_name, rel_parts) if w), None)
        if why:
            res.refused.append((node.path, f"refused: {why}"))
            return
        key = "/".join(rel_parts).casefold()
        if key in folded and folded[key] != node.path:
            res.refused.append(
                (node.path, f"refused: same name as {folded[key]} when case is ignored")
            )
            return
        folded[key] = node.path
        dest = os.path.join(root, *rel_parts)
        parent = os.path.dirname(dest)
        if os.path.realpath(parent) != parent or os.path.commonpath([root, parent]) != root:
            res.refused.append((node.path, "refused: would be written outside the folder"))
            return
        if node.kind == "symlink":
            links.append((node, dest))
            return
        if os.path.lexists(dest) and not (
            node.is_dir and os.path.isdir(dest) and not os.path.islink(dest)
        ):
            res.refused.append((node.path, f"not overwritten: {dest} exists"))
            return
        if node.is_dir:
            os.makedirs(dest, exist_ok=True)
            res.written.append(dest)
            for child in insp.children(node):
                place(child, [*rel_parts, child.name])
            if node.mtime is not None:  # after the children, whose writes would change it
                os.utime(dest, (node.mtime, node.mtime))
            if node.problem:
                res.refused.append((node.path, node.problem))
            return
        try:
            _write_file(insp, node, dest, res, progress, token)
            res.written.append(dest)
        except (InspectError, OSError, struct.error) as e:
            res.refused.append((node.path, f"could not extract: {e}"))

    for top in tops:
        if top is insp.root:
            for child in insp.children(top):
                place(child, [child.name])
        else:
            place(top, [top.name])
    for node, dest in links:
        target = node.target or ""
        if not target or _link_escapes(root, os.path.dirname(dest), target):
            res.refused.append(
                (node.path, f"refused: link to {target!r} points outside the folder")
            )
            continue
        if os.path.lexists(dest):
            res.refused.append((node.path, f"not overwritten: {dest} exists"))
            continue
        os.symlink(target, dest)
        res.written.append(dest)
    # Links can chain (d -> ".", x -> "d/.."): a lexical check is not enough, so resolve every
    # link physically now that all exist, and remove any that lands outside.
    for node, dest in links:
        if os.path.islink(dest) and os.path.commonpath([root, os.path.realpath(dest)]) != root:
            os.unlink(dest)
            res.written.remove(dest)
            res.refused.append((node.path, "refused: link resolves outside the folder"))
    return res
