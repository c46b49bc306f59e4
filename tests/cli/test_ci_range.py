"""`keysentry ci`: the commit range chosen on GitHub Actions, GitLab CI, pre-push and elsewhere.

Each test builds a real repository with a bare remote; GitHub event payloads are
written to files and GitLab's variables set, as the runners do.
"""

from __future__ import annotations

import io
import json
import sys

import pytest

from cihelpers import (
    ZERO,
    History,
    build_history,
    chosen,
    ci,
    fingerprints,
    github_env,
    gitlab_env,
    notes,
    only_location,
)
from conftest import git
from keysentry.cli import main
from keysentry.cli.ci_ranges import CommitRange, choose_ranges
from keysentry.errors import ExitCode, UsageError
from keysentry.models import fingerprint_of


@pytest.fixture
def history(tmp_path, monkeypatch) -> History:
    """main: c1 (old key), c2 -- pushed to origin; feature: c3 (new key), c4."""
    return build_history(tmp_path, monkeypatch)


# -- GitHub Actions -------------------------------------------------------------------------


def test_github_pull_request(history, monkeypatch, tmp_path, capsys) -> None:
    pr = {"number": 7, "base": {"sha": history.c2}, "head": {"sha": history.c4}}
    github_env(monkeypatch, tmp_path, "pull_request", {"pull_request": pr})
    code, report, err = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}  # the old key is not new
    assert (
        f"pull_request #7: the pull request's commits ({history.c2[:12]}..{history.c4[:12]})" in err
    )
    assert any("pull request" in n for n in report["stats"]["notes"])  # type: ignore[index]
    # A key that reached a CI job was pushed, whatever the job's clone calls its refs.
    assert only_location(report)["exposure"] == "pushed"
    assert any("GITHUB_ACTIONS is set" in n for n in notes(report))
    assert not any("not pushed" in n for n in notes(report))


def test_github_push_before_after(history, monkeypatch, tmp_path, capsys) -> None:
    payload = {
        "ref": "refs/heads/feature",
        "before": history.c3,
        "after": history.c4,
        "repository": {"default_branch": "main"},
    }
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, err = ci(capsys)
    assert code == ExitCode.CLEAN and not fingerprints(report)  # c4 adds no key
    assert f"GitHub push to refs/heads/feature: {history.c3[:12]}..{history.c4[:12]}" in err


def test_github_push_of_a_new_branch(history, monkeypatch, tmp_path, capsys) -> None:
    payload = {
        "ref": "refs/heads/feature",
        "before": ZERO,
        "after": history.c4,
        "created": True,
        "repository": {"default_branch": "main"},
    }
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, err = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert "a new branch): the commits not on main (refs/remotes/origin/main.." in err


def test_github_force_push_falls_back_to_the_default_branch(
    history, monkeypatch, tmp_path, capsys
) -> None:
    gone = "1234567890" * 4
    payload = {
        "ref": "refs/heads/feature",
        "before": gone,
        "after": history.c4,
        "forced": True,
        "repository": {"default_branch": "main"},
    }
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, err = ci(capsys)
    assert code == ExitCode.FINDINGS and "a force-push (123456789012 is gone)" in err
    # Only the commits not on the default branch: the key on main is not new.
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert chosen(report).endswith(f"(refs/remotes/origin/main..{history.c4[:12]})")


def test_github_first_push_of_the_default_branch(history, monkeypatch, tmp_path, capsys) -> None:
    payload = {
        "ref": "refs/heads/main",
        "before": ZERO,
        "after": history.c2,
        "repository": {"default_branch": "main"},
    }
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, err = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.old_key)}  # everything is new
    assert "creating the default branch main: all its commits" in err


def test_github_branch_deletion_scans_nothing(history, monkeypatch, tmp_path, capsys) -> None:
    payload = {
        "ref": "refs/heads/feature",
        "before": history.c4,
        "after": ZERO,
        "deleted": True,
        "repository": {"default_branch": "main"},
    }
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, _ = ci(capsys)
    assert code == ExitCode.CLEAN and "nothing to scan" in report["stats"]["notes"][0]  # type: ignore[index]


