"""Where a found key sits in its file, and the exact edit that moves it into an
environment variable: the stage that tells reports what ``keysentry fix`` can do, and the
planner the fix command applies.

One module per kind of file (``python`` with libcst; the other languages, YAML and
Dockerfiles with tree-sitter grammars; notebooks with nbformat), a registry from kind to
rewriter (:mod:`.registry`), the planner that names the variables and checks every
rewritten file still parses (:mod:`.plan`), the env file's reader and writer
(:mod:`.envfile`), and the pipeline's stage (:mod:`.annotate`). Parsers are imported only
when a file of their kind holds a key, so a scan (and the commit hook) never loads them
for a clean tree.
"""
