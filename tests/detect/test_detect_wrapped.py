"""Base64 wrapped with escaped line breaks inside JSON and YAML strings, through `scan`
and `history`."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest

from conftest import PREFIX, make_key
from formhelpers import found_in_both, nothing_in_both


def _wrap(text: bytes, width: int, joint: str) -> str:
    encoded = base64.b64encode(text).decode()
    return joint.join(encoded[i : i + width] for i in range(0, len(encoded), width))


def _env(key: str) -> bytes:
    return f"DATABASE_URL=postgres://db/app\nOPENROUTER_API_KEY={key}\nDEBUG=0\n".encode()


@pytest.mark.parametrize(("width", "joint"), [(76, "\\n"), (64, "\\r\\n"), (40, "\\n")])
def test_secret_pasted_into_json(tmp_path: Path, width: int, joint: str) -> None:
    key = make_key()
    value = _wrap(_env(key), width, joint) + joint
    document = '{"apiVersion": "v1", "kind": "Secret", "data": {"app.env": "' + value + '"}}\n'
    (loc,) = found_in_both(tmp_path, "secret.json", document, key)
    assert loc["decoders"] == ["escaped-newlines", "base64"]
    assert loc["line"] == 1 and loc["snippet"].startswith("OPENROUTER_API_KEY=sk-or-v1-")


def test_yaml_double_quoted_string(tmp_path: Path, key: str) -> None:
    value = _wrap(_env(key), 60, "\\n")
    document = f'apiVersion: v1\nkind: Secret\ndata:\n  app.env: "{value}"\n'
    (loc,) = found_in_both(tmp_path, "secret.yaml", document, key)
    assert loc["line"] == 4


def test_service_account_json_in_json(tmp_path: Path, key: str) -> None:
    inner = json.dumps({"type": "service_account", "token": key}, indent=2).encode()
    outer = json.dumps({"credentials": _wrap(inner, 64, "\\n")}).replace("\\\\n", "\\n")
    (loc,) = found_in_both(tmp_path, "ci-vars.json", outer + "\n", key)
    assert loc["decoders"] == ["escaped-newlines", "base64"]


@pytest.mark.parametrize(
    "body",
    [
        lambda: secrets.token_hex(32)[:63],
        lambda: secrets.token_hex(33)[:65],
        lambda: secrets.token_hex(32).upper(),
    ],
    ids=["63", "65", "upper"],
)
def test_near_misses(tmp_path: Path, body) -> None:  # type: ignore[no-untyped-def]
    text = f"OPENROUTER_API_KEY={PREFIX}{body()}\n".encode()
    nothing_in_both(tmp_path, "secret.json", '{"v": "' + _wrap(text, 40, "\\n") + '"}\n')


def test_unrelated_wrapped_base64(tmp_path: Path) -> None:
    blob = _wrap(secrets.token_bytes(600), 64, "\\n")
    nothing_in_both(tmp_path, "cert.json", '{"ca.crt": "' + blob + '\\n"}\n')
