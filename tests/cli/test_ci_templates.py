"""The GitHub Action (action.yml) and the GitLab CI template, run as their runners would.

The shell steps are taken from the YAML files themselves and run with bash, on real
repositories with a bare remote, in an environment like the runner's: the event payload
file, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP; GitLab's predefined variables.

The install steps are the one substitution: they would fetch keysentry and its
dependencies from the network. The Action's install step is replaced by one that writes the
same outputs pointing at the keysentry of this test run (its `bin/` next to
sys.executable), after checking that the real step writes exactly those outputs; the
GitLab template's `pip install` line is dropped and the same `bin/` put first on PATH.
Steps that are `uses:` (upload-sarif) cannot run here: their inputs are checked instead.

Both scan once: the keysentry they run is a wrapper that logs each start before it execs
this run's keysentry, and with `validate` and `--no-cache` the fake API (a real HTTP server
on loopback) is asked once per key, where a second pass would ask again.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import conftest
from conftest import GIT_ENV, git, make_key
from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture
from keysentry.models import fingerprint_of

ROOT = conftest.ROOT
ACTION = ROOT / "action.yml"
GITLAB = ROOT / "ci" / "keysentry.gitlab-ci.yml"
BIN = Path(sys.executable).parent  # this test run's keysentry
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
fake = fake_openrouter_fixture()


def logged_keysentry(tmp_path: Path) -> tuple[Path, Path]:
    """A `keysentry` that appends its arguments to a log, one line per start, then runs
    this test run's keysentry: (its directory, for PATH; the log)."""
    wrapper_dir, log = tmp_path / "logged-bin", tmp_path / "keysentry-starts.log"
    wrapper_dir.mkdir(exist_ok=True)
    wrapper = wrapper_dir / "keysentry"
    wrapper.write_text(
        f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{BIN / "keysentry"}" "$@"\n', encoding="utf-8"
    )
    wrapper.chmod(0o755)
    log.write_text("")
    return wrapper_dir, log


def starts(log: Path) -> list[str]:
    return log.read_text().splitlines()


@dataclass
class Pr:
    repo: Path
    base: str
    head: str
    key: str | None
    """The key the pull request adds (None: it adds none)."""
    old_key: str
    """On the default branch before the pull request: never reported by it."""


def _commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")
    return git(repo, "rev-parse", "HEAD").strip()


def make_pr(tmp_path: Path, adds_key: bool, key: str | None = None) -> Pr:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", str(origin))
    old_key = make_key()
    _commit(repo, "old.env", f"KEY={old_key}\n")
    base = _commit(repo, "README", "hello\n")
    git(repo, "push", "-q", "origin", "main")
    git(repo, "switch", "-q", "-c", "feature")
    key = (key or make_key()) if adds_key else None
    _commit(repo, "app.py", f'KEY = "{key}"\n' if key else "KEY = None\n")
    head = _commit(repo, "notes.txt", "more\n")
    git(repo, "push", "-q", "origin", "feature")
    return Pr(repo, base, head, key, old_key)


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI", "GITLAB"))}
    return {**env, **GIT_ENV, "HOME": str(tmp_path)}


# -- GitHub Actions -------------------------------------------------------------------------


def load_action() -> dict[str, Any]:
    return yaml.safe_load(ACTION.read_text())  # type: ignore[no-any-return]


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    upload: dict[str, Any] | None
    """The upload-sarif step's `with:`, evaluated, when its `if:` would let it run."""
    starts: list[str]
    """The arguments of each keysentry process the steps started."""


def _parse_outputs(path: Path) -> dict[str, str]:
    outputs = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition("=")
        outputs[name] = value
    return outputs


