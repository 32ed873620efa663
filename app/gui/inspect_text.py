"""What the inspector's Volume, Boot and details panes say, in words a person reads."""

from __future__ import annotations

import html
import time

from app.core.base.units import human_bytes, plural
from app.core.fs.extract import ExtractResult
from app.core.fs.inspection import Inspection
from app.core.fs.node import SECTOR, Node

KIND_NAMES = {
    "primary": "ISO 9660 primary volume",
    "joliet": "Joliet volume (long names for Windows)",
    "supplementary": "Supplementary volume",
    "boot": "El Torito boot record",
    "udf": "UDF volume",
}
FIELD_NAMES = {
    "lba": "Descriptor at sector",
    "system_id": "System",
    "volume_id": "Label",
    "volume_space": "Size",
    "publisher": "Publisher",
    "application": "Made with",
    "created": "Created",
    "modified": "Modified",
    "version": "UDF version",
    "partitions": "Partitions",
    "metadata_partition": "Metadata partition",
}


def sectors_text(n: int, unit: int = SECTOR) -> str:
    """'1,234 sectors (2.5 MB)'."""
    return f"{n:,} sector{'' if n == 1 else 's'} ({human_bytes(n * unit)})"


def extent_text(lba: int, length: int) -> str:
    """'sectors 1,234–1,300 (132.0 KB)': where a piece of a file lies on the disc."""
    count = max(-(-length // SECTOR), 1)
    where = f"sector {lba:,}" if count == 1 else f"sectors {lba:,}–{lba + count - 1:,}"
    return f"{where} ({human_bytes(length)})"


def _value(key: str, value: object) -> str:
    if key == "volume_space" and isinstance(value, int):
        return sectors_text(value)
    if key == "lba" and isinstance(value, int):
        return f"{value:,}"
    if key == "partitions" and isinstance(value, list):
        parts = []
        for p in value:
            if isinstance(p, dict):
                start, length = int(p.get("start", 0)), int(p.get("length", 0))
                parts.append(
                    f"#{p.get('number')}: sectors {start:,}–{start + max(length, 1) - 1:,} "
                    f"({human_bytes(length * SECTOR)})"
                )
        return "<br>".join(parts) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return html.escape(str(value))


def volume_html(insp: Inspection) -> str:
    rows = []
    for v in insp.volumes:
        kind = str(v.get("kind", ""))
        rows.append(f"<h4>{html.escape(KIND_NAMES.get(kind, kind))}</h4><table cellpadding='2'>")
        for k, val in v.items():
            if k == "kind" or (k == "volume_space" and not val):
                continue  # a boot record has no size of its own
            rows.append(
                f"<tr><td style='padding-right:16px'>{FIELD_NAMES.get(k, k.replace('_', ' '))}"
                f"</td><td>{_value(k, val)}</td></tr>"
            )
        rows.append("</table>")
    whole = "whole" if insp.whole else f"<b>truncated: {insp.missing_sectors:,} sectors missing</b>"
    rows.append(
        f"<p>The image holds {sectors_text(insp.sectors)}; its filesystem needs "
        f"{sectors_text(insp.required_sectors)}: {whole}.</p>"
    )
    if insp.hybrid:
        rows.append(f"<p>Also bootable from a USB stick: {html.escape(', '.join(insp.hybrid))}</p>")
    if insp.problems:
        rows.append(
            "<p>Problems:<br>" + "<br>".join(html.escape(p) for p in insp.problems) + "</p>"
        )
    return "".join(rows)


def boot_html(insp: Inspection) -> str:
    """One short block per boot entry (a wide table broke its headings mid-word at 640 px)."""
    if not insp.boot:
        return "<p>No El Torito boot catalog: this disc does not boot.</p>"
    rows = []
    for k, b in enumerate(insp.boot, 1):
        how = "bootable" if b.bootable else "not bootable"
        rows.append(
            f"<p><b>Entry {k}: {html.escape(b.platform)}</b> — {how}, "
            f"{html.escape(b.emulation)}<br>"
            f"Boot image: {b.sectors:,} × 512 bytes ({human_bytes(b.sectors * 512)}), "
            f"starts at sector {b.lba:,}; load segment 0x{b.load_segment:04x}</p>"
        )
    rows.append("<p>Boot image sizes count 512-byte units, as El Torito does.</p>")
    return "".join(rows)


def details_html(
    n: Node, lost: int | None, past_end: bool, bad_colour: str, sessions: str = ""
) -> str:
    kind = {"dir": "folder", "file": "file", "symlink": "link"}.get(n.kind, n.kind)
    size = "" if n.is_dir else f", {human_bytes(n.size)} ({n.size:,} bytes)"
    lines = [f"<b>{html.escape(n.path)}</b>", f"{kind}{size}"]
    if n.mtime:
        lines.append("modified " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(n.mtime)))
    if n.mode is not None:
        lines.append(f"permissions {n.mode & 0o7777:04o}")
    if n.target is not None:
        lines.append(f"link to {html.escape(n.target)}")
    if n.zisofs:
        lines.append(f"compressed (zisofs): {human_bytes(n.zisofs[2])} when extracted")
    if n.extents:
        where = ", ".join(extent_text(lba, ln) for lba, ln in n.extents[:6])
        more = f" and {len(n.extents) - 6} more pieces" if len(n.extents) > 6 else ""
        lines.append(f"on the disc: {where}{more}")
    if lost:
        what = "this folder's listing (entries may be missing)" if n.is_dir else "this file"
        lines.append(
            f"<span style='color:{bad_colour}'>{human_bytes(lost)} of {what} sit on "
            "unreadable sectors</span>"
        )
    if past_end:
        lines.append(
            f"<span style='color:{bad_colour}'>part of this file lies past the end of the "
            "image: the image is truncated</span>"
        )
    if sessions:
        lines.append(html.escape(sessions))
    if n.problem:
        lines.append(f"<span style='color:{bad_colour}'>{html.escape(n.problem)}</span>")
    return "<br>".join(lines)


def extract_summary(res: ExtractResult, out: str, what: str = "item") -> str:
    """'Extracted 3 items, 1.2 MB into /out (1 skipped, 1 renamed)'."""
    msg = f"Extracted {plural(len(res.written), what)}, {human_bytes(res.bytes)} into {out}"
    settled = [
        (len(res.skipped), "skipped, already there"),
        (len(res.renamed), "renamed"),
        (len(res.replaced), "replaced"),
    ]
    said = [f"{n} {word}" for n, word in settled if n]
    return msg + (f" ({', '.join(said)})" if said else "")