def test_github_merge_group(history, monkeypatch, tmp_path, capsys) -> None:
    group = {"base_sha": history.c2, "head_sha": history.c3}
    github_env(monkeypatch, tmp_path, "merge_group", {"merge_group": group})
    code, report, err = ci(capsys)
    assert code == ExitCode.FINDINGS and "merge queue" in err
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert chosen(report) == f"GitHub merge queue: {history.c2[:12]}..{history.c3[:12]}"
    assert report["stats"]["counters"]["commits"] == 1  # type: ignore[index]  # c3 alone


def test_github_event_without_a_range(history, monkeypatch, tmp_path, capsys) -> None:
    github_env(monkeypatch, tmp_path, "workflow_dispatch", {})
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert "'workflow_dispatch' has no commit range" in err and "--range" in err
    code, report, err = ci(capsys, "--full-fallback")
    assert code == ExitCode.FINDINGS  # the whole history, only because it was asked for
    assert fingerprints(report) == {
        fingerprint_of(history.old_key),
        fingerprint_of(history.new_key),
    }


def test_github_shallow_clone_is_explained(history, monkeypatch, tmp_path, capsys) -> None:
    pr = {"number": 1, "base": {"sha": "ab" * 20}, "head": {"sha": history.c4}}
    github_env(monkeypatch, tmp_path, "pull_request", {"pull_request": pr})
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE and "base abababababab" in err and "fetch-depth: 0" in err


def test_github_bad_payload(history, monkeypatch, tmp_path, capsys) -> None:
    github_env(monkeypatch, tmp_path, "pull_request", {"pull_request": {"base": {}}})
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE and "no pull_request.base.sha" in err


# -- GitLab CI ------------------------------------------------------------------------------


def test_gitlab_merge_request(history, monkeypatch, capsys) -> None:
    gitlab_env(
        monkeypatch,
        CI_COMMIT_SHA=history.c4,
        CI_MERGE_REQUEST_DIFF_BASE_SHA=history.c2,
        CI_MERGE_REQUEST_IID="12",
        CI_PIPELINE_SOURCE="merge_request_event",
    )
    code, report, err = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert "GitLab merge request !12: the commits since the merge-request diff base" in err


def test_gitlab_merged_results_uses_the_source_sha(history, monkeypatch, capsys) -> None:
    git(history.path, "switch", "-q", "main")
    git(history.path, "merge", "-q", "--no-ff", "-m", "merged result", "feature")
    merge = git(history.path, "rev-parse", "HEAD").strip()
    gitlab_env(
        monkeypatch,
        CI_COMMIT_SHA=merge,
        CI_MERGE_REQUEST_DIFF_BASE_SHA=history.c2,
        CI_MERGE_REQUEST_SOURCE_BRANCH_SHA=history.c4,
        CI_MERGE_REQUEST_IID="3",
    )
    ranges = choose_ranges(dict(_gitlab_vars(monkeypatch)), history.path, None, None)
    assert ranges is not None and ranges[0].spec == f"{history.c2}..{history.c4}"


def _gitlab_vars(monkeypatch) -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k.startswith(("CI_", "GITLAB"))}


def test_gitlab_push(history, monkeypatch, capsys) -> None:
    gitlab_env(
        monkeypatch,
        CI_COMMIT_SHA=history.c4,
        CI_COMMIT_BEFORE_SHA=history.c3,
        CI_COMMIT_BRANCH="feature",
        CI_DEFAULT_BRANCH="main",
    )
    code, _report, err = ci(capsys)
    assert code == ExitCode.CLEAN and f"GitLab push: {history.c3[:12]}..{history.c4[:12]}" in err


def test_gitlab_new_branch(history, monkeypatch, capsys) -> None:
    gitlab_env(
        monkeypatch,
        CI_COMMIT_SHA=history.c4,
        CI_COMMIT_BEFORE_SHA=ZERO,
        CI_COMMIT_BRANCH="feature",
        CI_DEFAULT_BRANCH="main",
    )
    code, report, err = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert "the commits not on main (refs/remotes/origin/main.." in err


