"""Many repositories in one run: targets, the per-repository task, the executors (local
processes, Dask), the SQLite store and the cross-repository merge."""
