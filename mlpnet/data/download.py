"""Downloading the named datasets from public mirrors, checked against pinned SHA-256 sums.

A file is streamed into a hidden temporary file beside its destination, hashed
on the way, fsynced and only then renamed into place, so the final name never
holds a partial or unverified download.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from .. import __version__
from ..errors import DataError, DownloadError, one_line

__all__ = ["DATASETS", "FILES", "DatasetSpec", "MIRROR_ENV", "fetch"]

MIRROR_ENV = "MLPNET_MIRROR"

# The four files of an MNIST-layout dataset, in (train x, train y, test x, test y) order.
FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

_CHUNK = 1 << 16
_MAX_BYTES = 1 << 30  # no dataset file here comes close; stops a runaway response


@dataclass(frozen=True)
class DatasetSpec:
    """Where a named dataset is published and what its files must hash to."""

    name: str
    mirrors: tuple[str, ...]
    sha256: Mapping[str, str]


# Sums of the upstream .gz files, as pinned by tensorflow/datasets
# (tensorflow_datasets/url_checksums/{mnist,fashion_mnist}.txt).
DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        sha256={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        ),
        sha256={
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
    ),
}


class _MirrorFailed(Exception):
    """One attempt at one URL failed; the message is the one-line reason."""


def fetch(
    name: str,
    dest_dir: str | os.PathLike[str],
    *,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Download the files of dataset ``name`` that ``dest_dir`` does not hold yet.

    Mirrors are tried in order for each file; a response whose SHA-256 differs
    from the pinned sum is discarded and the next mirror tried. A file already
    present (``.gz`` or uncompressed name) is left alone.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`, e.g. ``"mnist"`` or ``"fashion-mnist"``.
    dest_dir : str or PathLike
        Folder to download into; created if missing.
    mirrors : sequence of str, optional
        Base URLs to try, in order. Default: ``$MLPNET_MIRROR`` if set, else the
        dataset's public mirrors.
    checksums : mapping of str to str, optional
        Expected SHA-256 hex digest per file name. Default: the pinned sums.
    progress : bool
        Show a tqdm bar on stderr (only when stderr is a terminal).
    timeout : float
        Seconds to wait on connect and on each read.

    Returns
    -------
    Path
        ``dest_dir``, now holding the four files.

    Raises
    ------
    DataError
        ``name`` is not a known dataset.
    DownloadError
        Some file could not be fetched from any mirror; the message says which
        files to put into which folder, and what each mirror answered.
    """
    spec = DATASETS.get(name)
    if spec is None:
        raise DataError(f"unknown dataset {name!r}; valid: {', '.join(sorted(DATASETS))}")
    dest = Path(dest_dir)
    bases = _resolve_mirrors(spec, mirrors)
    sums = dict(spec.sha256 if checksums is None else checksums)
    missing = [f for f in FILES if not (dest / f).exists() and not (dest / f.removesuffix(".gz")).exists()]
    if not missing:
        return dest
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DownloadError(f"cannot create {dest}: {one_line(err)}") from err
    for index, fname in enumerate(missing):
        if fname not in sums:
            raise DownloadError(f"{name}: no SHA-256 known for {fname}; refusing an unverified download")
        failures = []
        for base in bases:
            url = base + fname
            try:
                _download(url, dest / fname, sums[fname], timeout=timeout, progress=progress)
                break
            except _MirrorFailed as err:
                failures.append(f"{url} ({err})")
        else:
            todo = ", ".join(missing[index:])
            raise DownloadError(
                f"could not download {name}: put {todo} into {dest} by hand; tried {'; '.join(failures)}"
            )
    return dest


def _resolve_mirrors(spec: DatasetSpec, mirrors: Sequence[str] | None) -> list[str]:
    """Explicit mirrors beat ``$MLPNET_MIRROR``, which beats the built-in list."""
    if mirrors is None:
        env = os.environ.get(MIRROR_ENV, "").strip()
        mirrors = [env] if env else spec.mirrors
    return [m if m.endswith("/") else m + "/" for m in mirrors]


def _download(url: str, final: Path, sha256: str, *, timeout: float, progress: bool) -> None:
    """Stream ``url`` into a temp file beside ``final``, verify, and rename into place."""
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    tmp = Path(tmp_name)
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _stream(url, out, timeout=timeout, progress=progress, label=final.name)
            if digest != sha256.lower():
                raise _MirrorFailed(f"SHA-256 mismatch: expected {sha256}, got {digest}")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
        done = True
        _fsync_dir(final.parent)
    finally:
        # Also runs on KeyboardInterrupt: never leave a .part file behind.
        if not done:
            tmp.unlink(missing_ok=True)


def _stream(url: str, out: BinaryIO, *, timeout: float, progress: bool, label: str) -> str:
    """Copy the body of ``url`` into ``out``; return its SHA-256 hex digest."""
    request = urllib.request.Request(url, headers={"User-Agent": f"mlpnet/{__version__}"})
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            show = progress and sys.stderr.isatty()
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                      file=sys.stderr, disable=not show, leave=False) as bar:
                while chunk := response.read(_CHUNK):
                    received += len(chunk)
                    if received > _MAX_BYTES:
                        raise _MirrorFailed(f"response larger than {_MAX_BYTES} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as err:
        raise _MirrorFailed(f"HTTP {err.code}") from err
    except urllib.error.URLError as err:
        raise _MirrorFailed(one_line(err.reason)) from err
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise _MirrorFailed(f"{type(err).__name__}: {one_line(err)}") from err
    # http.client's read(n) returns b"" on a dropped connection instead of raising.
    if total is not None and received != total:
        raise _MirrorFailed(f"connection dropped after {received} of {total} bytes")
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; best effort, as not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


