"""What ``keysentry purge`` says: text for people, JSON for machines. Pure functions of the
outcome, which holds no raw key."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keysentry.purge.flow import PurgeOutcome

SHOWN_REFS = 20
NOT_CARRIED = (
    "Not carried to the mirror (a `git clone --mirror` copies refs and what they reach, "
    "nothing else): the reflogs, unreachable objects, stash entries older than the last "
    "(stash@{1} and up), a detached HEAD on no ref, hooks and configuration. A push from "
    "the mirror never sends them, so the server never sees them again; but the old "
    "repository still holds them until it is deleted."
)


def next_steps(outcome: PurgeOutcome) -> list[str]:
    where = outcome.target
    steps = [
        f"Look at the result: `git -C {where} log --all --oneline`, and "
        f"`git -C {where} for-each-ref` for every ref.",
        f"Force-push every ref: `git -C {where} push --force --mirror <URL of the server>` "
        "(a mirror push also deletes server refs the mirror does not have; pushes to "
        "protected branches may need protection lifted for the push).",
        "Ask every collaborator to delete their clone and clone again: an old clone that "
        "pushes or merges brings the keys back.",
        "Open a support ticket with the host (GitHub, GitLab, ...) asking it to drop cached "
        "pull-request refs (refs/pull/*, merge-request refs) and cached views of the old "
        "commits: you cannot push to those refs yourself.",
        f"Keep the old repository ({outcome.repo}) and any other old mirror offline until "
        "that is done, then delete them: they still hold the keys.",
        "Revoking is what un-leaks a key: make sure every key is revoked (`keysentry revoke`).",
    ]
    if outcome.in_place:
        steps[0] = f"Look at the result: `git -C {where} log --all --oneline`."
    return steps


def still_present_note(outcome: PurgeOutcome) -> str:
    return (
        f"STILL PRESENT: {len(outcome.still_present)} key(s) remain in {outcome.target}. "
        "Binary files, archives and encoded copies cannot be edited byte-for-byte: remove "
        "those files from history with --remove-files (run the purge again from the "
        "original repository). A ref naming a tree or a blob, a file git keeps in its "
        "directory (config, description, hooks, info/) and anything else listed here: "
        "edit or delete it by hand, then check again with `keysentry history`."
    )


def verified_note(outcome: PurgeOutcome) -> str:
    s = outcome.searched
    return (
        f"verified: no purged key is left in {outcome.target}: the audit finds none, and "
        f"a literal search of every object ({s.get('objects', 0)}), ref name "
        f"({s.get('refs', 0)}) and file of its git directory ({s.get('files', 0)}) for "
        f"each key, raw and in {s.get('forms', 0) - 1} encodings, finds nothing"
    )


def render_text(outcome: PurgeOutcome) -> str:
    lines: list[str] = []
    add = lines.append
    if not outcome.keys:
        add("keysentry purge: no key to purge; nothing was written.")
        lines += [f"warning: {w}" for w in outcome.warnings]
        return "\n".join(lines) + "\n"
    target = "rewritten in place" if outcome.in_place else f"rewritten mirror: {outcome.target}"
    add(f"keysentry purge {outcome.repo}: {target}")
    add(f"{len(outcome.keys)} key(s) replaced by {outcome.replacement}:")
    for key in outcome.keys:
        add(f"  {key.redacted}  {key.fingerprint[:16]}  {key.status}, {key.locations} location(s)")
    add(
        f"{outcome.commits_rewritten} of {outcome.commits} commit(s) rewritten, "
        f"{len(outcome.refs_updated)} ref(s) updated"
    )
    lines += [f"  {ref}" for ref in outcome.refs_updated[:SHOWN_REFS]]
    if len(outcome.refs_updated) > SHOWN_REFS:
        add(f"  ... and {len(outcome.refs_updated) - SHOWN_REFS} more (--format json lists all)")
    if outcome.refs_renamed:
        add(f"{len(outcome.refs_renamed)} ref(s) renamed (their names held a key):")
        lines += [f"  {rename}" for rename in outcome.refs_renamed]
    add(f"old -> new commit ids (git-filter-repo's commit map): {outcome.commit_map}")
    if outcome.removed_paths:
        add(f"{len(outcome.removed_paths)} file(s) removed from every commit:")
        lines += [f"  {path}" for path in outcome.removed_paths]
    if outcome.still_present:
        add(_wrap(still_present_note(outcome)))
        for left in outcome.still_present:
            add(f"  {left.redacted}  {left.fingerprint[:16]}")
            lines += [f"    {place}" for place in left.places]
    elif not outcome.unverified:
        add(_wrap(verified_note(outcome)))
    if not outcome.in_place:
        add(_wrap(NOT_CARRIED))
        if outcome.not_carried:
            add("These occurrences were only there, so they are not in the mirror:")
            lines += [f"  {place}" for place in outcome.not_carried]
    lines += [_wrap(f"warning: {w}") for w in outcome.warnings]
    split = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in outcome.timings.items())
    add(f"took {sum(outcome.timings.values()):.1f}s ({split})")
    add("Next steps:")
    steps = enumerate(next_steps(outcome), start=1)
    lines += [_wrap(f"{n}. {step}", "  ", "     ") for n, step in steps]
    return "\n".join(lines) + "\n"


def _wrap(text: str, first: str = "", rest: str = "  ") -> str:
    # For a terminal; the JSON report keeps every sentence whole.
    return textwrap.fill(
        text, 100, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


def render_json(outcome: PurgeOutcome) -> str:
    data = asdict(outcome)
    data["timings"] = {k: round(v, 3) for k, v in outcome.timings.items()}
    data["not_carried_note"] = NOT_CARRIED if not outcome.in_place else ""
    data["next_steps"] = next_steps(outcome) if outcome.keys else []
    data["exit_code"] = int(outcome.exit_code)
    data["verdict"] = (
        still_present_note(outcome)
        if outcome.still_present
        else ("" if outcome.unverified or not outcome.keys else verified_note(outcome))
    )
    return json.dumps(data, indent=2) + "\n"
