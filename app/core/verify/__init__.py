"""Proof that an image is good: wholeness, checksums, DATs, a re-read of the disc."""
