"""DiscVault: back up optical discs to verified .iso images."""

__version__ = "0.1.0"
