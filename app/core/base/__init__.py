"""What every domain stands on: progress events, range maps, ddrescue mapfiles, hashes, units."""
