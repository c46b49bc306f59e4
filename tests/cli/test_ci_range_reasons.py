"""`keysentry ci`: the reason stated for each range, word for word, and every way the
environment can fail to give one.

The reason is what a reviewer reads to trust a green job ("which commits did it look
at?"), so each detector's is checked whole: an id cut at the wrong length or a range
taken from the wrong variable shows here. Real repositories (cihelpers.build_history);
the hooks' standard input is given as git gives it.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from cihelpers import (
    ZERO,
    History,
    build_history,
    chosen,
    ci,
    error_line,
    every_chosen,
    fingerprints,
    github_env,
    gitlab_env,
    notes,
    only_location,
)
from conftest import git, make_key
from keysentry.cli import main
from keysentry.cli.ci_ranges import FETCH_HINT, choose_ranges
from keysentry.errors import ExitCode
from keysentry.models import fingerprint_of

GONE = "1234567890" * 4
"""A commit id no clone here has (what a force-push rewrote away)."""
NO_RANGE = ": pass --range BASE..HEAD, or --full-fallback to audit the whole history"


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    return build_history(tmp_path, monkeypatch)


def short(sha: str) -> str:
    return sha[:12]


def push_payload(history: History, **fields: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "ref": "refs/heads/feature",
        "before": history.c3,
        "after": history.c4,
        "repository": {"default_branch": "main"},
    }
    payload.update(fields)
    return {k: v for k, v in payload.items() if v is not None}  # None: leave it out


# -- GitHub Actions ------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["pull_request", "pull_request_target"])
def test_github_pull_request_events(history, monkeypatch, tmp_path, capsys, event) -> None:
    pr = {"number": 7, "base": {"sha": history.c2}, "head": {"sha": history.c4}}
    github_env(monkeypatch, tmp_path, event, {"pull_request": pr})
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert chosen(report) == (
        f"GitHub {event} #7: the pull request's commits ({short(history.c2)}..{short(history.c4)})"
    )


def test_github_pull_request_without_a_number(history, monkeypatch, tmp_path, capsys) -> None:
    pr = {"base": {"sha": history.c3}, "head": {"sha": history.c4}}
    github_env(monkeypatch, tmp_path, "pull_request", {"pull_request": pr})
    code, report, _ = ci(capsys)
    assert code == ExitCode.CLEAN  # c4 alone adds no key
    assert chosen(report) == (
        f"GitHub pull_request #?: the pull request's commits "
        f"({short(history.c3)}..{short(history.c4)})"
    )


@pytest.mark.parametrize("missing", ["head", "base"])
def test_github_pull_request_commit_not_fetched(
    history, monkeypatch, tmp_path, capsys, missing: str
) -> None:
    shas = {"base": history.c2, "head": history.c4, missing: GONE}
    pr = {"number": 1, "base": {"sha": shas["base"]}, "head": {"sha": shas["head"]}}
    github_env(monkeypatch, tmp_path, "pull_request", {"pull_request": pr})
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert error_line(err) == f"{missing} {GONE} is not in this clone: {FETCH_HINT}"


@pytest.mark.parametrize("missing", ["head", "base"])
def test_github_merge_group_commit_not_fetched(
    history, monkeypatch, tmp_path, capsys, missing: str
) -> None:
    shas = {"base": history.c2, "head": history.c4, missing: GONE}
    group = {"base_sha": shas["base"], "head_sha": shas["head"]}
    github_env(monkeypatch, tmp_path, "merge_group", {"merge_group": group})
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert error_line(err) == f"{missing} {GONE} is not in this clone: {FETCH_HINT}"


def test_github_push_without_a_payload_file(history, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert error_line(err) == "GITHUB_EVENT_PATH is not set: pass --range BASE..HEAD"


def test_github_push_reason(history, monkeypatch, tmp_path, capsys) -> None:
    github_env(monkeypatch, tmp_path, "push", push_payload(history))
    code, report, _ = ci(capsys)
    assert code == ExitCode.CLEAN
    assert chosen(report) == (
        f"GitHub push to refs/heads/feature: {short(history.c3)}..{short(history.c4)}"
    )


@pytest.mark.parametrize("before", [ZERO, "", None], ids=["zeros", "empty", "absent"])
def test_github_push_of_a_new_branch_reason(
    history, monkeypatch, tmp_path, capsys, before: str | None
) -> None:
    github_env(monkeypatch, tmp_path, "push", push_payload(history, before=before))
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert chosen(report) == (
        "GitHub push of refs/heads/feature (a new branch): the commits not on main "
        f"(refs/remotes/origin/main..{short(history.c4)})"
    )


def test_github_force_push_reason(history, monkeypatch, tmp_path, capsys) -> None:
    github_env(monkeypatch, tmp_path, "push", push_payload(history, before=GONE))
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert chosen(report) == (
        f"GitHub push of refs/heads/feature (a force-push ({short(GONE)} is gone)): the "
        f"commits not on main (refs/remotes/origin/main..{short(history.c4)})"
    )


def test_github_new_branch_against_a_local_default_branch(
    history, monkeypatch, tmp_path, capsys
) -> None:
    """A clone without the remote-tracking ref: the local default branch is the base."""
    git(history.path, "update-ref", "-d", "refs/remotes/origin/main")
    github_env(monkeypatch, tmp_path, "push", push_payload(history, before=ZERO))
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert chosen(report).endswith(f"(refs/heads/main..{short(history.c4)})")


def test_github_first_push_of_the_default_branch_reason(
    history, monkeypatch, tmp_path, capsys
) -> None:
    payload = push_payload(history, ref="refs/heads/main", before=ZERO, after=history.c2)
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert report["stats"]["counters"]["commits"] == 2  # c1 and c2: everything
    assert chosen(report) == "GitHub push creating the default branch main: all its commits"


def test_github_force_push_of_the_default_branch_needs_a_range(
    history, monkeypatch, tmp_path, capsys
) -> None:
    payload = push_payload(history, ref="refs/heads/main", before=GONE, after=history.c2)
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, err = ci(capsys)
    assert code == ExitCode.USAGE and report == {}
    assert error_line(err) == (
        f"the commit before this push ({short(GONE)}) is not in this clone (a force-push?): "
        f"{FETCH_HINT}, or pass --range"
    )


@pytest.mark.parametrize(
    "fields",
    [{"after": ZERO}, {"after": ZERO, "deleted": True}, {"deleted": True}],
    ids=["zero after", "zero after and deleted", "deleted"],
)
def test_github_branch_deletion_scans_nothing(
    history, monkeypatch, tmp_path, capsys, fields
) -> None:
    github_env(monkeypatch, tmp_path, "push", push_payload(history, **fields))
    code, report, _ = ci(capsys)
    assert code == ExitCode.CLEAN
    assert notes(report) == [
        "nothing to scan: no new commits (a deletion, or already on the remote)"
    ]


def test_github_push_without_after_is_an_error_not_a_deletion(
    history, monkeypatch, tmp_path, capsys
) -> None:
    """Read as a deletion, a payload that lost its "after" would pass the job unscanned."""
    payload = push_payload(history)
    del payload["after"]
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, err = ci(capsys)
    assert code == ExitCode.USAGE and report == {}
    assert error_line(err) == "the GitHub event payload has no after"


@pytest.mark.parametrize("after", [None, "", 0])
def test_github_push_whose_after_is_no_commit_is_an_error(
    history, monkeypatch, tmp_path, capsys, after
) -> None:
    """null (or "") is no all-zero id: read as a deletion, it would pass the job unscanned."""
    payload = push_payload(history)
    payload["after"] = after  # push_payload leaves a None out
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, err = ci(capsys)
    assert code == ExitCode.USAGE and report == {}
    assert error_line(err) == f"the GitHub event payload's after is not a commit id: {after!r}"


def test_github_push_without_a_ref_says_so(history, monkeypatch, tmp_path, capsys) -> None:
    payload = push_payload(history)
    del payload["ref"]
    github_env(monkeypatch, tmp_path, "push", payload)
    code, report, _ = ci(capsys)
    assert code == ExitCode.CLEAN
    assert chosen(report) == (
        f"GitHub push to (unknown ref): {short(history.c3)}..{short(history.c4)}"
    )


def test_github_pushed_commit_not_fetched(history, monkeypatch, tmp_path, capsys) -> None:
    github_env(monkeypatch, tmp_path, "push", push_payload(history, after=GONE))
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert error_line(err) == f"pushed commit {GONE} is not in this clone: {FETCH_HINT}"


def test_github_event_name_unset(history, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert error_line(err) == "the GitHub Actions event '(unknown)' has no commit range" + NO_RANGE


def test_full_fallback_states_why(history, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "schedule")
    code, report, _ = ci(capsys, "--full-fallback")
    assert code == ExitCode.FINDINGS
    assert chosen(report) == (
        "the GitHub Actions event 'schedule' has no commit range: auditing the whole "
        "history, as --full-fallback asks"
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read the GitHub event payload {path}: "),
        (b"\xff\xfe{}", "cannot read the GitHub event payload {path}: "),
        (b'{"pull_request": ', "cannot read the GitHub event payload {path}: "),
        (b"[]", "the GitHub event payload {path} is not a JSON object"),
        (b'{"pull_request": "7"}', "the GitHub event payload has no pull_request.base.sha"),
        (b'{"pull_request": {"base": 7}}', "the GitHub event payload has no pull_request.base.sha"),
        (b'{"pull_request": {}}', "the GitHub event payload has no pull_request.base.sha"),
    ],
    ids=["missing", "not UTF-8", "not JSON", "a list", "a string", "a number", "no key"],
)
def test_github_unreadable_payloads(
    history, monkeypatch, tmp_path, capsys, content: bytes | None, says: str
) -> None:
    path = github_env(monkeypatch, tmp_path, "pull_request", {})
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    code, report, err = ci(capsys)
    assert code == ExitCode.USAGE and report == {}
    line = error_line(err)
    assert line.startswith(says.format(path=path)), line
    if says.endswith(": "):
        assert len(line) > len(says.format(path=path))  # and says what was wrong


# -- GitLab CI -------------------------------------------------------------------------------


def test_gitlab_merge_request_reason(history, monkeypatch, capsys) -> None:
    gitlab_env(monkeypatch, CI_COMMIT_SHA=history.c4, CI_MERGE_REQUEST_DIFF_BASE_SHA=history.c2)
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert chosen(report) == (
        "GitLab merge request !?: the commits since the merge-request diff base "
        f"({short(history.c2)}..{short(history.c4)})"
    )


def test_gitlab_merged_results_scan_the_source_branch(history, monkeypatch, capsys) -> None:
    """In a merged-results pipeline CI_COMMIT_SHA is a merge with the target branch: the
    source branch's head is what the merge request brings."""
    git(history.path, "switch", "-q", "main")
    (history.path / "later.txt").write_text("on main after the fork\n")
    git(history.path, "add", "later.txt")
    git(history.path, "commit", "-q", "-m", "main moves on")
    git(history.path, "merge", "-q", "--no-ff", "-m", "merged result", "feature")
    merge = git(history.path, "rev-parse", "HEAD").strip()
    gitlab_env(
        monkeypatch,
        CI_COMMIT_SHA=merge,
        CI_MERGE_REQUEST_DIFF_BASE_SHA=history.c2,
        CI_MERGE_REQUEST_SOURCE_BRANCH_SHA=history.c4,
        CI_MERGE_REQUEST_IID="3",
    )
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert report["stats"]["counters"]["commits"] == 2  # c3, c4: not main's commit or the merge
    assert chosen(report).endswith(f"({short(history.c2)}..{short(history.c4)})")


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"CI_MERGE_REQUEST_DIFF_BASE_SHA": GONE}, f"diff base {GONE}"),
        ({"CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": GONE}, f"head {GONE}"),
        ({"CI_COMMIT_SHA": GONE, "CI_MERGE_REQUEST_DIFF_BASE_SHA": ""}, f"commit {GONE}"),
    ],
    ids=["diff base", "source branch", "commit"],
)
def test_gitlab_commits_not_fetched(history, monkeypatch, capsys, variables, says) -> None:
    settings = {"CI_COMMIT_SHA": history.c4, "CI_MERGE_REQUEST_DIFF_BASE_SHA": history.c2}
    gitlab_env(monkeypatch, **{**settings, **variables})
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert error_line(err) == f"{says} is not in this clone: {FETCH_HINT}"


