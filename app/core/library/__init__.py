"""The library: one folder per disc, a searchable SQLite catalogue rebuilt from those folders."""
