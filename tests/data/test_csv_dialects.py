"""How a CSV's numbers are written: decimal commas, thousands separators, number-like words (issue 18, 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlpnet import config
from mlpnet.data.csv import CsvOptions, read_csv, read_rows
from mlpnet.data import load as load_data
from mlpnet.errors import DataError

ROWS = [("5,1", "3,5", "1,4", "0,2", "setosa"), ("7,0", "3,2", "4,7", "1,4", "versicolor"),
        ("6,3", "3,3", "6,0", "2,5", "virginica"), ("4,9", "3,0", "1,4", "0,2", "setosa"),
        ("6,4", "3,2", "4,5", "1,5", "versicolor"), ("5,8", "2,7", "5,1", "1,9", "virginica")]
HEAD = "sepal_length;sepal_width;petal_length;petal_width;species"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _european(tmp_path: Path, header: bool = True) -> Path:
    lines = ([HEAD] if header else []) + [";".join(r) for r in ROWS]
    return _write(tmp_path / ("eu.csv" if header else "eu-bare.csv"), "\n".join(lines) + "\n")


def test_comma_decimal_csv_reads_numbers(tmp_path):
    t = read_csv(_european(tmp_path))
    assert t.features == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    np.testing.assert_allclose(t.x[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)
    assert t.classes == ["setosa", "versicolor", "virginica"]
    assert any("decimal comma" in n and "5,1 is 5.1" in n for n in t.notes)
    # no header: the Sniffer alone takes the comma for the delimiter here (as many commas as semicolons)
    bare = read_csv(_european(tmp_path, header=False), options=CsvOptions(header=False))
    assert bare.features == ["0", "1", "2", "3"] and len(bare.y) == len(ROWS)
    np.testing.assert_allclose(bare.x, t.x)


def test_comma_decimal_with_dots_grouping_thousands(tmp_path):
    path = _write(tmp_path / "money.csv", "income;age;label\n1.234,5;30;a\n12.000,0;41;b\n980,25;22;a\n2.500,75;35;b\n")
    np.testing.assert_allclose(read_csv(path).x[:, 0], [1234.5, 12000.0, 980.25, 2500.75])


def test_data_decimal_key_chooses_the_mark(tmp_path):
    path = _european(tmp_path)
    cfg = config.load(None, ["data.dataset=csv", f"data.path={path}", "data.decimal=,", "data.val_size=0"])
    ds = load_data(cfg.data, 0)
    assert ds.n_features == 4
    dotted = read_csv(path, options=CsvOptions(decimal="."))  # the user said dots: words, and a note per column
    assert len(dotted.features) > 4
    assert any("column 'sepal_length' looks numeric" in n and "one-hot" in n for n in dotted.notes)
    comma_file = _write(tmp_path / "us.csv", "a,b,label\n1.5,2,x\n2.5,3,y\n")
    with pytest.raises(DataError, match="data.decimal ',' needs another delimiter"):
        read_csv(comma_file, options=CsvOptions(decimal=","))
    with pytest.raises(Exception, match="data.decimal"):
        config.load(None, ["data.decimal=;"])


def test_numeric_looking_column_is_never_one_hot_encoded_silently(tmp_path):
    path = _write(tmp_path / "rates.csv", "rate,colour,label\n12%,red,a\n13%,blue,b\n50%,red,a\n7%,blue,b\n")
    t = read_csv(path)
    notes = [n for n in t.notes if "looks numeric" in n]
    assert len(notes) == 1 and "column 'rate'" in notes[0] and "'colour'" not in notes[0]


def test_thousands_separators_read_as_numbers(tmp_path):
    path = _write(tmp_path / "grouped.csv", 'income,label\n"1,234.5",a\n"12,000",b\n500,a\n"2,000.25",b\n')
    t = read_csv(path)
    assert t.features == ["income"]
    np.testing.assert_allclose(t.x[:, 0], [1234.5, 12000.0, 500.0, 2000.25])
    assert any("thousands separators" in n and "'income'" in n for n in t.notes)
    rows = read_rows(_write(tmp_path / "new.csv", 'income\n"3,000"\n7\n'), t.schema)
    np.testing.assert_allclose(rows.x[:, 0], [3000.0, 7.0])


def test_first_row_of_data_with_a_word_label_is_not_taken_for_a_header(tmp_path):
    bare = _write(tmp_path / "bare.csv", "5.1,3.5,setosa\n7.0,3.2,versicolor\n6.3,3.3,virginica\n")
    with pytest.raises(DataError, match="first row looks like data"):
        read_csv(bare)
    assert len(read_csv(bare, options=CsvOptions(header=False, label_column=-1)).y) == 3


def test_integer_labels_written_as_floats_are_integer_classes(tmp_path):
    t = read_csv(_write(tmp_path / "floats.csv", "a,b,label\n1,2,1.0\n3,4,0.0\n5,6,1.0\n"))
    assert t.classes == ["0", "1"] and list(t.y) == [1, 0, 1]
    test = read_csv(_write(tmp_path / "ints.csv", "a,b,label\n1,2,1\n3,4,0\n"), classes=t.classes, schema=t.schema)
    assert list(test.y) == [1, 0]


def test_excel_sep_line_names_the_delimiter(tmp_path):
    path = _write(tmp_path / "excel.csv", "\ufeffsep=;\na;b;label\n1,5;2;x\n3;4;y\n5;6;x\n")
    t = read_csv(path)
    assert t.features == ["a", "b"] and t.classes == ["x", "y"]
    np.testing.assert_allclose(t.x[:, 0], [1.5, 3, 5])
    with pytest.raises(DataError, match="line 5"):
        read_csv(_write(tmp_path / "bad.csv", "sep=,\na,b,label\n1,2,x\n3,4,y\n5,oops,x\n"))
    fast = read_csv(_write(tmp_path / "fast.csv", "sep=,\na,b,label\n1,2,x\n3,4,y\n"))
    assert fast.x.tolist() == [[1, 2], [3, 4]]


def test_tab_file_of_integers_grouped_by_thousands_is_not_decimal_commas(tmp_path):
    path = _write(tmp_path / "pop.tsv", "population\tarea\tlabel\n1,234\t12\tx\n12,000\t7\ty\n950\t3\tx\n")
    t = read_csv(path)
    np.testing.assert_allclose(t.x[:, 0], [1234, 12000, 950])
    assert any("thousands separators" in n for n in t.notes)
    eu = _write(tmp_path / "eu.tsv", "a\tlabel\n1,234\tx\n0,5\ty\n")  # one real decimal comma decides
    np.testing.assert_allclose(read_csv(eu).x[:, 0], [1.234, 0.5])


def test_quoted_decimal_commas_in_a_comma_separated_file_are_numbers(tmp_path):
    # Excel in much of Europe, told to separate by commas, quotes each number: "5,1","3,5",...
    lines = ['"sepal_length","sepal_width","petal_length","petal_width",species']
    lines += [",".join(f'"{v}"' for v in r[:4]) + f",{r[4]}" for r in ROWS]
    path = _write(tmp_path / "quoted.csv", "\n".join(lines) + "\n")
    want = read_csv(_european(tmp_path))
    for options in (CsvOptions(), CsvOptions(decimal=",")):  # detected, or said
        t = read_csv(path, options=options)
        assert t.features == want.features  # four numeric columns, nothing one-hot encoded
        np.testing.assert_allclose(t.x, want.x)
        assert t.classes == want.classes
    assert any("decimal comma" in n for n in read_csv(path).notes)
    # Quoted thousands ("1,234") in a US file stay thousands, as without quotes.
    us = _write(tmp_path / "us-quoted.csv", 'income,label\n"1,234",a\n"12,000",b\n"980",a\n"2,500",b\n')
    np.testing.assert_allclose(read_csv(us).x[:, 0], [1234, 12000, 980, 2500])


def test_three_decimals_after_a_leading_zero_are_decimal_commas_not_thousands(tmp_path):
    """``0,126`` cannot be thousands grouped (a grouped number never starts with 0): it is 0.126.

    Every value here has three digits after its comma, so without that rule all of them
    (``0,126`` as 126, ``-1,211`` as -1211) were read as thousands, with exit 0."""
    path = _write(tmp_path / "eu3.csv", "a;b;label\n0,126;-1,211;x\n1,534;-0,536;y\n2,000;0,640;x\n")
    t = read_csv(path)
    np.testing.assert_allclose(t.x, [[0.126, -1.211], [1.534, -0.536], [2.0, 0.64]], rtol=1e-6)
    assert any("decimal comma" in n for n in t.notes), t.notes
    quoted = _write(tmp_path / "q.csv", 'a,b,label\n"0,126",1,x\n"1,234",2,y\n')
    np.testing.assert_allclose(read_csv(quoted).x[:, 0], [0.126, 1.234], rtol=1e-6)
    grouped = _write(tmp_path / "g.csv", 'a,b,label\n"1,234",1,x\n"12,345",2,y\n')
    np.testing.assert_allclose(read_csv(grouped).x[:, 0], [1234, 12345])  # still thousands


def test_mostly_decimal_labels_with_a_few_words_are_not_hundreds_of_classes(tmp_path):
    """``12.5, 7.25, ..., unknown``: once a word made the column non-numeric, each decimal became a class
    (442 classes, test accuracy 0, exit 0)."""
    rows = [f"{i % 7},{'unknown' if i % 50 == 0 else f'{i * 1.37:.2f}'}" for i in range(300)]
    path = _write(tmp_path / "mix.csv", "x,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="label column 'label' holds mostly decimal numbers .* and words such as "
                                        "'unknown', not classes; to predict the numbers set task: regression"):
        read_csv(path)
    words = _write(tmp_path / "words.csv", "x,label\n" + "".join(f"{i},{'a' if i % 2 else '1.5'}\n" for i in range(20)))
    assert read_csv(words).classes == ["1.5", "a"]  # half words: classes, as before