def test_gitlab_push_reason(history, monkeypatch, capsys) -> None:
    gitlab_env(monkeypatch, CI_COMMIT_SHA=history.c4, CI_COMMIT_BEFORE_SHA=history.c3)
    code, report, _ = ci(capsys)
    assert code == ExitCode.CLEAN
    assert chosen(report) == f"GitLab push: {short(history.c3)}..{short(history.c4)}"


@pytest.mark.parametrize("before", [ZERO, GONE, ""], ids=["new branch", "force-push", "unset"])
def test_gitlab_branch_without_a_previous_push(history, monkeypatch, capsys, before: str) -> None:
    gitlab_env(
        monkeypatch,
        CI_COMMIT_SHA=history.c4,
        CI_COMMIT_BEFORE_SHA=before,
        CI_COMMIT_BRANCH="feature",
        CI_DEFAULT_BRANCH="main",
    )
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert chosen(report) == (
        "GitLab pipeline for branch feature without a previous push: the commits not on "
        f"main (refs/remotes/origin/main..{short(history.c4)})"
    )


@pytest.mark.parametrize(
    "variables",
    [
        {"CI_COMMIT_BRANCH": "feature"},  # no default branch known
        {"CI_DEFAULT_BRANCH": "main"},  # a tag pipeline: no branch
        {"CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"},
    ],
    ids=["no default branch", "no branch", "the default branch"],
)
def test_gitlab_pipeline_without_a_range(history, monkeypatch, capsys, variables) -> None:
    gitlab_env(monkeypatch, CI_COMMIT_SHA=history.c4, CI_COMMIT_BEFORE_SHA=ZERO, **variables)
    code, report, err = ci(capsys)
    assert code == ExitCode.USAGE and report == {}
    assert error_line(err) == "this GitLab pipeline (unknown) has no commit range" + NO_RANGE


