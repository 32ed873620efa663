"""How a backup ended, in one word the report, the CLI's exit code and the GUI all share."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    COMPLETE = "complete"  # every data sector rescued
    INCOMPLETE = "incomplete"  # finished, data sectors remain unreadable
    PROTECTED = "protected"  # finished, the drive refused sectors for copy protection (CSS)
    CANCELLED = "cancelled"  # stopped by the user; resumable
    SOURCE_GONE = "source_gone"  # the disc was removed or the drive went away; resumable
    DESTINATION_ERROR = "destination_error"  # the image or mapfile could not be written

    @property
    def finished(self) -> bool:
        """The passes ran to their end (the image is as good as this drive can make it)."""
        return self in (Outcome.COMPLETE, Outcome.INCOMPLETE, Outcome.PROTECTED)
