"""Tests for mlpnet.data.csv: CSV reading, its errors, standardizing, holdout splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlpnet.data.csv import parse as tabular  # the module holding both parsers
from mlpnet.errors import DataError
from mlpnet.data.csv import read_csv, read_feature_csv
from mlpnet.data.transforms import Standardizer


def write(tmp_path: Path, text: str, name: str = "data.csv", **kw: str) -> Path:
    path = tmp_path / name
    path.write_text(text, **kw)
    return path


@pytest.fixture(params=["fast", "slow"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through both the NumPy fast path and the csv-module path."""
    if request.param == "slow":

        def refuse(*args: object) -> None:
            raise tabular._NotFast

        monkeypatch.setattr(tabular, "_parse_fast", refuse)
    return request.param


# --- reading ---------------------------------------------------------------------------


def test_integer_labels_sort_numerically(tmp_path: Path, parser: str) -> None:
    path = write(tmp_path, "a,label,b\n1,10,2\n3,9,4\n5.5,10,-6e1\n7,2,8\n")
    t = read_csv(path)
    assert t.classes == ["2", "9", "10"]
    assert t.features == ["a", "b"]
    np.testing.assert_array_equal(t.y, [2, 1, 2, 0])
    assert t.y.dtype == np.int64
    assert t.x.dtype == np.float32
    np.testing.assert_array_equal(t.x, [[1, 2], [3, 4], [5.5, -60], [7, 8]])


def test_string_labels_sort_and_strip(tmp_path: Path, parser: str) -> None:
    path = write(tmp_path, "x,label\n1, dog\n2,cat\n3,dog\n4,7\n")
    t = read_csv(path)
    assert t.classes == ["7", "cat", "dog"]  # one non-integer label: all are strings
    np.testing.assert_array_equal(t.y, [2, 1, 2, 0])


def test_leading_zeros_are_the_same_integer_class(tmp_path: Path, parser: str) -> None:
    t = read_csv(write(tmp_path, "x,label\n1,07\n2,7\n3,1\n"))
    assert t.classes == ["1", "7"]
    np.testing.assert_array_equal(t.y, [1, 1, 0])


def test_given_classes_map_labels(tmp_path: Path, parser: str) -> None:
    path = write(tmp_path, "x,label\n1,cat\n2,cat\n")
    t = read_csv(path, classes=["ant", "cat", "dog"])
    assert t.classes == ["ant", "cat", "dog"]
    np.testing.assert_array_equal(t.y, [1, 1])


def test_unknown_label_names_file_line_and_label(tmp_path: Path, parser: str) -> None:
    path = write(tmp_path, "x,label\n1,cat\n\n2,frog\n")
    with pytest.raises(DataError, match=r"data\.csv: line 4: label 'frog' is not one of"):
        read_csv(path, classes=["cat", "dog"])


def test_label_column_in_the_middle_and_custom_name(tmp_path: Path, parser: str) -> None:
    path = write(tmp_path, "f1,species,f2,f3\n1,a,2,3\n4,b,5,6\n")
    t = read_csv(path, label_column="species")
    assert t.features == ["f1", "f2", "f3"]
    np.testing.assert_array_equal(t.x, [[1, 2, 3], [4, 5, 6]])


