"""File I/O every layer shares: atomic writes (a reader sees the old file or the new one, never a
partial one), strict reads of YAML mappings (config and sweep files), and strict JSON text."""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

import yaml

from .errors import ConfigError


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it into place.

    On any exception (KeyboardInterrupt included) the temporary file is removed and
    ``path`` is left exactly as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sniff(path: str | Path) -> str:
    """What a file holds, from its first bytes: ``npz`` (a zip), ``npy``, ``pickle``, or ``other``.

    Lets loaders say "not an .npz file" instead of passing on NumPy's advice to unpickle.
    """
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(b"PK"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head[:1] == b"\x80":  # pickle protocol 2 and later
        return "pickle"
    return "other"


def write_text(path: str | Path, text: str) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8)."""
    with atomic_write(path, "w") as f:
        f.write(text)


def read_yaml(path: Path, source: str | None = None) -> dict:
    """Parse a YAML mapping (safe loader); syntax errors, duplicate keys and non-mappings are ConfigErrors naming the file."""
    source = source or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file{_similar_file(path)}") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a folder, not a YAML config file") from None
    except OSError as err:
        raise ConfigError(f"{source}: cannot read config: {err.strerror or err}") from None
    if data[:4] == b"PK\x03\x04" or path.suffix.lower() == ".npz":
        last = path.with_name("last.npz")
        raise ConfigError(f"{source}: is a checkpoint, not a YAML config (did you mean --resume "
                          f"{last if last.exists() else path}? a run continues from its last.npz)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{source}: is not a text file (byte {err.start} is not UTF-8); a config is YAML") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except _DuplicateKey as err:
        raise ConfigError(f"{source}: {err}") from None
    except yaml.YAMLError as err:
        where = ""
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ConfigError(f"{source}: YAML syntax error{where}: {problem}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a config must be a mapping of keys to values, not {type(raw).__name__}")
    return raw


def _similar_file(path: Path) -> str:
    """`` (did you mean configs/mnist.yaml?)`` for a missing config file with a close sibling."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        names = [p.name for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml") or p.stem == path.stem]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
    return f" (did you mean {folder / close[0] if str(path.parent) != '.' else close[0]}?)" if close else ""


class _DuplicateKey(Exception):
    pass


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics, but a key given twice in one mapping is an error."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def json_ready(obj):
    """``obj`` with every non-finite float (NaN, inf) as None and NumPy scalars and arrays as Python's.

    JSON has no NaN: ``json.dumps`` would write a bare ``NaN`` that strict parsers refuse. A metric
    that was never measured (a run without validation) is null.
    """
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):  # NumPy scalars and arrays
        return json_ready(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_text(obj, **kwargs) -> str:
    """Strict JSON for ``obj`` (see :func:`json_ready`): what every ``--json`` output prints."""
    return json.dumps(json_ready(obj), allow_nan=False, **kwargs)

