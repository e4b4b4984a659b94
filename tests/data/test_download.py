"""Downloader against a local HTTP server on 127.0.0.1: checksums, mirror fallback, no partial files."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlpnet.data import download
from mlpnet.data.download import FILES, fetch
from mlpnet.errors import DataError, DownloadError


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature is http.server's
        pass


class DroppingHandler(QuietHandler):
    """Announces the full length, sends half the body, then hangs up."""

    def do_GET(self):
        body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


def serve(root: Path, handler=QuietHandler) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # A proxy from the environment must not see (or break) requests to 127.0.0.1.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)


@pytest.fixture
def files(tmp_path) -> dict[str, bytes]:
    """Four small fake dataset files with distinct contents."""
    return {name: (name.encode() * 5000) for name in FILES}


@pytest.fixture
def sums(files) -> dict[str, str]:
    return {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}


def _holding(root: Path, files: dict[str, bytes]) -> Path:
    """``root`` created and filled with ``files``."""
    root.mkdir()
    for name, body in files.items():
        (root / name).write_bytes(body)
    return root


@pytest.fixture
def good_mirror(tmp_path, files) -> Iterator[str]:
    yield from serve(_holding(tmp_path / "good", files))


@pytest.fixture
def empty_mirror(tmp_path) -> Iterator[str]:
    root = tmp_path / "empty"
    root.mkdir()
    yield from serve(root)


@pytest.fixture
def dropping_mirror(tmp_path, files) -> Iterator[str]:
    yield from serve(_holding(tmp_path / "dropping", files), DroppingHandler)


def only_final_files(folder: Path) -> list[str]:
    """Everything in the folder, hidden temp files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_fetch_verifies_and_places_files(tmp_path, good_mirror, files, sums):
    dest = tmp_path / "cache" / "mnist"
    assert fetch("mnist", dest, mirrors=[good_mirror], checksums=sums, progress=False) == dest
    assert only_final_files(dest) == sorted(FILES)
    for name, body in files.items():
        assert (dest / name).read_bytes() == body


def test_fetch_skips_files_already_present(tmp_path, empty_mirror, sums):
    dest = tmp_path / "d"
    dest.mkdir()
    for name in FILES:
        (dest / name.removesuffix(".gz")).write_bytes(b"raw copy")  # uncompressed counts too
    fetch("mnist", dest, mirrors=[empty_mirror], checksums=sums, progress=False)
    assert only_final_files(dest) == sorted(n.removesuffix(".gz") for n in FILES)


def test_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path, good_mirror, sums):
    dest = tmp_path / "d"
    wrong = dict(sums, **{FILES[0]: "0" * 64})
    with pytest.raises(DownloadError, match="SHA-256 mismatch") as info:
        fetch("mnist", dest, mirrors=[good_mirror], checksums=wrong, progress=False)
    assert only_final_files(dest) == []
    assert str(dest) in str(info.value)


def test_first_mirror_404_then_second_works(tmp_path, empty_mirror, good_mirror, files, sums):
    dest = tmp_path / "d"
    fetch("mnist", dest, mirrors=[empty_mirror, good_mirror], checksums=sums, progress=False)
    assert only_final_files(dest) == sorted(FILES)


def test_mismatching_mirror_then_good_mirror(tmp_path, files, sums, good_mirror):
    bad_root = tmp_path / "bad"
    bad_root.mkdir()
    for name in FILES:
        (bad_root / name).write_bytes(b"tampered")
    dest = tmp_path / "d"
    for bad in serve(bad_root):
        fetch("mnist", dest, mirrors=[bad, good_mirror], checksums=sums, progress=False)
    for name, body in files.items():
        assert (dest / name).read_bytes() == body


def test_dropped_connection_leaves_nothing(tmp_path, dropping_mirror, sums):
    dest = tmp_path / "d"
    with pytest.raises(DownloadError, match="connection dropped after"):
        fetch("mnist", dest, mirrors=[dropping_mirror], checksums=sums, progress=False)
    assert only_final_files(dest) == []


def test_all_mirrors_fail_names_folder_files_and_mirrors(tmp_path, empty_mirror):
    dest = tmp_path / "d"
    unreachable = "http://127.0.0.1:9/"  # discard port: nothing listens there
    with pytest.raises(DownloadError) as info:
        fetch("mnist", dest, mirrors=[empty_mirror, unreachable], progress=False, timeout=5)
    message = str(info.value)
    assert "\n" not in message
    assert f"into {dest}" in message
    for name in FILES:
        assert name in message
    assert "HTTP 404" in message and empty_mirror in message and unreachable in message


def test_interrupt_mid_download_leaves_nothing(tmp_path, good_mirror, sums, monkeypatch):
    class InterruptingBar:
        """Stands in for tqdm; Ctrl-C arrives after the first chunk is written."""

        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            raise KeyboardInterrupt

    monkeypatch.setattr(download, "tqdm", InterruptingBar)
    dest = tmp_path / "d"
    with pytest.raises(KeyboardInterrupt):
        fetch("mnist", dest, mirrors=[good_mirror], checksums=sums, progress=False)
    assert only_final_files(dest) == []


def test_env_mirror_overrides_builtin_list(tmp_path, good_mirror, sums, monkeypatch):
    monkeypatch.setenv(download.MIRROR_ENV, good_mirror.rstrip("/"))  # trailing slash is optional
    dest = tmp_path / "d"
    fetch("mnist", dest, checksums=sums, progress=False)
    assert only_final_files(dest) == sorted(FILES)


def test_env_mirror_is_the_only_one_tried(tmp_path, empty_mirror, monkeypatch):
    monkeypatch.setenv(download.MIRROR_ENV, empty_mirror)
    with pytest.raises(DownloadError) as info:
        fetch("fashion-mnist", tmp_path / "d", progress=False)
    assert empty_mirror in str(info.value)
    assert "amazonaws" not in str(info.value)


def test_builtin_sums_are_used_by_default(tmp_path, good_mirror):
    # The fake files cannot match the pinned upstream sums.
    with pytest.raises(DownloadError, match="SHA-256 mismatch: expected 440fcabf"):
        fetch("mnist", tmp_path / "d", mirrors=[good_mirror], progress=False)


def test_unknown_dataset_lists_valid_names(tmp_path):
    with pytest.raises(DataError, match="fashion-mnist, mnist"):
        fetch("mnsit", tmp_path, progress=False)


def test_pinned_sums_are_complete():
    for spec in download.DATASETS.values():
        assert set(spec.sha256) == set(FILES)
        assert all(len(s) == 64 and int(s, 16) >= 0 for s in spec.sha256.values())
        assert spec.mirrors
