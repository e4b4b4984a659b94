"""The data layer on its own: every format returns one Dataset; splits, transforms and registries."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mlpnet import config, data
from mlpnet.data import FORMATS, batching, transforms
from mlpnet.data.holdout import split_validation
from mlpnet.data.spec import InputSpec
from mlpnet.errors import ConfigError, DataError
from mlpnet.nn import activations, optimizers, schedules


def _load(*overrides, seed=0):
    cfg = config.load(None, list(overrides))
    return data.load(cfg.data, seed, progress=False)


def test_config_choices_come_from_the_registries():
    assert config.DATASETS == tuple(FORMATS)
    assert config.ACTIVATIONS == tuple(activations.HIDDEN)
    assert config.OPTIMIZERS == tuple(optimizers.OPTIMIZERS)
    assert config.SCHEDULES == tuple(schedules.SCHEDULES)
    with pytest.raises(ConfigError, match="data.dataset: 'parquet' is not one of mnist, fashion-mnist"):
        config.load(None, ["data.dataset=parquet"])


def test_npz_images_stay_uint8_and_validation_is_capped(blobs):
    ds = _load("data.dataset=npz", f"data.path={blobs}", "data.val_size=0.5", "data.val_max=50")
    assert ds.train.x.dtype == np.uint8 and ds.train.x.shape == (550, 784) and len(ds.val) == 50
    assert ds.input.kind == "image" and ds.scale == pytest.approx(1 / 255) and not ds.stats
    assert ds.classes == ["0", "1", "2", "3"] and len(ds.test) == 200
    # stratified: each class keeps its share in the validation split
    full = np.bincount(np.concatenate([ds.train.y, ds.val.y]))
    assert np.abs(np.bincount(ds.val.y) - full * 50 / 600).max() <= 1


def test_validation_split_depends_on_the_seed_alone(blobs):
    a = _load("data.dataset=npz", f"data.path={blobs}", seed=1)
    b = _load("data.dataset=npz", f"data.path={blobs}", seed=1)
    c = _load("data.dataset=npz", f"data.path={blobs}", seed=2)
    assert np.array_equal(a.val.x, b.val.x) and not np.array_equal(a.val.x, c.val.x)
    assert len(a.val) == 60  # 10% of 600


def test_csv_is_standardized_with_training_statistics_only(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(100, 20, (200, 3))
    y = np.where(x[:, 0] > 100, "big", "small")
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,label\n" + "\n".join(f"{r[0]},{r[1]},{r[2]},{lab}" for r, lab in zip(x, y)))
    ds = _load("data.dataset=csv", f"data.path={path}")
    assert ds.input.kind == "table" and ds.input.features == ["a", "b", "c"] and ds.classes == ["big", "small"]
    assert ds.input.columns == ["a", "b", "c"]  # how predict reads new rows
    assert len(ds.test) == 40 and len(ds.val) == 16 and len(ds.train) == 144
    np.testing.assert_allclose(ds.train.x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.train.x.std(axis=0), 1, atol=1e-4)
    assert abs(ds.test.x.mean()) > 1e-4  # test rows use the training statistics, not their own
    assert ds.stats["mean"].shape == (3,)


def test_gray_folder_uses_the_predict_decoder(tmp_path):
    from mlpnet.data import images

    for k, cls in enumerate(["a", "b"]):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(10):
            img = np.full((40, 40), 255, np.uint8)
            img[10:30, 8 + k * 10 + i % 3:12 + k * 10 + i % 3] = 0  # dark strokes on white
            Image.fromarray(img).save(tmp_path / "imgs" / cls / f"{i}.png")
    ds = _load("data.dataset=folder", f"data.path={tmp_path / 'imgs'}", "data.val_size=0")
    one = ds.input.image(images.load_image(tmp_path / "imgs" / "a" / "0.png"))
    rows = np.concatenate([ds.train.x, ds.test.x])
    assert any(np.array_equal(r, one.reshape(-1)) for r in rows)
    assert ds.input.preprocess == "mnist" and ds.classes == ["a", "b"]


def test_arrays_format_says_what_to_do():
    with pytest.raises(DataError, match="trained from Python arrays"):
        _load("data.dataset=arrays")


def test_batcher_gathers_scaled_rows_into_reused_buffers():
    x = np.arange(20, dtype=np.uint8).reshape(10, 2)
    b = batching.Batcher(data.Split(x, np.arange(10)), 0.5, 4)
    xb, yb = b.gather(np.array([3, 1]))
    assert xb.dtype == np.float32 and xb.tolist() == [[3.0, 3.5], [1.0, 1.5]] and yb.tolist() == [3, 1]
    xb2, _ = b.gather(np.array([0, 1, 2, 3]))
    assert np.shares_memory(xb, xb2)


def test_to_network_matches_the_training_transform():
    s = transforms.Standardizer.fit(np.array([[0.0, 10.0], [2.0, 30.0]]))
    table = InputSpec("table", features=["a", "b"], mean=s.mean, std=s.std)
    np.testing.assert_allclose(table.to_network(np.array([[1.0, 20.0]])), [[0.0, 0.0]])
    image = InputSpec("image", height=28, width=28)
    px = image.to_network(np.full((1, 28, 28), 255, np.uint8))
    assert px.shape == (1, 784) and px.dtype == np.float32 and np.allclose(px, 1.0)


def test_holding_out_everything_is_refused():
    split = data.Split(np.zeros((10, 2), np.float32), np.arange(10) % 2)
    with pytest.raises(DataError, match="data.val_size: 10 holds out 10 of 10 rows"):
        split_validation(split, 10, 0)