def test_gitlab_without_a_commit(history, monkeypatch, capsys) -> None:
    gitlab_env(monkeypatch)
    code, _, err = ci(capsys, "--full-fallback")  # not a missing range: a broken runner
    assert code == ExitCode.USAGE
    assert error_line(err) == "GitLab CI without CI_COMMIT_SHA: pass --range BASE..HEAD"


# -- the pre-commit framework's pre-push stage ---------------------------------------------


def test_pre_commit_refs_without_a_branch(history, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", history.c2)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", history.c4)
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert chosen(report) == f"pre-commit: {short(history.c2)}..{short(history.c4)}"


def test_pre_commit_refs_of_a_branch(history, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", history.c3)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", history.c4)
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/feature")
    code, report, _ = ci(capsys)
    assert code == ExitCode.CLEAN
    assert chosen(report) == (
        "push of refs/heads/feature: the commits not on the remote "
        f"({short(history.c3)}..{short(history.c4)})"
    )


def test_pre_commit_push_of_a_new_history(history, monkeypatch, capsys) -> None:
    """pre-commit passes no refs for a push that carries a root commit: all of it is new."""
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "feature")
    monkeypatch.setenv("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/feature")
    monkeypatch.setenv("CI", "true")  # a push hook's commits are not pushed yet, even in CI
    code, report, _ = ci(capsys)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {
        fingerprint_of(history.old_key),
        fingerprint_of(history.new_key),
    }
    assert chosen(report) == ("push of feature to refs/heads/feature: a new history, all commits")
    new = next(f for f in report["findings"] if f["fingerprint"] == fingerprint_of(history.new_key))
    assert [loc["exposure"] for loc in new["locations"]] == ["head"]


