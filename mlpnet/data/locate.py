"""Finding a dataset's IDX files on disk, downloading them if needed, and caching the decode.

Decoding gzip is the slow part of loading (about 0.3 s for Fashion-MNIST), so the
four decoded arrays are kept as ``.npy`` files under the user cache, keyed by the
source files' absolute paths, sizes and mtimes: a changed source gets a new key.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .download import DATASETS, FILES, fetch
from ..errors import DataError, DownloadError
from .idx import read_idx_pair

__all__ = ["DATA_ENV", "SAMPLES", "SYSTEM_DIRS", "cache_home", "find_files", "load_idx_dir", "load_named",
           "load_sample", "search_dirs"]

DATA_ENV = "MLPNET_DATA"
# Debian's dataset-fashion-mnist package installs into /usr/share/datasets/fashion-mnist/.
SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/local/share/datasets"), Path("/usr/share/datasets"))

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

_ARRAYS = ("x_train", "y_train", "x_test", "y_test")

SAMPLES_DIR = Path(__file__).with_name("samples")
SAMPLES: dict[str, tuple[str, int]] = {"mnist-sample": ("mnist", 8000)}
"""Datasets shipped inside the package: name -> (the full dataset it samples, training rows).

``mnist-sample`` is MNIST's 10,000 test digits (CC BY-SA 3.0, Yann LeCun and Corinna
Cortes): the first 8,000 are its training set (validation included), the last 2,000
its test set, a fixed split so every run and ``evaluate`` see the same one."""
_CACHE_VERSION = 1


def cache_home() -> Path:
    """``$XDG_CACHE_HOME/mlpnet`` if that is an absolute path, else ``~/.cache/mlpnet``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return root / "mlpnet"


