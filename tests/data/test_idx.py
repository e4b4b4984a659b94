"""IDX reader: exact round trips, every malformed-input error naming its file, and fuzzing."""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import imagestyles
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlpnet.errors import DataError
from mlpnet.data.idx import IDX_DTYPES, read_idx, read_idx_pair

CODES = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array as IDX (big-endian payload)."""
    code = CODES[array.dtype]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def valid_images(n: int = 5) -> np.ndarray:
    return np.arange(n * 4 * 3, dtype=np.uint8).reshape(n, 4, 3)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 5, 2)) * 100).astype(dtype)
    # The name says nothing about compression: detection is by magic bytes.
    got = read_idx(write(tmp_path / "data.idx", idx_bytes(array), compress))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_labels_one_dimensional(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "l.gz", idx_bytes(labels), True)), labels)


def test_result_is_writable(tmp_path):
    assert read_idx(write(tmp_path / "x", idx_bytes(valid_images()))).flags.writeable


def expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_bad_magic(tmp_path, compress):
    data = b"\x12\x34" + idx_bytes(valid_images())[2:]
    expect_error(write(tmp_path / "bad.idx", data, compress), "bad magic")


def test_unknown_type_code(tmp_path):
    data = bytearray(idx_bytes(valid_images()))
    data[2] = 0x0A
    expect_error(write(tmp_path / "bad.idx", bytes(data)), "type code 0x0a")


def test_zero_dimensions(tmp_path):
    expect_error(write(tmp_path / "bad.idx", b"\x00\x00\x08\x00"), "0 dimensions")


def test_header_too_short(tmp_path):
    expect_error(write(tmp_path / "bad.idx", b"\x00\x00"), "too short")
    expect_error(write(tmp_path / "empty.idx", b""), "too short")


def test_wrong_dims_truncated_header(tmp_path):
    # Declares 3 dims but holds only 2.
    expect_error(write(tmp_path / "bad.idx", struct.pack(">HBBII", 0, 8, 3, 5, 4)), "truncated header")


def test_wrong_dims_payload_mismatch(tmp_path):
    data = bytearray(idx_bytes(valid_images(5)))
    data[4:8] = struct.pack(">I", 6)  # claims 6 images, holds 5
    expect_error(write(tmp_path / "bad.idx", bytes(data)), "truncated", "expected 72 bytes of pixels", "found 60")


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_truncated_payload(tmp_path, compress):
    data = idx_bytes(valid_images())[:-7]
    expect_error(write(tmp_path / "train-images-idx3-ubyte.gz", data, compress), "truncated: expected 60 bytes", "found 53")


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_trailing_bytes(tmp_path, compress):
    data = idx_bytes(valid_images()) + b"\x00"
    expect_error(write(tmp_path / "bad.idx", data, compress), "trailing bytes")


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(idx_bytes(valid_images(50)))
    expect_error(write(tmp_path / "cut.gz", good[: len(good) // 2]), "corrupt gzip")
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    expect_error(write(tmp_path / "flip.gz", bytes(flipped)), "corrupt gzip")
    expect_error(write(tmp_path / "header.gz", b"\x1f\x8b\x00garbage"), "corrupt gzip")


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.gz", "no such file")


def test_huge_declared_shape_is_an_error_not_an_allocation(tmp_path):
    data = struct.pack(">HBB4I", 0, 8, 4, 2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\x00" * 10
    expect_error(write(tmp_path / "huge.idx", data), "truncated")


def test_pair_ok(tmp_path):
    x = valid_images(5)
    y = np.array([0, 1, 2, 3, 4], dtype=np.uint8)
    xi = write(tmp_path / "x.gz", idx_bytes(x), True)
    yi = write(tmp_path / "y", idx_bytes(y))
    gx, gy = read_idx_pair(xi, yi)
    assert gx.dtype == np.uint8 and gy.dtype == np.int64 and gy.shape == (5,)
    np.testing.assert_array_equal(gx, x)
    np.testing.assert_array_equal(gy, y)


def test_pair_count_mismatch_names_both(tmp_path):
    xi = write(tmp_path / "imgs.idx", idx_bytes(valid_images(5)))
    yi = write(tmp_path / "labs.idx", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DataError, match="4 labels") as info:
        read_idx_pair(xi, yi)
    assert str(xi) in str(info.value) and str(yi) in str(info.value)


def test_pair_rank_checks(tmp_path):
    flat = write(tmp_path / "flat.idx", idx_bytes(np.zeros(5, np.uint8)))
    square = write(tmp_path / "square.idx", idx_bytes(np.zeros((5, 2), np.uint8)))
    with pytest.raises(DataError, match=f"^{re.escape(str(flat))}: expected images with at least 2"):
        read_idx_pair(flat, flat)
    with pytest.raises(DataError, match=f"^{re.escape(str(square))}: expected 1-dimensional labels"):
        read_idx_pair(square, square)


def test_pair_type_checks(tmp_path):
    floats = write(tmp_path / "f.idx", idx_bytes(np.zeros((5, 2), np.float32)))
    images = write(tmp_path / "i.idx", idx_bytes(np.zeros((5, 2), np.uint8)))
    float_labels = write(tmp_path / "fl.idx", idx_bytes(np.zeros(5, np.float32)))
    with pytest.raises(DataError, match=f"^{re.escape(str(floats))}: expected uint8"):
        read_idx_pair(floats, float_labels)
    with pytest.raises(DataError, match=f"^{re.escape(str(float_labels))}: expected integer labels"):
        read_idx_pair(images, float_labels)


# --- fuzzing: anything that is not a valid file must be a DataError, nothing else ---

@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def read_or_data_error(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        result = read_idx(path)
    except DataError as err:
        assert str(err).startswith(str(path)) and "\n" not in str(err)
    else:
        assert isinstance(result, np.ndarray)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=64), st.binary(max_size=64).map(lambda b: b"\x1f\x8b" + b),
                      st.binary(max_size=64).map(lambda b: b"\x00\x00" + b)))
def test_fuzz_random_bytes(fuzz_dir, data):
    read_or_data_error(fuzz_dir / "random.idx", data)


mutations = st.lists(
    st.tuples(st.sampled_from(["flip", "cut", "insert", "delete"]), st.integers(0, 10_000), st.integers(0, 255)),
    min_size=1, max_size=4,
)


def mutate(data: bytes, ops) -> bytes:
    buf = bytearray(data)
    for op, pos, value in ops:
        pos = pos % (len(buf) + 1)
        if op == "flip" and pos < len(buf):
            buf[pos] = value
        elif op == "cut":
            del buf[pos:]
        elif op == "insert":
            buf.insert(pos, value)
        elif op == "delete" and pos < len(buf):
            del buf[pos]
    return bytes(buf)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=mutations, compress=st.booleans(), dtype=st.sampled_from([np.uint8, np.int16, np.float64]))
def test_fuzz_mutated_valid_file(fuzz_dir, ops, compress, dtype):
    array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    raw = idx_bytes(array)
    data = gzip.compress(raw, mtime=0) if compress else raw
    read_or_data_error(fuzz_dir / "mutated.idx", mutate(data, ops))


# --- the real MNIST test split, when the shared data folder is present ---

def test_real_mnist_t10k():
    folder = imagestyles.mnist_dir()
    if folder is None:
        pytest.skip("the MNIST t10k files (../shared/data/mnist-t10k) are not present")
    images, labels = folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"
    x, y = read_idx_pair(images, labels)
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    assert x.max() == 255 and x.min() == 0


@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_write_idx_round_trips(tmp_path, name):
    from mlpnet.data.idx import write_idx

    a = np.random.default_rng(0).integers(0, 256, (5, 3, 4), dtype=np.uint8)
    write_idx(tmp_path / name, a)
    assert np.array_equal(read_idx(tmp_path / name), a)