def test_gitlab_new_branch_without_the_default_branch(history, monkeypatch, capsys) -> None:
    git(history.path, "update-ref", "-d", "refs/remotes/origin/main")
    git(history.path, "branch", "-q", "-D", "main")
    gitlab_env(
        monkeypatch,
        CI_COMMIT_SHA=history.c4,
        CI_COMMIT_BEFORE_SHA=ZERO,
        CI_COMMIT_BRANCH="feature",
        CI_DEFAULT_BRANCH="main",
    )
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE and "default branch 'main' is not in this clone" in err
    assert "git fetch origin +refs/heads/main:refs/remotes/origin/main" in err


def test_gitlab_pipeline_without_a_range(history, monkeypatch, capsys) -> None:
    gitlab_env(
        monkeypatch,
        CI_COMMIT_SHA=history.c2,
        CI_COMMIT_BEFORE_SHA=ZERO,
        CI_COMMIT_BRANCH="main",
        CI_DEFAULT_BRANCH="main",
        CI_PIPELINE_SOURCE="schedule",
    )
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE and "GitLab pipeline (schedule) has no commit range" in err


# -- elsewhere ------------------------------------------------------------------------------


def test_explicit_range(history, capsys) -> None:
    code, report, err = ci(capsys, "--range", f"{history.c3}..{history.c4}")
    assert code == ExitCode.CLEAN and f"--range {history.c3}..{history.c4}" in err
    code, report, _ = ci(capsys, "--range", "main..feature")
    assert code == ExitCode.FINDINGS and fingerprints(report) == {fingerprint_of(history.new_key)}


@pytest.mark.parametrize("bad", ["main", "..feature", "main..", "main...feature"])
def test_malformed_range(history, capsys, bad: str) -> None:
    code, _, err = ci(capsys, "--range", bad)
    assert code == ExitCode.USAGE and "BASE..HEAD" in err


def test_no_ci_no_range_is_an_error(history, capsys) -> None:
    code, report, err = ci(capsys)
    assert code == ExitCode.USAGE and report == {}
    assert "no commit range" in err and "--full-fallback" in err


def test_pre_commit_framework_refs(history, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", history.c2)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", history.c4)
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/feature")
    monkeypatch.setenv("CI", "true")  # even so: a push hook's commits are not pushed yet
    code, report, err = ci(capsys)
    assert code == ExitCode.FINDINGS and "push of refs/heads/feature" in err
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert chosen(report).endswith(f"({history.c2[:12]}..{history.c4[:12]})")
    assert report["stats"]["counters"]["commits"] == 2  # type: ignore[index]  # c3, c4
    assert only_location(report)["exposure"] == "head"
    assert not any("CI is set" in n for n in notes(report))