@pytest.mark.parametrize(
    "variables",
    [
        {"PRE_COMMIT_FROM_REF": "HEAD~1"},
        {"PRE_COMMIT_TO_REF": "HEAD"},
        {"PRE_COMMIT_LOCAL_BRANCH": "feature"},
        {"PRE_COMMIT_REMOTE_BRANCH": "refs/heads/feature"},
    ],
    ids=["from-ref alone", "to-ref alone", "local branch alone", "remote branch alone"],
)
def test_pre_commit_half_a_range_is_no_range(history, monkeypatch, capsys, variables) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert error_line(err) == (
        "no commit range: not in GitHub Actions, GitLab CI or a pre-push hook" + NO_RANGE
    )


@pytest.mark.parametrize("missing", ["from-ref", "to-ref"])
def test_pre_commit_ref_not_there(history, monkeypatch, capsys, missing: str) -> None:
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", GONE if missing == "from-ref" else history.c2)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", GONE if missing == "to-ref" else history.c4)
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert error_line(err) == f"{missing} {GONE} is not in this clone: {FETCH_HINT}"


def test_pre_commit_local_branch_not_there(history, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "nowhere")
    monkeypatch.setenv("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/nowhere")
    code, _, err = ci(capsys)
    assert code == ExitCode.USAGE
    assert error_line(err) == f"local branch nowhere is not in this clone: {FETCH_HINT}"


# -- git's pre-push hook ---------------------------------------------------------------------


def pre_push(monkeypatch, capsys, lines: list[str], *args: str):
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{x}\n" for x in lines)))
    return ci(capsys, "--pre-push", "origin", *args)


