"""docs/guide/python-api.md's parameter table is mlpnet.params.PARAMS, row for row."""

from __future__ import annotations

from pathlib import Path

from mlpnet import params

PAGE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "python-api.md"


def test_the_parameter_table_is_the_one_in_params():
    rows = [line for line in PAGE.read_text().splitlines() if line.startswith("| `")]
    table = {r.split("|")[1].strip().strip("`"): r for r in rows}
    for p in params.PARAMS:
        assert p.name in table, p.name
        cells = [c.strip() for c in table[p.name].split("|")[1:-1]]
        assert cells[2] == (f"`{p.key}`" if p.key else "(estimator only)"), (p.name, cells)
        assert cells[3] == p.meaning, p.name
    for old, new in params.DEPRECATED.items():
        assert f"| `{old}` | `{new}` |" in PAGE.read_text()