def search_dirs(name: str, path: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders where dataset ``name`` is looked for, first match wins.

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"fashion-mnist"``.
    path : str or PathLike, optional
        ``data.path`` from the config: a folder holding the four files.

    Returns
    -------
    list of Path
        ``path``, ``$MLPNET_DATA/<name>``, ``<user cache>/<name>``, then
        ``/usr/local/share/datasets/<name>`` and ``/usr/share/datasets/<name>``.
    """
    dirs = [Path(path).expanduser()] if path is not None else []
    env = os.environ.get(DATA_ENV, "")
    if env:
        dirs.append(Path(env).expanduser() / name)
    dirs.append(cache_home() / name)
    dirs.extend(root / name for root in SYSTEM_DIRS)
    return dirs


def find_files(directory: str | os.PathLike[str]) -> list[Path | None]:
    """Locate the four files in ``directory``, ``.gz`` or raw, ``-idx3-`` or ``.idx3-`` spelling.

    Returns one entry per :data:`~mlpnet.download.FILES` item, ``None`` where absent.
    """
    directory = Path(directory)
    found: list[Path | None] = []
    for fname in FILES:
        stem = fname.removesuffix(".gz")
        dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte, as on some mirrors
        candidates = (fname, stem, dotted + ".gz", dotted)
        found.append(next((directory / c for c in candidates if (directory / c).is_file()), None))
    return found


def load_idx_dir(path: str | os.PathLike[str]) -> Split:
    """Load a folder holding the four MNIST-layout IDX files, through the decoded cache.

    Parameters
    ----------
    path : str or PathLike
        Folder with ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
        ``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]``.

    Returns
    -------
    x_train : np.ndarray
        uint8 images, shape ``(N_train, H, W)``.
    y_train : np.ndarray
        int64 labels, shape ``(N_train,)``.
    x_test : np.ndarray
        uint8 images, shape ``(N_test, H, W)``.
    y_test : np.ndarray
        int64 labels, shape ``(N_test,)``.

    Raises
    ------
    DataError
        The folder lacks a file, or a file is malformed; the message names it.
    """
    path = Path(path).expanduser()
    files = find_files(path)
    if any(f is None for f in files):
        if path.is_file():
            raise DataError(f"{path}: a file, but this dataset is a folder of the four MNIST-layout IDX files; "
                            "set data.dataset to the file's format (csv, npz), or leave data.dataset out and "
                            "mlpnet infers it")
        if not path.is_dir():
            raise DataError(f"{path}: no such folder")
        absent = ", ".join(f for f, p in zip(FILES, files) if p is None)
        raise DataError(f"{path}: missing {absent} (a .gz or uncompressed copy of each)")
    return _load_cached([f for f in files if f is not None])


def load_named(
    name: str,
    path: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
) -> Split:
    """Load a named dataset from the first folder of :func:`search_dirs` that holds it.

    Parameters
    ----------
    name : str
        ``"mnist"``, ``"fashion-mnist"``, or any name whose files sit in a searched folder.
    path : str or PathLike, optional
        ``data.path`` from the config: when given, the files must be there (no search).
    download : bool
        If no folder holds the files, download them into ``<user cache>/<name>``.
    progress : bool
        Show a download progress bar.

    Returns
    -------
    x_train, y_train, x_test, y_test : np.ndarray
        As :func:`load_idx_dir`: uint8 ``(N, 28, 28)`` images and int64 ``(N,)`` labels.

    Raises
    ------
    DownloadError
        No searched folder holds the files and downloading is off or failed; the
        message lists the folders searched and the files to put there.
    DataError
        A file found is malformed.
    """
    if path is not None:
        # A folder named explicitly is used or refused, never silently passed over.
        return load_idx_dir(path)
    dirs = search_dirs(name, path)
    partial = []
    for directory in dirs:
        files = find_files(directory)
        if all(f is not None for f in files):
            return _load_cached([f for f in files if f is not None])
        if any(f is not None for f in files):
            partial.append(f"{directory} has {sum(f is not None for f in files)} of 4")
    where = ", ".join(str(d) for d in dirs)
    wanted = ", ".join(FILES)
    seen = f" ({'; '.join(partial)})" if partial else ""
    if download and name in DATASETS:
        try:
            target = fetch(name, cache_home() / name, progress=progress)
        except DownloadError as err:
            raise DownloadError(f"{name} not found in {where}{seen}, and {err}") from err
        return load_idx_dir(target)
    if name not in DATASETS:
        why = f"no download source for {name!r} (downloadable: {', '.join(sorted(DATASETS))})"
    else:
        why = "download is off"
    raise DownloadError(f"{name} not found: put {wanted} (or uncompressed) into one of {where}{seen}; {why}")


def load_sample(name: str) -> Split:
    """Load a dataset shipped inside the package (see :data:`SAMPLES`), split as it defines.

    Returns
    -------
    x_train, y_train, x_test, y_test : np.ndarray
        uint8 ``(N, 28, 28)`` images and int64 ``(N,)`` labels.
    """
    if name not in SAMPLES:
        raise DataError(f"unknown sample dataset {name!r}; valid: {', '.join(sorted(SAMPLES))}")
    folder = SAMPLES_DIR / name
    x, y = read_idx_pair(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")
    n = SAMPLES[name][1]
    return x[:n], y[:n], x[n:], y[n:]


def _load_cached(files: list[Path]) -> Split:
    """Load the decoded arrays from the cache if fresh, else decode and store them."""
    stats = [f.stat() for f in files]
    folder = hashlib.sha256(str(files[0].parent.resolve()).encode()).hexdigest()[:12]
    state = [[str(f.resolve()), s.st_size, s.st_mtime_ns] for f, s in zip(files, stats)]
    key = hashlib.sha256(json.dumps([_CACHE_VERSION, state]).encode()).hexdigest()[:16]
    # "<folder>-<state>": entries of one source folder share a prefix, so stale ones can be pruned.
    entry = cache_home() / "decoded" / f"{folder}-{key}"
    cached = _read_entry(entry)
    if cached is not None:
        return cached
    x_train, y_train = read_idx_pair(files[0], files[1])
    x_test, y_test = read_idx_pair(files[2], files[3])
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"{files[2]}: image shape {x_test.shape[1:]} differs from {files[0]}'s {x_train.shape[1:]}"
        )
    arrays = (x_train, y_train, x_test, y_test)
    # A source rewritten while we decoded must not be cached under its old key.
    if [(s.st_size, s.st_mtime_ns) for s in stats] == [(f.stat().st_size, f.stat().st_mtime_ns) for f in files]:
        _write_entry(entry, arrays)
    return arrays


def _read_entry(entry: Path) -> Split | None:
    """The four arrays of a cache entry, or None if it is absent, unreadable or inconsistent."""
    try:
        x_train, y_train, x_test, y_test = (np.load(entry / f"{a}.npy", allow_pickle=False) for a in _ARRAYS)
    except Exception:  # a missing or corrupt entry is rebuilt, never an error
        return None
    consistent = (
        x_train.dtype == x_test.dtype == np.uint8
        and y_train.dtype == y_test.dtype == np.int64
        and x_train.ndim >= 2 and y_train.ndim == 1 and y_test.ndim == 1
        and x_train.shape[1:] == x_test.shape[1:]
        and len(x_train) == len(y_train) and len(x_test) == len(y_test)
    )
    return (x_train, y_train, x_test, y_test) if consistent else None


def _write_entry(entry: Path, arrays: Split) -> None:
    """Write the arrays into a temp folder and rename it to ``entry``; failures are ignored."""
    tmp = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}."))
        for name, array in zip(_ARRAYS, arrays):
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
        prefix = entry.name.split("-")[0] + "-"
        for old in entry.parent.iterdir():
            # Drop a corrupt entry and the stale ones of the same source folder.
            if old.name.startswith(prefix) and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, entry)
        tmp = None
    except OSError:
        pass  # read-only or full cache, or another process won the race: loading still works
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