def test_pre_push_lines_each_give_a_range(history, monkeypatch, capsys) -> None:
    """Malformed lines and deletions are passed over, not the end of the list; every
    branch pushed gets its own range, stated in order."""
    git(history.path, "branch", "side", history.c3)
    lines = [
        "garbage",
        f"refs/heads/gone {ZERO} refs/heads/gone {history.c2}",  # a deletion
        f"refs/heads/feature {history.c4} refs/heads/feature {history.c3}",
        f"refs/heads/side {history.c3} refs/heads/side {history.c2}",
    ]
    code, report, _ = pre_push(monkeypatch, capsys, lines)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert every_chosen(report) == [
        "push of refs/heads/feature to origin refs/heads/feature: "
        f"{short(history.c3)}..{short(history.c4)}",
        f"push of refs/heads/side to origin refs/heads/side: {short(history.c2)}..{short(history.c3)}",
    ]


def test_pre_push_of_two_new_branches(history, monkeypatch, capsys) -> None:
    git(history.path, "branch", "side", history.c3)
    lines = [
        f"refs/heads/side {history.c3} refs/heads/side {ZERO}",
        "refs/heads/x y",
        f"refs/heads/feature {history.c4} refs/heads/feature {GONE}",
    ]
    code, report, _ = pre_push(monkeypatch, capsys, lines)
    assert code == ExitCode.FINDINGS
    assert every_chosen(report) == [
        "push of refs/heads/side to origin refs/heads/side (a new branch): 1 new commit(s)",
        "push of refs/heads/feature to origin refs/heads/feature (a force-push): 2 new commit(s)",
    ]
    # Each range starts after what the remote has: c3 alone, then c3 and c4.
    assert report["stats"]["counters"]["commits"] == 3


def test_pre_push_of_nothing_new(history, monkeypatch, capsys) -> None:
    line = f"refs/heads/main {history.c2} refs/heads/main {ZERO}"  # main is on origin already
    code, report, _ = pre_push(monkeypatch, capsys, [line])
    assert code == ExitCode.CLEAN
    assert notes(report) == [
        "nothing to scan: no new commits (a deletion, or already on the remote)"
    ]


def test_pre_push_in_a_ci_job_is_not_pushed_yet(history, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CI", "true")
    line = f"refs/heads/feature {history.c4} refs/heads/feature {history.c2}"
    code, report, _ = pre_push(monkeypatch, capsys, [line])
    assert code == ExitCode.FINDINGS
    assert only_location(report)["exposure"] == "head"
    line = f"refs/heads/feature {history.c4} refs/heads/feature {ZERO}"
    code, report, _ = pre_push(monkeypatch, capsys, [line])
    assert code == ExitCode.FINDINGS
    assert only_location(report)["exposure"] == "head"


def annotated_tag(history: History, name: str = "v1") -> tuple[str, str]:
    """An annotated tag on c2 (already on origin) whose message holds a new key."""
    key = make_key()
    git(history.path, "tag", "-a", name, "-m", f"release notes {key}", history.c2)
    return git(history.path, "rev-parse", name).strip(), key


def test_pre_push_of_an_annotated_tag_on_a_known_commit(history, monkeypatch, capsys) -> None:
    """Every commit is on the remote, but the tag (message, tagger, name) is new: its range
    holds just the tag, and it is not pushed yet, CI or not."""
    tag, key = annotated_tag(history)
    monkeypatch.setenv("CI", "true")
    code, report, _ = pre_push(monkeypatch, capsys, [f"refs/tags/v1 {tag} refs/tags/v1 {ZERO}"])
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(key)}
    assert every_chosen(report) == [
        "push of refs/tags/v1 to origin refs/tags/v1 (a new branch): "
        "an annotated tag on a known commit"
    ]
    # Named by a local tag, not pushed (in CI, a range not before a push would be).
    assert only_location(report)["exposure"] == "tag"


def test_pre_push_of_a_tag_of_a_known_commit_without_a_message(
    history, monkeypatch, capsys
) -> None:
    git(history.path, "tag", "light", history.c2)  # a lightweight tag: no object of its own
    code, report, _ = pre_push(
        monkeypatch, capsys, [f"refs/tags/light {history.c2} refs/tags/light {ZERO}"]
    )
    assert code == ExitCode.CLEAN
    assert notes(report) == [
        "nothing to scan: no new commits (a deletion, or already on the remote)"
    ]


def blob_with_a_key(history: History) -> tuple[str, str]:
    """A blob holding a new key, in no commit (``git tag`` can name it directly)."""
    key = make_key()
    blob = git(history.path, "hash-object", "-w", "--stdin", input=f"K={key}\n".encode())
    return blob.strip(), key


