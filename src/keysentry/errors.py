"""The one exception root and the documented exit codes.

Low layers raise a subclass of :class:`KeysentryError` with text a user can act
on; only the CLI prints it and turns it into an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    CLEAN = 0
    """Nothing was found (or nothing failed the ``--fail-on`` policy)."""
    FINDINGS = 1
    """At least one finding. Never used for a crash."""
    USAGE = 2
    """Bad arguments, configuration, rule file, baseline, or a path that does not exist."""
    INCOMPLETE = 3
    """The scan or operation could not complete (git failure, I/O failure, API failure)."""
    INTERRUPTED = 130
    """Interrupted by the user (Ctrl-C)."""


class KeysentryError(Exception):
    """Root of every error keysentry raises on purpose."""

    exit_code: ExitCode = ExitCode.INCOMPLETE


class UsageError(KeysentryError):
    """The user asked for something that cannot be done as asked."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A configuration file or option is invalid."""


class RuleError(UsageError):
    """A rule file is malformed."""


class BaselineError(UsageError):
    """A baseline file is malformed."""


class ScanError(KeysentryError):
    """The scan could not complete."""


class GitError(ScanError):
    """git failed or the repository cannot be read."""


class ApiError(KeysentryError):
    """The OpenRouter API could not be used as asked."""
