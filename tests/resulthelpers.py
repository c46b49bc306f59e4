"""Scan results built by hand, for the reporters' tests."""

from __future__ import annotations

from keysentry.models import (
    CommitInfo,
    Finding,
    Issue,
    KeyDetails,
    Location,
    ScanResult,
    ScanStats,
    Validation,
    fingerprint_of,
    redact,
)


def finding(secret: str, *locations: Location, **kw: object) -> Finding:
    return Finding(
        rule_id=str(kw.pop("rule_id", "openrouter-api-key")),
        severity=kw.pop("severity", "high"),  # type: ignore[arg-type]
        fingerprint=fingerprint_of(secret),
        redacted=redact(secret),
        locations=locations,
        secret=secret,
        description="OpenRouter API key",
        **kw,  # type: ignore[arg-type]
    )


def rich_result(keys: list[str], show_secrets: bool = False) -> ScanResult:
    commit = CommitInfo("a" * 40, "Dev <dev@example.test>", "2024-01-01T00:00:00+00:00", "add")
    live = Validation("live", "", KeyDetails(label="ci", limit=5.0, usage=1.5), "2024-01-02")
    plain = finding(
        keys[0],
        Location("src/app.py", 3, 9, snippet=f'KEY = "{redact(keys[0])}"', git_status="tracked"),
        Location("dist/release.tar.gz", 2, 5, members=("release/pkg.whl", "pkg/settings.py"),
                 decoders=("gzip", "tar", "zip")),
        Location("config/old.env", 1, 5, source="blob", blob="b" * 40, commit=commit,
                 exposure="pushed", in_head=False),
        Location("dir with space/ä:b,c.txt", 7, 1, decoders=("base64",)),
        validation=live,
    )  # fmt: skip
    message = finding(
        keys[1],
        Location("<commit message>", 2, 1, source="commit-message", blob="c" * 40,
                 commit=commit, exposure="reflog-only"),
        severity="medium", rule_id="openrouter-api-key-unknown-version",
    )  # fmt: skip
    placeholder = finding(keys[2], Location("docs/x.md", 1, 1), severity="info", placeholder=True)
    stats = ScanStats(
        counters={"files": 4, "bytes": 1000},
        issues=(Issue("symlink", "link", "symbolic link not followed"),),
        duration_s=0.5,
        notes=("range: origin/main..HEAD",),
    )
    return ScanResult("history", (".",), (plain, message, placeholder), stats, show_secrets)
