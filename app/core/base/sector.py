"""The one sector size of an .iso: 2048 bytes of user data (CD Mode 1, DVD, BD)."""

SECTOR = 2048
