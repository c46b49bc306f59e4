"""Hex with separators and hex dump layouts through `scan` and `history`."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import PREFIX, make_key
from formhelpers import found_in_both, nothing_in_both


def _text(chunk: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)


def xxd(data: bytes, group: int = 2) -> str:
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        groups = [chunk[i : i + group].hex() for i in range(0, len(chunk), group)]
        width = 16 // group * (2 * group + 1) - 1
        lines.append(f"{off:08x}: {' '.join(groups):<{width}}  {_text(chunk)}")
    return "\n".join(lines) + "\n"


def hexdump_c(data: bytes) -> str:
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        left, right = chunk[:8].hex(" "), chunk[8:].hex(" ")
        lines.append(f"{off:08x}  {left:<23}  {right:<23}  |{_text(chunk)}|")
    return "\n".join([*lines, f"{len(data):08x}"]) + "\n"


def od(data: bytes) -> str:
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        cells = "".join(f" {b:02x}" for b in chunk)
        lines.append(f"{off:06x}{cells:<48}  >{_text(chunk)}<")
    return "\n".join([*lines, f"{len(data):06x}"]) + "\n"


DUMPS: dict[str, Callable[[bytes], str]] = {
    "xxd": xxd,
    "xxd-g1": lambda d: xxd(d, 1),
    "xxd-g4": lambda d: xxd(d, 4),
    "hexdump-C": hexdump_c,
    "od": od,
}


@pytest.mark.parametrize("lead", [0, 1, 7, 8, 11, 15])
@pytest.mark.parametrize("layout", list(DUMPS))
def test_key_across_dump_lines(tmp_path: Path, layout: str, lead: int) -> None:
    key = make_key()
    data = secrets.token_bytes(lead) + b"KEY=" + key.encode() + b"\n" + bytes(20)
    dump = DUMPS[layout](data)
    (loc,) = found_in_both(tmp_path, "core.dump.txt", dump, key)
    assert loc["decoders"] == ["hexdump"]
    first = (lead + 4) // 16  # the dump line of the key's first byte
    assert loc["line"] == first + 1
    line = dump.splitlines()[first]
    assert line[loc["column"] - 1 : loc["column"] + 1] == "73"


def _list(key: bytes, fmt: str, sep: str, per_line: int = 0) -> str:
    cells = [fmt.format(b) for b in key]
    if not per_line:
        return sep.join(cells)
    rows = [sep.join(cells[i : i + per_line]) for i in range(0, len(cells), per_line)]
    return (sep.rstrip() + "\n    ").join(rows)


LISTS: dict[str, Callable[[bytes], str]] = {
    "colon": lambda k: "fingerprint: " + _list(k, "{:02x}", ":") + "\n",
    "colon-upper": lambda k: "id " + _list(k, "{:02X}", ":") + "\n",
    "spaces": lambda k: "payload = " + _list(k, "{:02x}", " ") + "\n",
    "byte-list": lambda k: "data = [" + _list(k, "0x{:02x}", ", ") + "]\n",
    "c-array": lambda k: (
        "static const uint8_t key[] = {\n    " + _list(k, "0x{:02X}", ", ", 12) + "\n};\n"
    ),
    "c-array-tight": lambda k: "char k[]={" + _list(k, "0x{:02x}", ",", 10) + "};\n",
    "spaces-lines": lambda k: _list(k, "{:02x}", " ", 16) + "\n",
}


@pytest.mark.parametrize("form", list(LISTS))
def test_separated_hex(tmp_path: Path, form: str) -> None:
    key = make_key()
    text = LISTS[form](key.encode())
    (loc,) = found_in_both(tmp_path, "bytes.txt", text, key)
    assert loc["decoders"] == ["hex-bytes"]
    line = text.splitlines()[loc["line"] - 1]
    assert line[loc["column"] - 1 : loc["column"] + 1].lower() == "73"


@pytest.mark.parametrize(
    "body",
    [
        lambda: secrets.token_hex(32)[:63],
        lambda: secrets.token_hex(33)[:65],
        lambda: secrets.token_hex(32).upper(),
    ],
    ids=["63", "65", "upper"],
)
@pytest.mark.parametrize("layout", ["xxd", "hexdump-C", "c-array"])
def test_near_misses(tmp_path: Path, layout: str, body: Callable[[], str]) -> None:
    data = f"KEY={PREFIX}{body()}\n".encode()
    text = LISTS[layout](data) if layout in LISTS else DUMPS[layout](data)
    nothing_in_both(tmp_path, "dump.txt", text)


@pytest.mark.parametrize("layout", list(DUMPS))
def test_unrelated_dumps(tmp_path: Path, layout: str) -> None:
    data = secrets.token_bytes(4096) + b"sk-or-v1-" + b"not a key at all" + secrets.token_bytes(64)
    nothing_in_both(tmp_path, "random.dump", DUMPS[layout](data))
