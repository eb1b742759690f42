"""The run directory on disk: manifest, durable verdict log, compacted Parquet, lock, and export."""