@pytest.mark.parametrize("annotated", [False, True], ids=["lightweight", "annotated"])
def test_pre_push_of_a_tag_of_a_blob(history, monkeypatch, capsys, annotated: bool) -> None:
    """No commit to range from, and no commit on the remote reaches the blob: it is read
    whole (it passed as "no new commits" before), and located under its tag."""
    blob, key = blob_with_a_key(history)
    git(history.path, "tag", *(["-a", "-m", "a blob"] if annotated else []), "b", blob)
    pushed = git(history.path, "rev-parse", "refs/tags/b").strip()
    monkeypatch.setenv("CI", "true")  # a push hook in a CI job: the tag is still not pushed
    code, report, _ = pre_push(monkeypatch, capsys, [f"refs/tags/b {pushed} refs/tags/b {ZERO}"])
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(key)}
    # Located under the tag that names it (it said "in no commit", unreachable, before).
    assert (only_location(report)["path"], only_location(report)["exposure"]) == (
        "<refs/tags/b>",
        "tag",
    )
    what = "a tag of a tree or a blob" if annotated else "a blob"
    assert every_chosen(report) == [
        f"push of refs/tags/b to origin refs/tags/b (a new branch): {what}, read whole"
    ]


def test_pre_push_of_a_ref_to_a_tree(history, monkeypatch, capsys) -> None:
    blob, key = blob_with_a_key(history)
    tree = git(history.path, "mktree", input=f"100644 blob {blob}\tk.env\n".encode()).strip()
    line = f"refs/heads/t {tree} refs/heads/t {ZERO}"
    code, report, _ = pre_push(monkeypatch, capsys, [line])
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(key)}
    assert every_chosen(report) == [
        "push of refs/heads/t to origin refs/heads/t (a new branch): a tree, read whole"
    ]


# -- a server's pre-receive hook -------------------------------------------------------------


@pytest.fixture
def server(history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bare remote (main: c1, c2) holding the feature branch's objects but no ref to
    them, as while a pushed branch is in quarantine; the hook runs in it."""
    remote = tmp_path / "origin.git"
    git(remote, "fetch", "-q", str(history.path), "feature")  # FETCH_HEAD only: no ref
    monkeypatch.chdir(remote)
    return remote


def pre_receive(monkeypatch, capsys, lines: list[str]):
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{x}\n" for x in lines)))
    return ci(capsys, "--pre-receive")


def test_pre_receive_update_of_a_branch(history, server, monkeypatch, capsys) -> None:
    lines = [
        "garbage line",
        f"{history.c2} {ZERO} refs/heads/old",  # a deletion
        f"{history.c2} {history.c4} refs/heads/main",
    ]
    code, report, _ = pre_receive(monkeypatch, capsys, lines)
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(history.new_key)}
    assert every_chosen(report) == [
        f"push to refs/heads/main: {short(history.c2)}..{short(history.c4)}"
    ]
    assert report["stats"]["counters"]["commits"] == 2


def test_pre_receive_new_and_forced_refs(history, server, monkeypatch, capsys) -> None:
    lines = [
        f"{ZERO} {history.c3} refs/heads/topic",
        f"{GONE} {history.c4} refs/heads/feature",
        f"{history.c2} {history.c2} refs/heads/main",  # nothing new
    ]
    code, report, _ = pre_receive(monkeypatch, capsys, lines)
    assert code == ExitCode.FINDINGS
    assert every_chosen(report) == [
        "push to refs/heads/topic (a new ref): 1 new commit(s)",
        "push to refs/heads/feature (a forced update): 2 new commit(s)",
        f"push to refs/heads/main: {short(history.c2)}..{short(history.c2)}",
    ]


def test_pre_receive_in_a_ci_job_counts_what_arrives_as_pushed(
    history, monkeypatch, capsys
) -> None:
    """A receiving repository with a work tree (receive.denyCurrentBranch updateInstead):
    a commit being received has left the pusher's machine, so its key is "pushed" (the
    worst exposure), whatever this repository's HEAD is, CI variables or not; and no note
    about a CI job's checkout applies."""
    monkeypatch.setenv("CI", "true")
    code, report, _ = pre_receive(monkeypatch, capsys, [f"{history.c2} {history.c4} refs/heads/x"])
    assert code == ExitCode.FINDINGS
    assert only_location(report)["exposure"] == "pushed"  # this repository's HEAD is c4 too
    assert not any("CI job" in n for n in notes(report))