def test_bom_crlf_and_blank_lines(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "win.csv"
    path.write_bytes(b"\xef\xbb\xbflabel,x\r\n1,2\r\n\r\n0,3\r\n")
    t = read_csv(path)
    assert t.features == ["x"]
    np.testing.assert_array_equal(t.x[:, 0], [2, 3])
    np.testing.assert_array_equal(t.y, [1, 0])


def test_integers_beyond_int32_fall_back_to_floats(tmp_path: Path, parser: str) -> None:
    t = read_csv(write(tmp_path, "a,label\n3000000000,0\n-7,1\n"))
    np.testing.assert_array_equal(t.x[:, 0], np.array([3e9, -7], dtype=np.float32))


def test_quoted_fields_take_the_csv_path(tmp_path: Path) -> None:
    path = write(tmp_path, 'x,"y",label\n1,"2",T-shirt/top\n3,4,"Bag, small"\n')
    t = read_csv(path)
    assert t.classes == ["Bag, small", "T-shirt/top"]
    np.testing.assert_array_equal(t.x, [[1, 2], [3, 4]])


def test_fast_and_slow_paths_agree_on_random_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    for trial in range(5):
        n, d = rng.integers(1, 40), rng.integers(1, 6)
        x = np.round(rng.normal(size=(n, d)) * 100, int(trial % 3))
        labels = rng.choice(["a", "b", "c"] if trial % 2 else ["0", "3", "12"], size=n)
        pos = int(rng.integers(0, d + 1))
        cols = [f"f{j}" for j in range(d)]
        cols.insert(pos, "label")
        lines = [",".join(cols)]
        for i in range(n):
            cells = [repr(float(v)) if trial % 3 else str(int(v)) for v in x[i]]
            cells.insert(pos, str(labels[i]))
            lines.append(",".join(cells))
        path = write(tmp_path, "\n".join(lines) + "\n")
        fast = read_csv(path)
        with monkeypatch.context() as m:
            m.setattr(tabular, "_parse_fast", lambda *a: (_ for _ in ()).throw(tabular._NotFast))
            slow = read_csv(path)
        np.testing.assert_array_equal(fast.x, slow.x)
        np.testing.assert_array_equal(fast.y, slow.y)
        assert fast.classes == slow.classes and fast.features == slow.features
        np.testing.assert_allclose(fast.x, x.astype(np.float32))


# --- reading errors: one line, naming the file and the line or column ---------------------


def one_line_error(path: Path, match: str, **kw: object) -> str:
    with pytest.raises(DataError, match=match) as info:
        read_csv(path, **kw)  # type: ignore[arg-type]
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_missing_file(tmp_path: Path) -> None:
    one_line_error(tmp_path / "nope.csv", "no such file")


def test_empty_file(tmp_path: Path) -> None:
    one_line_error(write(tmp_path, ""), "file is empty")


def test_header_without_rows(tmp_path: Path, parser: str) -> None:
    one_line_error(write(tmp_path, "x,label\n\n"), "header but no data rows")


def test_missing_label_column_suggests_and_lists(tmp_path: Path) -> None:
    msg = one_line_error(write(tmp_path, "x,lable,z\n1,2,3\n"), "no label column 'label'")
    assert "did you mean 'lable'?" in msg and "its columns are: x, lable, z" in msg


def test_missing_label_column_lists_few_of_many(tmp_path: Path) -> None:
    header = ",".join(f"pixel{i}" for i in range(784))
    msg = one_line_error(write(tmp_path, header + "\n" + ",".join("0" * 784) + "\n"), "no label")
    assert "(784 columns)" in msg and len(msg) < 300


def test_non_numeric_value_names_line_and_column(tmp_path: Path, parser: str) -> None:
    path = write(tmp_path, "a,b,label\n1,2,0\n\n3,oops,1\n")
    one_line_error(path, r"line 4, column 'b': 'oops' is not a number")


def test_empty_value(tmp_path: Path, parser: str) -> None:
    one_line_error(write(tmp_path, "a,b,label\n1,,0\n"), r"line 2, column 'b': empty value")


def test_nan_is_a_missing_value_and_inf_is_rejected(tmp_path: Path, parser: str) -> None:
    msg = one_line_error(write(tmp_path, "a,b,label\n1,2,0\n1,nan,0\n"), r"line 3, column 'b': missing value 'nan'")
    assert "data.missing: drop" in msg
    one_line_error(write(tmp_path, "a,b,label\n1,2,0\n1,inf,0\n"), r"line 3, column 'b'.*finite")


def test_ragged_row(tmp_path: Path, parser: str) -> None:
    path = write(tmp_path, "a,b,label\n1,2,0\n1,2,3,0\n")
    one_line_error(path, r"line 3 has 4 fields, the header has 3")


def test_empty_label(tmp_path: Path, parser: str) -> None:
    one_line_error(write(tmp_path, "a,label\n1,x\n2, \n"), r"line 3: empty label")


def test_unnamed_and_duplicate_columns(tmp_path: Path) -> None:
    one_line_error(write(tmp_path, ",a,label\n0,1,2\n"), "column 1 of the header has no name")
    one_line_error(write(tmp_path, "a,a,label\n0,1,2\n"), "column 'a' appears twice")


def test_only_a_label_column(tmp_path: Path) -> None:
    one_line_error(write(tmp_path, "label\n1\n"), "no feature columns")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("x,label\n1,caf\xe9\n".encode("latin-1"))
    one_line_error(path, "not UTF-8")


# --- feature-only files for prediction -------------------------------------------------


def test_read_feature_csv_reorders_and_ignores_extras(tmp_path: Path, parser: str) -> None:
    path = write(tmp_path, "id,b,label,a\n7,2,cat,1\n8,4,dog,3\n")
    x = read_feature_csv(path, ["a", "b"])
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])


def test_read_feature_csv_missing_feature(tmp_path: Path) -> None:
    path = write(tmp_path, "pixel0,pixel2\n1,2\n")
    with pytest.raises(DataError, match=r"no feature column 'pixel1'; did you mean"):
        read_feature_csv(path, ["pixel0", "pixel1", "pixel2"])


# --- standardizing ---------------------------------------------------------------------


def test_standardizer_fits_and_applies_in_place() -> None:
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(500, 4)) * [1, 10, 100, 0] + [0, 5, -3, 7]).astype(np.float32)
    s = Standardizer.fit(x)
    assert s.mean.dtype == np.float32 and s.std.shape == (4,)
    assert s.std[3] == 1.0  # constant column
    out = s.apply(x)
    assert out is x
    np.testing.assert_allclose(x[:, :3].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x[:, :3].std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(x[:, 3], 0)


def test_standardizer_copies_non_float32_and_checks_width() -> None:
    s = Standardizer(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    x = np.array([[3, 6]], dtype=np.uint8)
    out = s.apply(x)
    assert out.dtype == np.float32 and out is not x
    np.testing.assert_array_equal(out, [[1, 1]])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        s.apply(np.zeros((1, 3), np.float32))


