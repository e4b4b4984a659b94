"""Batch augmentation: exact shifts and mirrors, interpolated rotations, determinism and resume."""

from __future__ import annotations

import numpy as np
import pytest

from mlpnet import checkpoint, config, data
from mlpnet.data.augment import Augmenter, from_config
from mlpnet.errors import ConfigError

from conftest import small_config, train_small


def _images(n=6, seed=0):
    return np.random.default_rng(seed).random((n, 784)).astype(np.float32)


def _shifted(img, dy, dx):
    """``img`` moved down by dy and right by dx, zeros coming in."""
    out = np.zeros_like(img)
    h, w = img.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _draws(seed, n):
    return np.random.default_rng(seed).random((n, 5))


@pytest.mark.parametrize("shift", [1, 3])
def test_whole_pixel_shifts_move_each_image_with_zeros_coming_in(shift):
    x0 = _images()
    x = x0.copy()
    Augmenter(28, 28, 8, shift=shift)(x, np.random.default_rng(4))
    r = _draws(4, len(x0))
    seen = set()
    for i in range(len(x0)):
        dx, dy = (np.floor(r[i, :2] * (2 * shift + 1)) - shift).astype(int)
        seen.add((dx, dy))
        assert np.array_equal(x[i].reshape(28, 28), _shifted(x0[i].reshape(28, 28), dy, dx))
    assert len(seen) > 1


def test_mirror_flips_about_half_the_images():
    x0 = _images(40)
    x = x0.copy()
    Augmenter(28, 28, 64, hflip=True)(x, np.random.default_rng(2))
    flipped = _draws(2, 40)[:, 4] < 0.5
    for i in range(40):
        want = x0[i].reshape(28, 28)[:, ::-1] if flipped[i] else x0[i].reshape(28, 28)
        assert np.array_equal(x[i].reshape(28, 28), want)
    assert 0 < flipped.sum() < 40


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_resampling_path_agrees_with_the_exact_one_without_rotation_or_scaling(interpolation):
    """A rotation too small to move any pixel leaves the resampling path equal to whole-pixel shifts and mirrors."""
    x0 = _images(10)
    a, b = x0.copy(), x0.copy()
    Augmenter(28, 28, 10, shift=2, hflip=True)(a, np.random.default_rng(9))
    Augmenter(28, 28, 10, shift=2, hflip=True, rotate=1e-9, interpolation=interpolation)(b, np.random.default_rng(9))
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_quarter_turn_is_a_rotation_of_the_pixel_grid(interpolation):
    aug = Augmenter(28, 28, 4, rotate=90, interpolation=interpolation)
    x0 = _images(4)
    x = x0.copy()
    # Force the angle to exactly +90 degrees: column 2 of the draws maps to 2 u - 1 = 1.
    draws = np.zeros((4, 5))
    draws[:, 2] = 1.0
    draws[:, :2] = 0.5  # no shift

    class Fixed:
        def random(self, shape):
            return draws

    aug(x, Fixed())
    for i in range(4):
        img, out = x0[i].reshape(28, 28), x[i].reshape(28, 28)
        assert np.allclose(out, np.rot90(img, 1), atol=1e-5) or np.allclose(out, np.rot90(img, -1), atol=1e-5)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_small_rotation_keeps_the_ink_and_values_in_range(interpolation):
    img = np.zeros((28, 28), np.float32)
    img[9:19, 12:16] = 1.0  # a bar in the middle: nothing leaves the frame
    x = np.tile(img.reshape(1, -1), (16, 1))
    Augmenter(28, 28, 16, rotate=15, scale=0.1, interpolation=interpolation)(x, np.random.default_rng(1))
    assert x.min() >= 0 and x.max() <= 1 + 1e-6
    np.testing.assert_allclose(x.sum(axis=1) / img.sum(), 1.0, atol=0.25)  # area scales by (1 +- 0.1)^2
    assert not np.allclose(x[0], x[1])


def test_nearest_copies_source_pixels_and_bilinear_blends_them():
    """Nearest sampling only ever outputs pixels of the image (or black); bilinear makes new grey levels."""
    levels = np.arange(1, 785, dtype=np.float32) / 784  # every pixel a distinct value
    x = np.tile(levels, (8, 1))
    near, lin = x.copy(), x.copy()
    Augmenter(28, 28, 8, rotate=20, scale=0.2)(near, np.random.default_rng(3))
    Augmenter(28, 28, 8, rotate=20, scale=0.2, interpolation="bilinear")(lin, np.random.default_rng(3))
    assert np.isin(near, np.append(levels, 0)).all()
    assert not np.isin(lin, np.append(levels, 0)).all()
    # Both read the same source positions, so away from the frame's edge nearest is within half
    # a pixel step (1/784 along a row, 28/784 down a column) of bilinear, each way.
    inside = (near > 0) & (lin > 0)
    assert np.quantile(np.abs(near - lin)[inside], 0.9) <= (1 + 28) / 2 / 784 + 1e-6


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_same_generator_state_same_batch(interpolation):
    a, b = _images(), _images()
    aug = Augmenter(28, 28, 8, shift=2, rotate=10, scale=0.1, hflip=True, interpolation=interpolation)
    aug(a, np.random.default_rng(5))
    aug(b, np.random.default_rng(5))
    assert np.array_equal(a, b)