def test_pre_receive_updates_of_two_branches(history, server, monkeypatch, capsys) -> None:
    lines = [f"{history.c2} {history.c3} refs/heads/a", f"{history.c3} {history.c4} refs/heads/b"]
    code, report, _ = pre_receive(monkeypatch, capsys, lines)
    assert code == ExitCode.FINDINGS
    assert every_chosen(report) == [
        f"push to refs/heads/a: {short(history.c2)}..{short(history.c3)}",
        f"push to refs/heads/b: {short(history.c3)}..{short(history.c4)}",
    ]


def test_pre_receive_of_a_new_ref_is_pushed(history, server, monkeypatch, capsys) -> None:
    """What arrives has left the pusher's machine: "pushed", for a new ref as for an update."""
    code, report, _ = pre_receive(monkeypatch, capsys, [f"{ZERO} {history.c3} refs/heads/topic"])
    assert code == ExitCode.FINDINGS
    assert only_location(report)["exposure"] == "pushed"


def test_pre_receive_of_an_annotated_tag_on_a_known_commit(
    history, server, monkeypatch, capsys
) -> None:
    tag, key = annotated_tag(history)
    git(server, "fetch", "-q", str(history.path), "refs/tags/v1")  # FETCH_HEAD only: no ref
    code, report, _ = pre_receive(monkeypatch, capsys, [f"{ZERO} {tag} refs/tags/v1"])
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(key)}
    assert every_chosen(report) == [
        "push to refs/tags/v1 (a new ref): an annotated tag on a known commit"
    ]
    assert only_location(report)["exposure"] == "pushed"


def test_pre_receive_of_a_tag_of_a_blob(history, server, monkeypatch, capsys) -> None:
    blob, key = blob_with_a_key(history)
    git(history.path, "tag", "-a", "-m", "a blob", "b", blob)
    tag = git(history.path, "rev-parse", "refs/tags/b").strip()
    git(server, "fetch", "-q", str(history.path), "refs/tags/b")  # FETCH_HEAD only: no ref
    code, report, _ = pre_receive(monkeypatch, capsys, [f"{ZERO} {tag} refs/tags/b"])
    assert code == ExitCode.FINDINGS
    assert fingerprints(report) == {fingerprint_of(key)}
    assert every_chosen(report) == [
        "push to refs/tags/b (a new ref): a tag of a tree or a blob, read whole"
    ]


def test_pre_push_and_pre_receive_exclude_each_other(history, capsys) -> None:
    code, _, err = ci(capsys, "--pre-push", "origin", "--pre-receive")
    assert code == ExitCode.USAGE and "exclude each other" in err


# -- --range and the range notations ---------------------------------------------------------


@pytest.mark.parametrize(("spec", "says"), [("nope..main", "BASE"), ("main..nope", "HEAD")])
def test_explicit_range_end_not_there(history, capsys, spec: str, says: str) -> None:
    code, _, err = ci(capsys, "--range", spec)
    assert code == ExitCode.USAGE
    assert error_line(err) == f"{says} of --range nope is not in this clone: {FETCH_HINT}"


def test_explicit_range_must_be_two_ends(history, capsys) -> None:
    code, _, err = ci(capsys, "--range", "main")
    assert code == ExitCode.USAGE
    assert error_line(err) == "--range must be BASE..HEAD, not 'main'"


def test_explicit_range_reason(history, capsys) -> None:
    code, report, _ = ci(capsys, "--range", "main..feature")
    assert code == ExitCode.FINDINGS and chosen(report) == "--range main..feature"
    assert report["stats"]["counters"]["commits"] == 2