def test_git_pre_push_protocol(history, monkeypatch, capsys) -> None:
    lines = [
        f"refs/heads/feature {history.c4} refs/heads/feature {ZERO}",  # a new branch
        f"refs/heads/gone {ZERO} refs/heads/gone {history.c2}",  # a deletion: nothing
        f"refs/heads/main {history.c2} refs/heads/main {history.c2}",  # nothing new
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    code, report, err = ci(capsys, "--pre-push", "origin")
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert "push of refs/heads/feature to origin refs/heads/feature (a new branch): 2 new" in err


def test_git_pre_push_of_a_force_push(history, monkeypatch, capsys) -> None:
    gone = "1234567890" * 4  # what the remote had: rewritten away, not in this clone
    line = f"refs/heads/feature {history.c4} refs/heads/feature {gone}\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(line))
    code, report, err = ci(capsys, "--pre-push", "origin")
    assert code == ExitCode.FINDINGS and "(a force-push): 2 new commit(s)" in err
    # Only the commits the remote does not have (c3, c4), not the whole history.
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert report["stats"]["counters"]["commits"] == 2  # type: ignore[index]
    assert only_location(report)["exposure"] == "head"  # not pushed yet


def test_pre_push_ranges_of_existing_branch_and_root(history) -> None:
    ranges = choose_ranges(
        {},
        history.path,
        None,
        "origin",
        [f"refs/heads/feature {history.c4} refs/heads/feature {history.c2}"],
    )
    assert ranges == [CommitRange(history.c4, history.c2, ranges[0].why, before_push=True)]
    # a remote that has nothing yet: the whole history is new, from the root commit
    git(history.path, "update-ref", "-d", "refs/remotes/origin/main")
    ranges = choose_ranges(
        {}, history.path, None, "origin", [f"refs/heads/main {history.c2} refs/heads/main {ZERO}"]
    )
    assert ranges is not None and ranges[0].base is None and ranges[0].spec == history.c2


def test_range_detection_is_pure_of_process_env(history) -> None:
    with pytest.raises(UsageError, match="GITHUB_EVENT_PATH is not set"):
        choose_ranges(
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"}, history.path, None, None
        )
    with pytest.raises(UsageError, match="no commit range"):
        choose_ranges({}, history.path, None, None)


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch", "repository_dispatch"])
def test_github_event_without_a_payload_file_falls_back(
    history, monkeypatch, capsys, event: str
) -> None:
    # The runner always writes an event file, but a job that runs `ci` in a container or
    # a test harness may not pass it on: an event that has no range needs no payload.
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", event)
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE and f"{event!r} has no commit range" in err
    code, report, err = ci(capsys, "--full-fallback")
    assert code == ExitCode.FINDINGS, err
    assert "auditing the whole history, as --full-fallback asks" in chosen(report)


def test_github_push_without_a_payload_file_is_an_error(history, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    code, _, err = ci(capsys, "--full-fallback")  # a push has a range: never a silent audit
    assert code == ExitCode.USAGE and "GITHUB_EVENT_PATH is not set" in err


# -- the range is stated in every report ------------------------------------------------------

FORMATS = ("text", "json", "jsonl", "sarif", "github", "csv", "junit", "html", "codequality")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_states_the_range_even_with_quiet(history, capsys, fmt: str) -> None:
    code = main(["ci", "--range", "main..feature", "--format", fmt, "-q"])
    out, err = capsys.readouterr()
    assert code == ExitCode.FINDINGS and err == ""  # -q: no summary to carry it
    assert "commit range chosen: --range main..feature" in out


def test_structured_places_of_the_range(history, capsys) -> None:
    import xml.etree.ElementTree as ET

    stated = "commit range chosen: --range main..feature"
    main(["ci", "--range", "main..feature", "--format", "sarif", "-q"])
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert run["properties"]["scope"] == stated
    main(["ci", "--range", "main..feature", "--format", "junit", "-q"])
    suite = ET.fromstring(capsys.readouterr().out).find("testsuite")
    assert suite is not None and suite[0].tag == "properties"
    assert suite[0][0].attrib == {"name": "scope", "value": stated}
    main(["ci", "--range", "main..feature", "--format", "csv", "-q"])
    import csv

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows and all(row["scope"] == stated for row in rows)


def test_a_clean_range_says_which_range_was_clean(history, capsys) -> None:
    head = history.c4[:12]
    code = main(["ci", "--range", f"{history.c3}..{history.c4}", "-q"])
    out = capsys.readouterr().out
    assert code == ExitCode.CLEAN
    assert out.startswith(f"keysentry ci: commit range chosen: --range {history.c3}..")
    assert head in out and out.rstrip().endswith("no leaked keys found")
    main(["ci", "--range", f"{history.c3}..{history.c4}", "-q", "--format", "github"])
    assert capsys.readouterr().out.startswith("::notice title=keysentry ci::commit range chosen")


def test_scan_reports_have_no_scope(repo, capsys, key) -> None:
    (repo / "a.env").write_text(f"K={key}\n")
    main(["scan", str(repo), "-q", "--format", "csv"])
    assert "scope" not in capsys.readouterr().out.splitlines()[0]
    assert main(["scan", str(repo / "missing-nothing"), "-q"]) == ExitCode.USAGE
    capsys.readouterr()
    (repo / "a.env").write_text("clean\n")
    main(["scan", str(repo), "-q"])
    assert capsys.readouterr().out == ""  # nothing found, nothing to say on stdout
