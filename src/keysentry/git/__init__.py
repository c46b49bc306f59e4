"""git plumbing: the hardened command line, running git for the pipeline, and
finding repository roots without running it."""
