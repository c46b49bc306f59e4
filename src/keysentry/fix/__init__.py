"""``keysentry fix``: move a found key out of the code into an environment variable.

The command's flow (:mod:`.flow`): scan, plan the edits with :mod:`keysentry.rewrite`,
keep each key in the env file first, then rewrite the files (or print the diff) and
untrack what must not be committed.
"""
