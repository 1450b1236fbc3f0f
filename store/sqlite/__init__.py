"""The embedded log: one SQLite file (WAL), one writer, any number of read-only readers. See `schema`."""
