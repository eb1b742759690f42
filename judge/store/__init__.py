"""The run directory on disk: manifest, durable verdict log, compacted Parquet, lock, export, and
reading a run back (``read_run``), upgrading older formats by named steps."""