def run_action(
    pr: Pr,
    tmp_path: Path,
    event: str = "pull_request",
    environment: dict[str, str] | None = None,
    **with_: str,
) -> ActionRun:
    action = load_action()
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    assert set(with_) <= set(inputs), set(with_) - set(inputs)
    inputs.update(with_)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    payload = {
        "number": 7,
        "pull_request": {"number": 7, "base": {"sha": pr.base}, "head": {"sha": pr.head}},
    }
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(payload))
    summary = tmp_path / "step-summary.md"
    summary.write_text("")
    env = {
        **base_env(tmp_path),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_BASE_REF": "main",
        "GITHUB_HEAD_REF": "feature",
        "GITHUB_WORKSPACE": str(pr.repo),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner_temp),
        **(environment or {}),
    }
    wrapper_dir, log = logged_keysentry(tmp_path)
    steps: dict[str, dict[str, str]] = {}

    def evaluate(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("inputs."):
                return inputs[expr.removeprefix("inputs.")]
            if expr.startswith("steps."):
                step, _, name = expr.removeprefix("steps.").partition(".outputs.")
                return steps.get(step, {}).get(name, "")
            return {"github.action_path": str(ROOT), "runner.temp": str(runner_temp)}[expr]

        return EXPRESSION.sub(one, text)

    code, stdout, stderr, upload = 0, "", "", None
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"] == "github/codeql-action/upload-sarif@v3"
            # `if: always() && inputs.sarif == 'true' && steps.scan.outputs.sarif-file != ''`
            assert step["if"].startswith("always() && ")
            if inputs["sarif"] == "true" and steps["scan"].get("sarif-file"):
                upload = {k: evaluate(str(v)) for k, v in step["with"].items()}
            continue
        if code != 0:
            continue  # a failed step skips the `run:` steps after it (no `if: always()`)
        assert step["shell"] == "bash"
        # Inputs reach the script through env: an expression inside `run:` would be
        # spliced into the shell text (script injection).
        assert "${{" not in step["run"], step["name"]
        output = tmp_path / f"output-{step['id']}"
        output.write_text("")
        step_env = {**env, "GITHUB_OUTPUT": str(output)}
        step_env.update({k: evaluate(str(v)) for k, v in step.get("env", {}).items()})
        cwd = pr.repo / evaluate(step.get("working-directory", "."))
        script = step["run"]
        if step["id"] == "install":
            # The substitution (see the module docstring): same outputs, no network.
            written = set(re.findall(r'echo "([a-z-]+)=', script))
            assert written == {"keysentry", "python"}
            assert '"$ACTION_PATH"' in script  # installs the action's own checkout
            script = f'echo "keysentry={wrapper_dir / "keysentry"}" >> "$GITHUB_OUTPUT"\n'
            script += f'echo "python={sys.executable}" >> "$GITHUB_OUTPUT"\n'
        proc = bash(script, cwd, step_env)
        steps[step["id"]] = _parse_outputs(output)
        stdout, stderr = stdout + proc.stdout, stderr + proc.stderr
        code = proc.returncode
    assert all(EXPRESSION.fullmatch(spec["value"]) for spec in action["outputs"].values())
    outputs = {name: evaluate(spec["value"]) for name, spec in action["outputs"].items()}
    return ActionRun(code, stdout, stderr, outputs, summary.read_text(), upload, starts(log))


def test_action_fails_a_pull_request_that_adds_a_key(tmp_path: Path) -> None:
    pr = make_pr(tmp_path, adds_key=True)
    run = run_action(pr, tmp_path, sarif="true")
    assert run.code == 1, run.stderr
    assert run.outputs["findings"] == "1" and run.outputs["exit-code"] == "1"
    assert len(run.starts) == 1 and run.starts[0].startswith("ci ")  # one scan
    assert run.stderr.count("1 finding(s)") == 1  # its summary, in the job log once
    assert pr.key is not None and pr.key not in run.stdout + run.stderr + run.summary
    # One annotation, on the line that holds the key; the old key on main is not new.
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1 and errors[0].startswith("::error file=app.py,line=1,col=")
    assert fingerprint_of(pr.old_key) not in run.stdout
    assert "::notice title=keysentry ci::commit range chosen: GitHub pull_request #7" in run.stdout
    assert "1 leaked key(s) found" in run.summary and "pull_request #7" in run.summary
    # The SARIF file is written where the output says, and upload-sarif is given it.
    sarif = Path(run.outputs["sarif-file"])
    assert sarif.is_absolute() and sarif == pr.repo / "keysentry.sarif"
    assert run.upload == {"sarif_file": str(sarif), "category": "keysentry"}
    (sarif_run,) = json.loads(sarif.read_text())["runs"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif_run["results"]] == ["app.py"]  # fmt: skip


def test_action_passes_a_pull_request_without_a_key(tmp_path: Path) -> None:
    pr = make_pr(tmp_path, adds_key=False)
    run = run_action(pr, tmp_path)
    assert run.code == 0, run.stderr
    assert run.outputs == {"findings": "0", "sarif-file": "", "exit-code": "0"}
    assert len(run.starts) == 1  # the JSON report to count from comes from the same scan
    assert run.upload is None  # sarif is off by default
    assert not [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert "no leaked keys found" in run.summary
    assert "commit range chosen: GitHub pull_request #7" in run.stderr  # the job log


def test_action_inputs_reach_keysentry(tmp_path: Path) -> None:
    pr = make_pr(tmp_path, adds_key=True)
    assert pr.key is not None
    # fail-on live: the key is reported, and as the API cannot be reached here (the
    # tests' OPENROUTER_BASE_URL is a closed loopback port) it is not live: no failure.
    run = run_action(pr, tmp_path, **{"fail-on": "live", "validate": "true"})
    assert run.code == 0 and run.outputs["findings"] == "1", run.stderr
    assert "validation: unknown" in run.stdout
    # a baseline (relative to the working directory) accepts the key
    baseline = pr.repo / "keysentry-baseline.json"
    subprocess.run(
        [str(BIN / "keysentry"), "baseline", "create", "--baseline", str(baseline), "app.py"],
        cwd=pr.repo, capture_output=True, check=True, env=base_env(tmp_path), timeout=300,
    )  # fmt: skip
    run = run_action(pr, tmp_path, baseline=baseline.name)
    assert run.code == 0 and run.outputs["findings"] == "0", run.stderr
    # args are split on whitespace; a usage error fails the step with its code and counts nothing
    run = run_action(pr, tmp_path, args="--no-such-option  --quiet")
    assert run.code == 2 and run.outputs["exit-code"] == "2" and run.outputs["findings"] == ""
    assert "No such option '--no-such-option'" in run.stderr


def test_action_scans_and_validates_once(tmp_path: Path, fake: FakeOpenRouter) -> None:
    """Annotations, the job summary, SARIF and the findings output from one scan: the key is
    sent to the API once, although --no-cache would make a second pass ask again."""
    key = fake.add_key(name="ci")
    pr = make_pr(tmp_path, adds_key=True, key=key)
    environment = {"OPENROUTER_BASE_URL": fake.base_url}
    for sarif in ("true", "false"):
        fake.clear_log()
        run = run_action(
            pr, tmp_path, environment=environment, sarif=sarif, validate="true", args="--no-cache"
        )
        assert run.code == 1 and run.outputs["findings"] == "1", run.stderr
        assert len(fake.requests_for(key)) == 1 and len(run.starts) == 1
        assert "validation: LIVE" in run.stdout and "LIVE" in run.summary
        if sarif == "true":
            (sarif_run,) = json.loads(Path(run.outputs["sarif-file"]).read_text())["runs"]
            (result,) = sarif_run["results"]
            assert result["properties"]["fingerprint"] == fingerprint_of(key)
        assert key not in run.stdout + run.stderr + run.summary


def test_action_scheduled_run_needs_full_fallback(tmp_path: Path) -> None:
    pr = make_pr(tmp_path, adds_key=True)
    run = run_action(pr, tmp_path, event="schedule")
    assert run.code == 2 and "'schedule' has no commit range" in run.stderr
    run = run_action(pr, tmp_path, event="schedule", args="--full-fallback")
    assert run.code == 1 and run.outputs["findings"] == "2"  # the whole history: both keys


# -- GitLab CI ------------------------------------------------------------------------------


def load_gitlab_job() -> dict[str, Any]:
    template = yaml.safe_load(GITLAB.read_text())
    return template["keysentry"]  # type: ignore[no-any-return]


@dataclass
class GitlabRun:
    returncode: int
    stdout: str
    stderr: str
    starts: list[str]
    """The arguments of each keysentry process the job started."""


def run_gitlab(pr: Pr, tmp_path: Path, **variables: str) -> GitlabRun:
    job = load_gitlab_job()
    lines = [*job["before_script"], *job["script"]]
    assert all(isinstance(line, str) for line in lines)  # a stray ": " makes a mapping
    install = [line for line in lines if "-m pip install" in line]
    assert len(install) == 1 and '"$KEYSENTRY_PIP_SPEC"' in install[0]
    # The substitution (see the module docstring): no install, this run's keysentry first.
    wrapper_dir, log = logged_keysentry(tmp_path)
    lines = [f'export PATH="{wrapper_dir}:$PATH"' if line in install else line for line in lines]
    env = {
        **base_env(tmp_path),
        **{k: str(v) for k, v in job["variables"].items()},
        "KEYSENTRY_PIP_SPEC": "git+https://example.invalid/keysentry@rev",
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_COMMIT_SHA": pr.head,
        "CI_COMMIT_REF_NAME": "feature",
        "CI_DEFAULT_BRANCH": "main",
        "CI_MERGE_REQUEST_IID": "12",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": pr.base,
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": pr.head,
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_PROJECT_DIR": str(pr.repo),
        **variables,
    }
    # GitLab runs the lines of before_script and script as one bash script that stops at
    # the first failing line.
    proc = bash("set -eo pipefail\n" + "\n".join(lines) + "\n", pr.repo, env)
    return GitlabRun(proc.returncode, proc.stdout, proc.stderr, starts(log))


def test_gitlab_template_declares_its_reports() -> None:
    job = load_gitlab_job()
    assert job["variables"]["GIT_DEPTH"] == "0"
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"] == {"codequality": "gl-code-quality-report.json"}
    assert set(job["artifacts"]["paths"]) == {"keysentry.json", "gl-code-quality-report.json"}


def test_gitlab_merge_request_that_adds_a_key(tmp_path: Path) -> None:
    pr = make_pr(tmp_path, adds_key=True)
    proc = run_gitlab(pr, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert len(proc.starts) == 1 and proc.starts[0].startswith("ci ")  # one scan, two reports
    assert proc.stderr.count("GitLab merge request !12") == 1  # the range, in the job log
    (issue,) = json.loads((pr.repo / "gl-code-quality-report.json").read_text())
    assert issue["location"] == {"path": "app.py", "lines": {"begin": 1}}
    assert "GitLab merge request !12" in issue["description"]
    report = json.loads((pr.repo / "keysentry.json").read_text())
    assert [f["fingerprint"] for f in report["findings"]] == [fingerprint_of(pr.key or "")]
    written = (pr.repo / "gl-code-quality-report.json").read_text() + json.dumps(report)
    assert pr.key is not None and pr.key not in written + proc.stdout + proc.stderr


def test_gitlab_merge_request_without_a_key(tmp_path: Path) -> None:
    pr = make_pr(tmp_path, adds_key=False)
    proc = run_gitlab(pr, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((pr.repo / "gl-code-quality-report.json").read_text()) == []
    assert json.loads((pr.repo / "keysentry.json").read_text())["findings"] == []


def test_gitlab_scans_and_validates_once(tmp_path: Path, fake: FakeOpenRouter) -> None:
    key = fake.add_key()
    pr = make_pr(tmp_path, adds_key=True, key=key)
    proc = run_gitlab(
        pr,
        tmp_path,
        OPENROUTER_BASE_URL=fake.base_url,
        KEYSENTRY_VALIDATE="true",
        KEYSENTRY_ARGS="--no-cache",
    )
    assert proc.returncode == 1, proc.stderr
    assert len(fake.requests_for(key)) == 1 and len(proc.starts) == 1
    report = json.loads((pr.repo / "keysentry.json").read_text())
    assert [f["validation"]["status"] for f in report["findings"]] == ["live"]
    (issue,) = json.loads((pr.repo / "gl-code-quality-report.json").read_text())
    assert issue["location"]["path"] == "app.py"


def test_gitlab_push_of_a_new_branch_and_variables(tmp_path: Path) -> None:
    pr = make_pr(tmp_path, adds_key=True)
    git(pr.repo, "update-ref", "-d", "refs/remotes/origin/main")  # the template fetches it
    push = {
        "CI_PIPELINE_SOURCE": "push",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": "",
        "CI_COMMIT_BEFORE_SHA": "0" * 40,
        "CI_COMMIT_BRANCH": "feature",
    }
    proc = run_gitlab(pr, tmp_path, **push)
    assert proc.returncode == 1 and "the commits not on main" in proc.stderr, proc.stderr
    proc = run_gitlab(pr, tmp_path, **push, KEYSENTRY_FAIL_ON="live", KEYSENTRY_VALIDATE="true")
    assert proc.returncode == 0, proc.stderr
    proc = run_gitlab(pr, tmp_path, **push, KEYSENTRY_PIP_SPEC="")
    assert proc.returncode == 2 and "set KEYSENTRY_PIP_SPEC" in proc.stderr


@pytest.mark.parametrize("path", [ACTION, GITLAB])
def test_templates_hold_no_key(path: Path) -> None:
    assert "sk-or-" not in path.read_text()


# -- nothing from the checkout runs: every Python is isolated ----------------------------------

# What a step's Python could import from its working directory (the checkout) if it were not
# isolated: the modules `-m venv`, `-m pip` and `-c 'import json ...'` name or load early.
PLANTED_MODULES = (
    "json.py", "re.py", "shutil.py", "subprocess.py", "tempfile.py", "sysconfig.py",
    "sitecustomize.py", "usercustomize.py", "logging/__init__.py",
    "pip/__init__.py", "pip/__main__.py", "venv/__init__.py", "venv/__main__.py",
    "ensurepip/__init__.py", "ensurepip/__main__.py", "keysentry/__init__.py",
    "keysentry/__main__.py", "keysentry.py",
)  # fmt: skip


def plant(checkout: Path, marker: Path) -> None:
    """Modules that record that they ran; committed, as a hostile pull request would."""
    for name in PLANTED_MODULES:
        if name == "keysentry.py":
            continue  # the keysentry/ package shadows it; planted on its own below
        path = checkout / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"open({str(marker)!r}, 'a').write({name!r} + '\\n')\n")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "modules of our own")


def _ran(marker: Path) -> str:
    return marker.read_text() if marker.exists() else ""


def test_action_runs_nothing_from_the_checkout(tmp_path: Path) -> None:
    """The count step's `python -c 'import json'` ran in the checkout: a committed json.py
    ran instead (and could report 0 findings)."""
    pr = make_pr(tmp_path, adds_key=True)
    marker = tmp_path / "ran"
    plant(pr.repo, marker)
    git(pr.repo, "push", "-q", "origin", "feature")
    run = run_action(pr, tmp_path, sarif="true")
    assert _ran(marker) == ""
    assert run.code == 1 and run.outputs["findings"] == "1", run.stderr
    run = run_action(pr, tmp_path)  # the JSON counting path
    assert _ran(marker) == "" and run.outputs["findings"] == "1", run.stderr


def _offline_pip(tmp_path: Path) -> dict[str, str]:
    """pip without an index: the install runs as far as fetching keysentry's build
    dependencies, then fails, which is enough to see whose pip and venv ran."""
    empty = tmp_path / "no-wheels"
    empty.mkdir(exist_ok=True)
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty), "PIP_CONFIG_FILE": os.devnull}


