"""``keysentry fix``: move a found key out of the code into an environment variable.

One module per kind of file (``python`` with libcst; the other languages, YAML and
Dockerfiles with tree-sitter grammars; notebooks with nbformat), a registry from kind to
rewriter (:mod:`.registry`), the planner that names the variables and checks every
rewritten file still parses (:mod:`.plan`), the env-file writer (:mod:`.envfile`), the
pipeline's stage that tells reports what the fix can do (:mod:`.annotate`), and the
command's flow (:mod:`.flow`). Parsers are imported only when a file of their kind holds
a key, so a scan (and the commit hook) never loads them for a clean tree.
"""
