"""Every error is one line, whatever text a user put in a value, a key or a file name: line breaks
and other control characters are escaped as ``repr`` does (found by hypothesis:
``--set data.ignore_columns=<newline>\\x08`` used to print two lines and a raw backspace)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlpnet.cli import cli
from mlpnet.errors import printable

from conftest import skip_reason

KEYS = ["data.ignore_columns", "data.label_column", "data.path", "data.delimiter", "data.decimal",
        "data.missing", "model.hidden", "model.activation", "optimizer.name", "optimizer.lr", "name",
        "train.epochs", "train.monitor"]
BREAKING = {"Cc", "Zl", "Zp", "Cs"}  # control characters, line and paragraph separators, lone surrogates
# What argv can hold: no NUL, and lone surrogates only as Python decodes bytes that are not UTF-8 (U+DC80-U+DCFF).
ARGV_TEXT = st.text(alphabet=st.one_of(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                                       st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)), max_size=12)


def _check_one_line(r) -> None:
    assert "Traceback" not in r.output
    if r.exit_code == 0:
        return
    lines = r.stderr.splitlines()
    errors = [line for line in lines if line.startswith(("error", "internal error"))]
    assert len(errors) == 1 and not errors[0].startswith("internal"), r.stderr
    assert r.stderr.endswith(errors[0] + "\n"), r.stderr  # the error line is the last, and whole
    assert not [c for c in errors[0] if unicodedata.category(c) in BREAKING], errors[0]


def test_printable_escapes_what_breaks_a_line_and_keeps_the_rest():
    assert printable("a\nb\r\x08\x1b[31m\u2028\x85\udc80 é ü 数 'q' \\") == \
        "a\\nb\\r\\x08\\x1b[31m\\u2028\\x85\\udc80 é ü 数 'q' \\"


def test_the_reported_case(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["train", "--set", "data.ignore_columns=\n\x08", "--print-config"])
    assert r.exit_code == 2
    _check_one_line(r)
    assert "\\n\\x08" in r.stderr


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    d = tmp_path_factory.mktemp("one-line")
    rows = [f"{i % 7 / 3:.3f},{(i * 5) % 11 / 4:.3f},{'ab'[i % 2]}" for i in range(60)]
    (d / "t.csv").write_text("x,y,label\n" + "\n".join(rows) + "\n")
    return d


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=ARGV_TEXT)
def test_any_text_in_a_key_gives_one_line(table, monkeypatch, key, value):
    monkeypatch.chdir(table)
    r = CliRunner().invoke(cli, ["train", "--set", "data.path=t.csv", "--set", "train.epochs=1",
                                 "--set", "model.hidden=[2]", "--set", f"{key}={value}", "-o", "run",
                                 "--overwrite", "--no-progress"])
    _check_one_line(r)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ARGV_TEXT.filter(bool))
def test_any_text_as_a_key_a_file_or_a_model_gives_one_line(table, monkeypatch, text):
    monkeypatch.chdir(table)
    _check_one_line(CliRunner().invoke(cli, ["train", "--set", f"{text}=1", "--print-config"]))
    _check_one_line(CliRunner().invoke(cli, ["train", "-c", text, "--print-config"]))
    _check_one_line(CliRunner().invoke(cli, ["info", "-m", text]))
    _check_one_line(CliRunner().invoke(cli, ["evaluate", "-m", text]))


def test_a_data_file_whose_name_is_not_utf8_trains_and_plots(tmp_path, monkeypatch):
    """``l\xe4t.csv`` in Latin-1: the run is named after it, and its curves.png title used to crash matplotlib."""
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    monkeypatch.chdir(tmp_path)
    name = "l\udce4t.csv"  # how Python reads the byte 0xE4 in a file name or argv
    rows = [f"{i % 7 / 3:.3f},{(i * 5) % 11 / 4:.3f},{'ab'[i % 2]}" for i in range(60)]
    Path(name).write_text("x,y,label\n" + "\n".join(rows) + "\n")
    r = CliRunner().invoke(cli, ["train", "--set", f"data.path={name}", "--set", "train.epochs=1", "-o", "run"])
    assert r.exit_code == 0, r.output
    assert Path("run/curves.png").exists()