def _cfg(npz, *extra):
    return small_config(npz, "data.augment.shift=2", "data.augment.rotate=10", "data.augment.scale=0.1",
                        "label_smoothing=0.1", "schedule.name=constant", *extra)


def test_augmented_training_learns_and_resumes_bit_identically(blobs, tmp_path):
    def run(cfg, out, **kw):
        return train_small(cfg, out, kw.pop("resume_overrides", ()), **kw)

    straight = run(_cfg(blobs, "train.epochs=4"), tmp_path / "straight")
    assert straight.test["accuracy"] > 0.85
    out = tmp_path / "split"
    run(_cfg(blobs, "train.epochs=2"), out)
    run(None, out, resume=out / "last.npz", resume_overrides=["train.epochs=4"])
    a, b = checkpoint.load(tmp_path / "straight/last.npz"), checkpoint.load(out / "last.npz")
    assert np.array_equal(a.model.params, b.model.params)
    assert a.meta.rng == b.meta.rng
    # and augmentation does change training
    run(_cfg(blobs, "train.epochs=4", "data.augment.shift=0", "data.augment.rotate=0", "data.augment.scale=0"),
        tmp_path / "plain")
    assert not np.array_equal(a.model.params, checkpoint.load(tmp_path / "plain/last.npz").model.params)


def test_runs_stored_before_the_interpolation_key_resume_bilinear():
    """Rotation and scaling were bilinear before data.augment.interpolation existed."""
    raw = config.load(None, ["data.augment.rotate=10"]).to_dict()
    del raw["data"]["augment"]["interpolation"]
    assert config.stored_config(raw, "old.npz").data.augment.interpolation == "bilinear"
    raw["data"]["augment"].update(rotate=0.0, shift=2)
    assert config.stored_config(raw, "old.npz").data.augment.interpolation == "nearest"
    new = config.load(None, ["data.augment.rotate=10"]).to_dict()
    assert config.stored_config(new, "new.npz").data.augment.interpolation == "nearest"


def test_augment_keys_are_validated(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.augment\.rotate: 90.0 is out of range"):
        config.load(None, ["data.augment.rotate=90"])
    with pytest.raises(ConfigError, match=r"data\.augment\.shift"):
        config.load(None, ["data.augment.shift=-1"])
    with pytest.raises(ConfigError, match="did you mean 'shift'"):
        config.load(None, ["data.augment.shfit=1"])
    with pytest.raises(ConfigError, match=r"data\.augment\.interpolation: .*nearest, bilinear"):
        config.load(None, ["data.augment.interpolation=cubic"])
    with pytest.raises(ConfigError, match="label_smoothing: applies to loss cross_entropy"):
        config.load(None, ["loss=mse", "label_smoothing=0.1"])
    with pytest.raises(ConfigError, match="label_smoothing"):
        config.load(None, ["label_smoothing=1"])


def test_augmenting_tabular_data_is_a_clear_error(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    cfg = config.load(None, ["data.dataset=csv", f"data.path={csv}", "data.val_size=0", "data.augment.shift=1"])
    ds = data.load(cfg.data, cfg.seed, progress=False)
    with pytest.raises(ConfigError, match="data.augment: needs grayscale images"):
        from_config(cfg.data.augment, ds, 32)
    # From the command line: one line, exit 2, and no run folder left behind.
    from click.testing import CliRunner

    from mlpnet.cli import cli

    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["train", "--set", "data.dataset=csv", "--set", f"data.path={csv}",
                                    "--set", "data.augment.rotate=5", "-o", str(out)])
    assert res.exit_code == 2 and "data.augment: needs grayscale images" in res.output
    assert "Traceback" not in res.output and not out.exists()


@pytest.mark.slow  # it times things
def test_augmentation_costs_little_next_to_a_training_step():
    """Shift + rotation + scale for a batch of 128: well under the time of the step it feeds.

    A loose guard (the measured figure is in the README): under 60% of one forward and
    backward pass of the Fashion-MNIST config's 784-512-256-10 network, timed alternately.
    """
    import time

    from mlpnet.nn import MLP, Architecture

    rng = np.random.default_rng(0)
    model = MLP(Architecture((784, 512, 256, 10))).init("he", rng)
    x = rng.random((128, 784)).astype(np.float32)
    aug = Augmenter(28, 28, 128, shift=2, rotate=10, scale=0.1)
    delta = model.output_delta(128)
    ta, ts = [], []
    for _ in range(30):
        xb = x.copy()
        t0 = time.perf_counter()
        aug(xb, rng)
        t1 = time.perf_counter()
        model.forward(xb, train=True, rng=rng)
        delta[...] = 0.01
        model.backward(delta)
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        ts.append(t2 - t1)
    assert np.median(ta) < 0.6 * np.median(ts)