def test_a_single_revision_is_refused_with_what_to_write(history, capsys) -> None:
    code = main(["history", ".", "--range", "feature"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert error_line(err) == (
        "--range 'feature' names commits, not a range: it would scan every commit they "
        "reach. Give BASE..HEAD (what feature alone introduced: feature^!), --since REV, "
        "or no --range for the whole history"
    )


# -- which commits count as pushed ----------------------------------------------------------

CI_VARIABLES = (
    "CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "TRAVIS", "JENKINS_URL",
    "TF_BUILD", "TEAMCITY_VERSION", "BITBUCKET_BUILD_NUMBER", "DRONE", "APPVEYOR",
    "CODEBUILD_BUILD_ID",
)  # fmt: skip
"""Written out here, not imported: each entry must fail this test when it is dropped."""


@pytest.mark.parametrize("name", CI_VARIABLES)
def test_each_ci_variable_marks_a_ci_job(history, monkeypatch, capsys, name: str) -> None:
    """A CI job's checkout came from the server: a key its range brings was pushed."""
    monkeypatch.setenv(name, "1")
    code, report, _ = ci(capsys, "--range", "main..feature")
    assert code == ExitCode.FINDINGS
    assert only_location(report)["exposure"] == "pushed"
    assert f"a CI job ({name} is set): this checkout came from the server" in " ".join(
        notes(report)
    )


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_outside_ci_a_range_is_not_pushed(history, monkeypatch, capsys, value) -> None:
    if value is not None:
        for name in CI_VARIABLES:
            monkeypatch.setenv(name, value)
    code, report, _ = ci(capsys, "--range", "main..feature")
    assert code == ExitCode.FINDINGS
    assert only_location(report)["exposure"] == "head"
    assert not any("CI job" in n or "came from the server" in n for n in notes(report))


# -- the repository is the one given, wherever the process runs -----------------------------


def test_ranges_are_read_in_the_repository_given(history, tmp_path, monkeypatch) -> None:
    """choose_ranges asks git in ``repo``, not in the current directory."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    repo, c2, c3, c4 = history.path, history.c2, history.c3, history.c4
    pushed = [f"refs/heads/feature {c4} refs/heads/feature {c3}"]
    assert choose_ranges({}, repo, None, "origin", pushed)[0].spec == f"{c3}..{c4}"
    new = [f"refs/heads/feature {c4} refs/heads/feature {ZERO}"]
    assert choose_ranges({}, repo, None, "origin", new)[0].spec == f"{c2}..{c4}"
    received = [f"{c3} {c4} refs/heads/feature"]
    assert choose_ranges({}, repo, None, None, received, True)[0].spec == f"{c3}..{c4}"
    received = [f"{ZERO} {c4} refs/heads/feature"]
    assert choose_ranges({}, repo, None, None, received, True) == []  # every commit is there
    tag, _key = annotated_tag(history)
    tagged = [f"refs/tags/v1 {tag} refs/tags/v1 {ZERO}"]
    assert choose_ranges({}, repo, None, "origin", tagged)[0].spec == f"{c2}..{tag}"
    assert choose_ranges({}, repo, f"{c2}..{c4}", None)[0].spec == f"{c2}..{c4}"
    env = {"PRE_COMMIT_FROM_REF": c2, "PRE_COMMIT_TO_REF": c4}
    assert choose_ranges(env, repo, None, None)[0].spec == f"{c2}..{c4}"
    env = {"PRE_COMMIT_LOCAL_BRANCH": "feature", "PRE_COMMIT_REMOTE_BRANCH": "x"}
    assert choose_ranges(env, repo, None, None)[0].spec == "feature"
    env = {"GITLAB_CI": "true", "CI_COMMIT_SHA": c4, "CI_COMMIT_BEFORE_SHA": c3}
    assert choose_ranges(env, repo, None, None)[0].spec == f"{c3}..{c4}"
    env = {
        **env,
        "CI_COMMIT_BEFORE_SHA": ZERO,
        "CI_COMMIT_BRANCH": "f",
        "CI_DEFAULT_BRANCH": "main",
    }
    assert choose_ranges(env, repo, None, None)[0].spec == f"refs/remotes/origin/main..{c4}"
    gitlab = {"GITLAB_CI": "true", "CI_COMMIT_SHA": c4, "CI_MERGE_REQUEST_DIFF_BASE_SHA": c2}
    assert choose_ranges(gitlab, repo, None, None)[0].spec == f"{c2}..{c4}"
    payload = tmp_path / "event.json"
    github = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(payload)}
    for event, body in (
        ("push", {"ref": "refs/heads/f", "before": c3, "after": c4, "repository": {}}),
        ("pull_request", {"pull_request": {"base": {"sha": c2}, "head": {"sha": c4}}}),
        ("merge_group", {"merge_group": {"base_sha": c3, "head_sha": c4}}),
    ):
        payload.write_text(json.dumps(body))
        (found,) = choose_ranges({**github, "GITHUB_EVENT_NAME": event}, repo, None, None)
        assert found.base in (c2, c3) and found.head == c4, event
    payload.write_text(
        json.dumps({"ref": "refs/heads/f", "after": c4, "repository": {"default_branch": "main"}})
    )
    (found,) = choose_ranges({**github, "GITHUB_EVENT_NAME": "push"}, repo, None, None)
    assert found.spec == f"refs/remotes/origin/main..{c4}"
    assert os.getcwd() == str(elsewhere)
