"""Locating dataset folders, errors when absent, download fallback, and the decoded-array cache."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from mlpnet.data import download, locate as sources
from mlpnet.data.download import FILES, DatasetSpec
from mlpnet.errors import DataError, DownloadError
from mlpnet.data.locate import cache_home, load_idx_dir, load_named, search_dirs


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def make_arrays(seed: int, n_train: int = 6, n_test: int = 4):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train).astype(np.int64),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test).astype(np.int64),
    )


def write_dataset(folder: Path, seed: int = 0, compress: bool = True, names=FILES) -> tuple:
    """Write four small IDX files into ``folder``; return the arrays they hold."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = make_arrays(seed)
    for name, array in zip(names, arrays):
        data = idx_bytes(array)
        if compress:
            (folder / name).write_bytes(gzip.compress(data))
        else:
            (folder / name.removesuffix(".gz")).write_bytes(data)
    return arrays


def assert_same(got, want) -> None:
    assert len(got) == 4
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test reads or writes the real home, cache, data folders or network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(sources.DATA_ENV, raising=False)
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(sources, "SYSTEM_DIRS", (tmp_path / "system",))


def test_search_dirs_order(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.DATA_ENV, str(tmp_path / "data"))
    assert search_dirs("mnist", tmp_path / "cfg") == [
        tmp_path / "cfg",
        tmp_path / "data" / "mnist",
        tmp_path / "xdg" / "mlpnet" / "mnist",
        tmp_path / "system" / "mnist",
    ]


def test_cache_falls_back_to_home_without_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_home() == tmp_path / "home" / ".cache" / "mlpnet"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the XDG spec says to ignore it
    assert cache_home() == tmp_path / "home" / ".cache" / "mlpnet"


def test_path_beats_env_beats_cache_beats_system(tmp_path, monkeypatch):
    cfg = write_dataset(tmp_path / "cfg", seed=1)
    env = write_dataset(tmp_path / "data" / "mnist", seed=2)
    cache = write_dataset(tmp_path / "xdg" / "mlpnet" / "mnist", seed=3)
    system = write_dataset(tmp_path / "system" / "mnist", seed=4)
    monkeypatch.setenv(sources.DATA_ENV, str(tmp_path / "data"))
    assert_same(load_named("mnist", tmp_path / "cfg", download=False), cfg)
    assert_same(load_named("mnist", None, download=False), env)
    monkeypatch.delenv(sources.DATA_ENV)
    assert_same(load_named("mnist", download=False), cache)
    for name in FILES:
        (tmp_path / "xdg" / "mlpnet" / "mnist" / name).unlink()
    assert_same(load_named("mnist", download=False), system)


def test_explicit_incomplete_folder_is_an_error_not_skipped(tmp_path, monkeypatch):
    """A data.path the user named is used or refused, never silently passed over."""
    write_dataset(tmp_path / "cfg", seed=1)
    (tmp_path / "cfg" / FILES[3]).unlink()
    write_dataset(tmp_path / "system" / "mnist", seed=4)
    with pytest.raises(DataError, match=r"cfg: missing t10k-labels-idx1-ubyte.gz"):
        load_named("mnist", tmp_path / "cfg", download=False)


def test_incomplete_searched_folder_does_not_count(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.DATA_ENV, str(tmp_path / "data"))
    write_dataset(tmp_path / "data" / "mnist", seed=1)
    (tmp_path / "data" / "mnist" / FILES[3]).unlink()
    system = write_dataset(tmp_path / "system" / "mnist", seed=4)
    assert_same(load_named("mnist", download=False), system)


def test_missing_lists_searched_dirs_and_files(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.DATA_ENV, str(tmp_path / "data"))
    write_dataset(tmp_path / "data" / "mnist")
    (tmp_path / "data" / "mnist" / FILES[0]).unlink()
    with pytest.raises(DownloadError) as info:
        load_named("mnist", download=False)
    message = str(info.value)
    assert "\n" not in message
    for folder in search_dirs("mnist"):
        assert str(folder) in message
    for name in FILES:
        assert name in message
    assert f"{tmp_path / 'data' / 'mnist'} has 3 of 4" in message
    assert "download is off" in message


def test_unknown_name_found_locally_but_not_downloadable(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.DATA_ENV, str(tmp_path / "data"))
    arrays = write_dataset(tmp_path / "data" / "kmnist")
    assert_same(load_named("kmnist"), arrays)
    with pytest.raises(DownloadError, match="no download source for 'emnist'"):
        load_named("emnist")


def test_failed_download_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setenv(download.MIRROR_ENV, "http://127.0.0.1:9/")  # nothing listens on the discard port
    with pytest.raises(DownloadError) as info:
        load_named("mnist", progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "system" / "mnist") in message  # where it looked
    assert f"into {tmp_path / 'xdg' / 'mlpnet' / 'mnist'}" in message  # where to put the files
    assert "127.0.0.1:9" in message


