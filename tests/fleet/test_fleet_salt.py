"""What else a resume's state holds besides the refs (keysentry.fleet.state): keysentry's
version and built-in rules, the settings that decide an audit's result and the files
they name, and each repository's own configuration files. A change to any of them
audits again; nothing else does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conftest import git
from gitrepo_helpers import commit
from keysentry.fleet.spec import AuditSettings
from keysentry.fleet.state import audit_state, refs_state, salted, settings_salt

CONFIG_FILES = (".keysentry.toml", "pyproject.toml")
"""Written out here, not imported: each entry must fail a test when it is dropped."""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    named = {}
    for name, text in (
        ("config", "include_placeholders = false\n"),
        ("rules1", "schema_version = 1\n"),
        ("rules2", "schema_version = 1\n# two\n"),
        ("baseline", "{}\n"),
    ):
        named[name] = tmp_path / f"{name}.toml"
        named[name].write_text(text)
    return named


def test_the_salt_is_stable(tmp_path: Path, files: dict[str, Path]) -> None:
    settings = AuditSettings(
        tmp_path / "clones",
        config_path=files["config"],
        rules=(files["rules1"], files["rules2"]),
        baseline=files["baseline"],
    )
    assert settings_salt(settings) == settings_salt(replace(settings))


@pytest.mark.parametrize(
    "change",
    ["config_path", "rules", "include_placeholders", "baseline", "messages"],
)
def test_each_setting_that_decides_the_result_changes_the_salt(
    tmp_path: Path, files: dict[str, Path], change: str
) -> None:
    before = AuditSettings(tmp_path / "clones")
    after = replace(
        before,
        **{
            "config_path": {"config_path": files["config"]},
            "rules": {"rules": (files["rules1"],)},
            "include_placeholders": {"include_placeholders": True},
            "baseline": {"baseline": files["baseline"]},
            "messages": {"messages": False},
        }[change],
    )
    assert settings_salt(after) != settings_salt(before)


def test_settings_that_do_not_decide_the_result_keep_the_salt(tmp_path: Path) -> None:
    """Where clones go and how long an audit may take change no finding."""
    before = AuditSettings(tmp_path / "clones")
    after = replace(
        before, clone_dir=tmp_path / "other", timeout=5.0, stall_timeout=1.0, keep_secrets=True
    )
    assert settings_salt(after) == settings_salt(before)


@pytest.mark.parametrize(
    ("name", "with_config"),
    [(name, True) for name in ("config", "rules1", "rules2", "baseline")]
    + [(name, False) for name in ("rules1", "rules2", "baseline")],
)
def test_the_contents_of_each_named_file_change_the_salt(
    tmp_path: Path, files: dict[str, Path], name: str, with_config: bool
) -> None:
    settings = AuditSettings(
        tmp_path / "clones",
        config_path=files["config"] if with_config else None,
        rules=(files["rules1"], files["rules2"]),
        baseline=files["baseline"],
    )
    before = settings_salt(settings)
    files[name].write_text(files[name].read_text() + "# edited\n")
    assert settings_salt(settings) != before


def test_an_unreadable_named_file_is_not_an_empty_one(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    missing = tmp_path / "missing.toml"
    settings = AuditSettings(tmp_path / "clones", rules=(missing,))
    absent = settings_salt(settings)
    assert settings_salt(settings) == absent
    missing.write_text("")
    empty = settings_salt(settings)
    assert empty != absent
    missing.unlink()
    missing.mkdir()  # there, but no regular file
    assert settings_salt(settings) == absent


def test_a_new_version_or_new_builtin_rules_change_the_salt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keysentry
    from keysentry.detect import rules

    settings = AuditSettings(tmp_path / "clones")
    before = settings_salt(settings)
    monkeypatch.setattr(keysentry, "__version__", keysentry.__version__ + ".post1")
    newer = settings_salt(settings)
    assert newer != before
    digest = rules.builtin_rules_digest()
    monkeypatch.setattr(rules, "builtin_rules_digest", lambda: digest[::-1])
    assert settings_salt(settings) not in (before, newer)


# -- each repository's own configuration files -----------------------------------------------


def test_salted_keeps_the_refs_state_readable(tmp_path: Path) -> None:
    state = salted("files:abc", tmp_path, "salt")
    assert state.startswith("files:abc+") and state == salted("files:abc", tmp_path, "salt")
    assert salted("files:abd", tmp_path, "salt") != state
    assert salted("files:abc", tmp_path, "pepper") != state


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_each_configuration_file_of_the_repository_is_part_of_the_state(
    tmp_path: Path, name: str
) -> None:
    absent = salted("s", tmp_path, "salt")
    (tmp_path / name).write_text("")
    empty = salted("s", tmp_path, "salt")
    (tmp_path / name).write_text("[tool.keysentry]\n")
    written = salted("s", tmp_path, "salt")
    assert len({absent, empty, written}) == 3
    (tmp_path / name).unlink()
    assert salted("s", tmp_path, "salt") == absent


def test_the_same_text_in_either_file_is_told_apart(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / CONFIG_FILES[0]).write_text("x = 1\n")
    (two / CONFIG_FILES[1]).write_text("x = 1\n")
    assert salted("s", one, "salt") != salted("s", two, "salt")


def test_audit_state_is_the_refs_state_salted(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    state = audit_state(repo, "salt")
    assert state == audit_state(repo, "salt")
    assert state.startswith(refs_state(repo) + "+")
    assert audit_state(repo, "pepper") != state
    (repo / ".keysentry.toml").write_text("include_placeholders = true\n")  # not committed
    configured = audit_state(repo, "salt")
    assert configured != state
    git(repo, "tag", "v1")
    assert audit_state(repo, "salt") not in (state, configured)
