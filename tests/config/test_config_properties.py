"""Property tests: whatever a config file or override holds, the parser answers with a
Config or a ConfigError, never another exception."""

from __future__ import annotations

import unicodedata
from dataclasses import fields, is_dataclass

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpnet import config
from mlpnet.errors import ConfigError

KEYS = [row["key"] for row in config.schema_rows()]
SECTIONS = sorted({key.rsplit(".", 1)[0] for key in KEYS if "." in key})


def _field_keys(obj, prefix: str = "") -> list[str]:
    """Every leaf key of a config object, found by walking the dataclasses themselves."""
    keys = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        keys += _field_keys(value, f"{prefix}{f.name}.") if is_dataclass(value) else [prefix + f.name]
    return keys


def test_the_random_configs_draw_from_every_key():
    assert sorted(KEYS) == sorted(_field_keys(config.Config()))
    assert {"data", "data.augment", "model", "optimizer", "schedule", "train"} <= set(SECTIONS)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["relu", "adam", "mnist", "csv", "1e-3", "[1, 2]"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=8)


@st.composite
def raw_configs(draw):
    raw: dict = {}
    for key in draw(st.lists(st.sampled_from(KEYS + SECTIONS + ["bogus", "model.bogus"]), max_size=6)):
        parts = key.split(".")
        node = raw
        for p in parts[:-1]:
            child = node.get(p)
            if not isinstance(child, dict):
                child = node[p] = {}
            node = child
        node[parts[-1]] = draw(values)
    return raw


def _one_line(text: str) -> bool:
    """No line break, control character or lone surrogate: values are quoted as ``repr`` does."""
    return len(text.splitlines()) == 1 and not any(unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") for c in text)


def _parse(raw):
    try:
        cfg = config.from_dict(raw, "prop.yaml")
    except ConfigError as err:
        assert _one_line(str(err)) and str(err).startswith("prop.yaml")
        return None
    assert isinstance(cfg, config.Config)
    return cfg


@settings(max_examples=300, deadline=None)
@given(raw_configs())
def test_random_configs_parse_or_raise_config_error(raw):
    cfg = _parse(raw)
    if cfg is not None:  # whatever is accepted round-trips through YAML
        assert config.from_dict(yaml.safe_load(cfg.to_yaml()), "again") == cfg


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS + ["x.y", "train", ""]), st.text(max_size=15)), max_size=4))
def test_random_overrides_apply_or_raise_config_error(items):
    try:
        config.load(None, [f"{k}={v}" for k, v in items])
    except ConfigError as err:
        assert _one_line(str(err)), str(err)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_yaml_text(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("y") / "c.yaml"
    p.write_text(text, encoding="utf-8")
    try:
        config.load(p)
    except ConfigError as err:
        assert str(err).startswith(str(p))


def test_a_nul_in_a_path_is_a_config_error():
    # Found by the property test above once it drew from every key: Path.resolve raised ValueError.
    for key in ("data.path", "data.test_path"):
        try:
            config.load(None, [f"{key}=a\x00b"])
        except ConfigError as err:
            assert "NUL" in str(err) and key in str(err)
        else:
            raise AssertionError(f"{key} with a NUL was accepted")