def test_download_fallback_end_to_end(tmp_path, monkeypatch):
    served = tmp_path / "served"
    arrays = write_dataset(served, seed=7)
    sums = {name: hashlib.sha256((served / name).read_bytes()).hexdigest() for name in FILES}
    monkeypatch.setitem(download.DATASETS, "mnist", DatasetSpec("mnist", ("http://unused.invalid/",), sums))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        monkeypatch.setenv(download.MIRROR_ENV, f"http://127.0.0.1:{server.server_address[1]}/")
        assert_same(load_named("mnist", progress=False), arrays)
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(p.name for p in (tmp_path / "xdg" / "mlpnet" / "mnist").iterdir()) == sorted(FILES)


def test_load_idx_dir_accepts_raw_and_dotted_names(tmp_path):
    raw = write_dataset(tmp_path / "raw", seed=1, compress=False)
    assert_same(load_idx_dir(tmp_path / "raw"), raw)
    dotted_names = [n.replace("-idx", ".idx") for n in FILES]
    dotted = write_dataset(tmp_path / "dotted", seed=2, names=dotted_names)
    assert_same(load_idx_dir(tmp_path / "dotted"), dotted)


def test_load_idx_dir_missing_file_names_folder_and_file(tmp_path):
    write_dataset(tmp_path / "ds")
    (tmp_path / "ds" / FILES[1]).unlink()
    with pytest.raises(DataError, match=f"^{tmp_path / 'ds'}: missing {FILES[1]}"):
        load_idx_dir(tmp_path / "ds")
    with pytest.raises(DataError, match="no such folder"):
        load_idx_dir(tmp_path / "nowhere")


def test_malformed_file_error_names_it(tmp_path):
    write_dataset(tmp_path / "ds")
    (tmp_path / "ds" / FILES[2]).write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(DataError, match=str(tmp_path / "ds" / FILES[2])):
        load_idx_dir(tmp_path / "ds")


def test_train_and_test_image_shapes_must_agree(tmp_path):
    write_dataset(tmp_path / "ds")
    (tmp_path / "ds" / FILES[2]).write_bytes(idx_bytes(np.zeros((4, 14, 14), np.uint8)))
    with pytest.raises(DataError, match="image shape"):
        load_idx_dir(tmp_path / "ds")


# --- the decoded-array cache ---

def decoded_entries(tmp_path: Path) -> list[Path]:
    root = tmp_path / "xdg" / "mlpnet" / "decoded"
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.exists() else []


def forbid_decoding(monkeypatch) -> None:
    def fail(*args):
        raise AssertionError("IDX files were decoded again instead of using the cache")

    monkeypatch.setattr(sources, "read_idx_pair", fail)


def test_second_load_uses_decoded_cache(tmp_path, monkeypatch):
    arrays = write_dataset(tmp_path / "ds")
    assert_same(load_idx_dir(tmp_path / "ds"), arrays)
    [entry] = decoded_entries(tmp_path)
    assert sorted(p.name for p in entry.iterdir()) == ["x_test.npy", "x_train.npy", "y_test.npy", "y_train.npy"]
    forbid_decoding(monkeypatch)
    assert_same(load_idx_dir(tmp_path / "ds"), arrays)


def test_changed_source_invalidates_cache(tmp_path):
    write_dataset(tmp_path / "ds", seed=1)
    load_idx_dir(tmp_path / "ds")
    new = write_dataset(tmp_path / "ds", seed=2)
    future = (tmp_path / "ds" / FILES[0]).stat().st_mtime_ns + 5 * 10**9
    for name in FILES:
        os.utime(tmp_path / "ds" / name, ns=(future, future))
    assert_same(load_idx_dir(tmp_path / "ds"), new)
    assert len(decoded_entries(tmp_path)) == 1  # the stale entry was pruned


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete", "wrong_dtype"])
def test_corrupt_cache_entry_is_rebuilt(tmp_path, monkeypatch, damage):
    arrays = write_dataset(tmp_path / "ds")
    load_idx_dir(tmp_path / "ds")
    [entry] = decoded_entries(tmp_path)
    target = entry / "x_train.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:200])
    elif damage == "garbage":
        target.write_bytes(b"not a npy file")
    elif damage == "delete":
        target.unlink()
    else:
        np.save(target, arrays[0].astype(np.float32))
    assert_same(load_idx_dir(tmp_path / "ds"), arrays)
    forbid_decoding(monkeypatch)  # the rebuilt entry serves the next load
    assert_same(load_idx_dir(tmp_path / "ds"), arrays)


def test_read_only_source_and_unwritable_cache(tmp_path, monkeypatch):
    arrays = write_dataset(tmp_path / "ds")
    os.chmod(tmp_path / "ds", 0o555)
    try:
        assert_same(load_idx_dir(tmp_path / "ds"), arrays)
        assert len(decoded_entries(tmp_path)) == 1
        # A cache that cannot be written (here: its root is a file) still loads the data.
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "ds" / FILES[0]))
        assert_same(load_idx_dir(tmp_path / "ds"), arrays)
    finally:
        os.chmod(tmp_path / "ds", 0o755)