def test_action_install_step_runs_nothing_from_the_checkout(tmp_path: Path) -> None:
    """The install step itself, unsubstituted: `python -m venv` and `-m pip` with the
    checkout as working directory imported a committed venv/ and pip/."""
    pr = make_pr(tmp_path, adds_key=False)
    marker = tmp_path / "ran"
    plant(pr.repo, marker)
    (step,) = [s for s in load_action()["runs"]["steps"] if s.get("id") == "install"]
    output = tmp_path / "output"
    output.write_text("")
    env = {
        **base_env(tmp_path),
        **_offline_pip(tmp_path),
        "ACTION_PATH": str(ROOT),
        "KEYSENTRY_VENV": str(tmp_path / "venv"),
        "PYTHON": sys.executable,
        "GITHUB_OUTPUT": str(output),
    }
    proc = bash(step["run"], pr.repo, env)  # GitHub runs a step in the workspace
    assert _ran(marker) == "", proc.stderr
    assert (tmp_path / "venv" / "bin" / "python").exists(), proc.stderr  # the real venv ran
    # and the real pip: it stops where the index would be needed
    assert proc.returncode != 0 and "setuptools" in proc.stderr, proc.stderr


def test_gitlab_install_line_runs_nothing_from_the_checkout(tmp_path: Path) -> None:
    pr = make_pr(tmp_path, adds_key=False)
    marker = tmp_path / "ran"
    plant(pr.repo, marker)
    job = load_gitlab_job()
    (line,) = [line for line in job["before_script"] if "-m pip install" in line]
    venv = tmp_path / "venv"
    line = line.replace("/tmp/keysentry-venv", str(venv))  # not the shared /tmp path
    env = {**base_env(tmp_path), **_offline_pip(tmp_path), "KEYSENTRY_PIP_SPEC": str(ROOT)}
    proc = bash("set -eo pipefail\n" + line + "\n", pr.repo, env)
    assert _ran(marker) == "", proc.stderr
    assert (venv / "bin" / "python").exists(), proc.stderr
    assert proc.returncode != 0 and "setuptools" in proc.stderr, proc.stderr


def _shell_of(path: Path) -> list[str]:
    """The shell a template runs: the Action's `run:` steps, the GitLab job's lines."""
    if path == ACTION:
        return [step["run"] for step in load_action()["runs"]["steps"] if "run" in step]
    job = load_gitlab_job()
    return [*job["before_script"], *job["script"]]


@pytest.mark.parametrize("path", [ACTION, GITLAB])
def test_every_python_in_the_templates_runs_isolated(path: Path) -> None:
    """Every Python a step starts takes -I first (a step added later too)."""
    shell = "\n".join(_shell_of(path))
    calls = re.findall(r"""(?:python3?|_PY)"?\s+(-[A-Za-z]+)""", shell)
    assert calls, "no Python invocation found: the pattern is stale"
    assert all(flag == "-I" for flag in calls), calls
    assert not re.search(r"/pip\b", shell)  # a venv's pip script: `python -I -m pip` instead
