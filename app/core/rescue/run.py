"""The multi-pass rescue engine: GNU ddrescue's strategy, tuned for optical media.

1. copy   — forward, growing reads on clean media; on an error, mark the cluster non-trimmed and
            skip ahead (doubling up to 1 % of the disc); then a reverse sweep and a plain sweep
            over what was skipped.
2. trim   — from both edges of each non-trimmed run, sector by sector until a bad sector.
3. scrape — each remaining sector of non-scraped runs, once.
4. retry  — up to N passes over bad sectors, alternating direction, until one recovers nothing.

Invariants that make a kill at any instant safe: a sector is marked finished only after its
data was written; the mapfile is written atomically after the image was flushed; and every exit
path (end, error, cancel, disc removed, disk full) saves the mapfile before returning.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from app.core.base.events import Cancelled, CancelToken, ProgressCallback, no_progress
from app.core.base.rangemap import FINISHED
from app.core.disc.sources import SectorSource, SourceError, SourceGone
from app.core.rescue.engine import Engine
from app.core.rescue.types import (
    MARKER,
    DestinationError,
    PassRecord,
    RescueResult,
    RescueSettings,
    marker_sector,
)

__all__ = [
    "MARKER",
    "DestinationError",
    "PassRecord",
    "RescueResult",
    "RescueSettings",
    "marker_sector",
    "rescue",
]


def rescue(
    source: SectorSource,
    image_path: str,
    map_path: str | None = None,
    settings: RescueSettings | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    *,
    command_line: str = "",
    force: bool = False,
    on_finished: Callable[[RescueResult], None] | None = None,
) -> RescueResult:
    """Rescue ``source`` into ``image_path``; resumes when ``map_path`` exists.

    Raises ``DestinationError`` / ``SourceError`` only before anything was written; once the
    run has started every problem comes back as the result's ``outcome`` with the mapfile saved.
    """
    cfg = settings or RescueSettings()
    job = Engine(
        source,
        image_path,
        map_path or image_path + ".map",
        cfg,
        progress,
        cancel or CancelToken(),
        command_line,
        force,
    )
    job.open()
    outcome, message = "complete", ""
    hashes: dict[str, str] | None = None
    hashes_from = ""
    try:
        job.copy_pass(forward=True, skipping=True)
        job.copy_pass(forward=False, skipping=True)
        job.copy_pass(forward=True, skipping=False)
        job.trim_pass()
        job.scrape_pass()
        job.retry_passes()
        if cfg.fill == "marker":
            job.fill_markers()
        job.phase = "done"
        job.save()
        hashes, hashes_from = job.finish_hashes()
        bad = job.total - job.map.count(FINISHED)[0]
        if bad:
            outcome, message = "incomplete", f"{bad} sector(s) unreadable"
    except Cancelled:
        outcome, message = "cancelled", "stopped — run the same backup again to resume"
    except SourceGone as e:
        outcome, message = (
            "source_gone",
            (
                f"{e}. Put the disc back and run the same backup again — "
                "nothing read so far is lost."
            ),
        )
    except SourceError as e:
        outcome, message = "source_gone", f"{e}. Run the same backup again to resume."
    except DestinationError as e:
        outcome, message = "destination_error", str(e)
    finally:
        if job.hasher is not None:
            job.hasher.abort()
        try:
            if job.phase not in ("done", "hash"):
                job.save()
        except (DestinationError, OSError) as e:
            # The previous mapfile is still whole (atomic save): at most seconds are lost.
            message += f" (mapfile not updated: {e})"
        os.close(job.img)
        source.set_phase("done")
        job.tick(force=True)
    result = RescueResult(
        outcome=outcome,
        message=message,
        size=job.size,
        sector_size=job.ss,
        sectors=job.total,
        map=job.map,
        resumed=job.resumed,
        hashes=hashes,
        hashes_from=hashes_from,
        passes=job.passes,
        reads=job.reads,
        failed_reads=job.failed,
        duration=time.monotonic() - job.t0,
        settings=cfg,
        source_notes=list(getattr(source, "notes", [])),
    )
    if on_finished is not None:
        on_finished(result)
    return result
