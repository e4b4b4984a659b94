"""Image folders as people have them: a broken file, a blank image, an empty class folder, solid shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from test_owndata import _folder

from mlpnet import config, data
from mlpnet.data import images as preprocess
from mlpnet.errors import DataError


def _cfg(root: Path):
    return config.load(None, ["data.dataset=folder", f"data.path={root}", "data.val_size=0"]).data


def test_bad_images_are_skipped_and_counted_and_empty_folders_named(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    _folder(root, per_class=10)
    (root / "bar/broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    Image.new("L", (40, 40), 255).save(root / "cross/blank.png")  # no ink
    (root / "unused").mkdir()
    ds = data.load(_cfg(root), 0)
    assert ds.classes == ["bar", "cross", "frame", "pillar"]
    assert len(ds.train) + len(ds.test) == 40
    skipped = [n for n in ds.notes if n.startswith("skipped")]
    assert len(skipped) == 1 and "skipped 2 of 42 images" in skipped[0] and "broken.png" in skipped[0]
    assert any("unused" in n and "hold no images" in n for n in ds.notes)


def test_a_folder_of_only_bad_images_is_an_error_naming_one(tmp_path: Path) -> None:
    (tmp_path / "imgs/a").mkdir(parents=True)
    (tmp_path / "imgs/a/x.png").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"no images found.*every image was skipped \(first: .*x\.png"):
        data.load(_cfg(tmp_path / "imgs"), 0)


@pytest.mark.parametrize("canvas, diameter", [(64, 56), (72, 64), (96, 88), (100, 80), (48, 40), (200, 88)])
def test_solid_dark_disc_on_white_is_ink(canvas: int, diameter: int) -> None:
    img = Image.new("L", (canvas, canvas), 255)
    c, r = canvas / 2, diameter / 2
    ImageDraw.Draw(img).ellipse((c - r, c - r, c + r, c + r), fill=0)
    out = preprocess.to_mnist(img, name="disc")
    # A filled disc fitted into the 20x20 box: about pi * 10^2 of 784 pixels, solid inside.
    assert 0.33 < np.mean(out > 128) < 0.45
    assert out[14, 14] > 200 and out[0, 0] == 0
