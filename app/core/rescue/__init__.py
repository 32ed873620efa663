"""The rescue engine and a whole backup run: passes, report, sidecars."""
