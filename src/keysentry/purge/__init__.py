"""``keysentry purge``: history rewritten without the keys (git-filter-repo run
isolated, with callbacks), then verified by a literal search that is independent of
the scanner."""
