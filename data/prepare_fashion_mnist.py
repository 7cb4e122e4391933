"""Fetch Fashion-MNIST into data/fashion-mnist/ from Debian's package, checked by hash.

The four IDX files (31 MB) are too big to commit, so `make setup` runs this on every fresh
machine; CI reaches Debian's mirror and PyPI and nothing else, hence Debian's package
dataset-fashion-mnist rather than the authors' own download site. Standard library only, so
it runs before the venv exists. Idempotent: when the four files are there and match their
hashes it downloads nothing.

    python data/prepare_fashion_mnist.py [path/to/dataset-fashion-mnist_..._all.deb]

Steps (also in data/README.md): download the .deb over HTTP (urllib), check its sha256, read
its `ar` members, open data.tar.xz with tarfile, extract
usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz into
data/fashion-mnist/ and check each file's sha256. Any failure prints one line, exits 1.
"""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

DEB_URL = (
    "http://deb.debian.org/debian/pool/main/d/dataset-fashion-mnist/"
    "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb"
)
DEB_SHA256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"
MEMBER_DIR = "usr/share/datasets/fashion-mnist/"
FILES = {  # the gzipped IDX files as the package ships them
    "train-images-idx3-ubyte.gz": (
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"
    ),
    "train-labels-idx1-ubyte.gz": (
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"
    ),
}
OUT = Path(__file__).resolve().parent / "fashion-mnist"
TIMEOUT_S = 120


class PrepareError(Exception):
    """Anything that stops the preparation; main() prints it as one line."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def present() -> bool:
    """All four files are in place and match their recorded hashes."""
    return all(
        (OUT / n).is_file() and sha256((OUT / n).read_bytes()) == h for n, h in FILES.items()
    )


def download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return response.read()
    except OSError as err:  # URLError, HTTPError and timeouts are all OSErrors
        raise PrepareError(f"cannot download {url}: {err}") from None


def ar_members(data: bytes) -> dict[str, bytes]:
    """The members of a Unix `ar` archive (a .deb is one): 60-byte headers, 2-byte aligned."""
    if not data.startswith(b"!<arch>\n"):
        raise PrepareError("the .deb is not an ar archive")
    out, pos = {}, 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        out[name] = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)
    return out


def extract(deb: bytes) -> dict[str, bytes]:
    """The four IDX .gz files from the package's data.tar.xz, by file name."""
    members = ar_members(deb)
    if "data.tar.xz" not in members:
        raise PrepareError(f"no data.tar.xz in the .deb (members: {', '.join(members)})")
    out = {}
    with tarfile.open(fileobj=io.BytesIO(members["data.tar.xz"]), mode="r:xz") as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("./")
            if name.startswith(MEMBER_DIR) and name[len(MEMBER_DIR) :] in FILES:
                out[name[len(MEMBER_DIR) :]] = tar.extractfile(member).read()
    missing = sorted(set(FILES) - set(out))
    if missing:
        raise PrepareError(f"the .deb lacks {', '.join(missing)}")
    return out


def prepare(deb_path: Path | None = None) -> str:
    """Make data/fashion-mnist/ hold the four verified files; returns what was done."""
    if present():
        return f"{OUT}: the four Fashion-MNIST files are present and verified"
    deb = deb_path.read_bytes() if deb_path else download(DEB_URL)
    if sha256(deb) != DEB_SHA256:
        raise PrepareError(f"the .deb has sha256 {sha256(deb)}, expected {DEB_SHA256}")
    files = extract(deb)
    for name, data in files.items():
        if sha256(data) != FILES[name]:
            raise PrepareError(f"{name}: sha256 {sha256(data)}, expected {FILES[name]}")
    OUT.mkdir(exist_ok=True)
    for name, data in files.items():  # write each atomically: a torn file never verifies
        with tempfile.NamedTemporaryFile(dir=OUT, prefix=f".{name}.", delete=False) as tmp:
            tmp.write(data)
        Path(tmp.name).chmod(0o644)  # NamedTemporaryFile's 0600 would hide it from others
        Path(tmp.name).replace(OUT / name)
    return f"{OUT}: extracted and verified the four Fashion-MNIST files"


def main() -> None:
    try:
        print(prepare(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
    except (PrepareError, OSError, tarfile.TarError, ValueError) as err:
        print(f"prepare_fashion_mnist: {err}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
