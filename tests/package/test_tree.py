"""The tests mirror the package: one folder per area, basenames unique across the tree."""

from __future__ import annotations

from collections import Counter

from conftest import REPO

TESTS = REPO / "tests"


def test_every_test_file_lives_in_an_area_folder():
    loose = sorted(p.name for p in TESTS.glob("test_*.py"))
    assert loose == [], f"move these into tests/<area>/: {loose}"


def test_test_basenames_are_unique_across_the_tree():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, k in names.items() if k > 1] == []
