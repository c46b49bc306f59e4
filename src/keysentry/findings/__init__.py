"""Findings: one per distinct secret, with every place it was seen. Built from the
scanner's hits (:mod:`.build`), or read back from a keysentry report (:mod:`.read`) for the
commands that act on an earlier scan (revoke, keys audit, baselines, purge --report)."""
