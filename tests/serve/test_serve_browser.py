"""The drawing page in a real browser: Debian's chromium, driven by Playwright, against the real server.

Real MNIST digits are drawn on the canvas with mouse strokes (one stroke per run of ink
in each pixel row), and the answer the page shows is checked against the true labels.
Skipped, with the reason, where chromium, Playwright, the serve extra or the digits are absent.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import trained
from conftest import needs_mnist
from mlpnet import checkpoint

CHROMIUM = os.environ.get("MLPNET_CHROMIUM", "/usr/bin/chromium")

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install 'mlpnet[serve]')")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)),
                       reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"),
    needs_mnist,
]

DIGITS = range(8000, 8012)  # from the 2,000 digits the model never trains on


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ckpt = trained.train_digits(tmp_path_factory.mktemp("digits"), "model.hidden=[128]", "train.epochs=3")
    proc, url = trained.start_server(ckpt)
    yield url, ckpt
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(server, browser):
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.goto(server[0])
    pg.wait_for_selector("[data-testid=canvas]", state="visible", timeout=10_000)
    yield pg
    pg.close()


def draw(page, digit: np.ndarray) -> None:
    """Draw a 28x28 digit with the mouse: one horizontal stroke per run of ink in each row.

    The page's pen is about two cells wide with round ends, so each stroke stops one
    cell short of its run's ends; the painted ink then covers the run, not two cells more.
    """
    box = page.get_by_test_id("canvas").bounding_box()
    cell_w, cell_h = box["width"] / 28, box["height"] / 28
    mouse = page.mouse
    for r in range(28):
        ink = np.flatnonzero(digit[r] >= 128)
        if not ink.size:
            continue
        breaks = np.flatnonzero(np.diff(ink) > 1)
        for start, end in zip(np.r_[ink[0], ink[breaks + 1]], np.r_[ink[breaks], ink[-1]]):
            left, right = start + 1.0, end
            if right < left:  # a run of one or two cells: one dot in its middle
                left = right = (start + end + 1) / 2
            y = box["y"] + (r + 0.5) * cell_h
            mouse.move(box["x"] + left * cell_w, y)
            mouse.down()
            mouse.move(box["x"] + right * cell_w, y)
            mouse.up()


def wait_answer(page) -> float:
    """Seconds from now until the page shows the answer to the latest drawing."""
    t = time.perf_counter()
    page.wait_for_function("document.querySelector('[data-testid=prediction]').dataset.state === 'done'",
                           timeout=5_000)
    return time.perf_counter() - t


def test_drawn_real_digits_are_read(page, server, tmp_path):
    x, y = trained.mnist_t10k()
    ckpt = server[1]
    direct = checkpoint.load(ckpt).model.predict_proba(x[DIGITS].reshape(len(DIGITS), -1) / 255.0).argmax(axis=1)
    shown, waits = [], []
    for i in DIGITS:
        page.get_by_test_id("clear").click()
        assert page.get_by_test_id("prediction").inner_text() == "–"
        draw(page, x[i])
        waits.append(wait_answer(page))
        shown.append(page.get_by_test_id("prediction").inner_text())
        # One bar per class, and the 28x28 input the network saw.
        assert page.locator("[data-testid=bars] li").count() == 10
        assert page.get_by_test_id("seen").get_attribute("src").startswith("data:image/png;base64,")
    page.screenshot(path=str(tmp_path / "page.png"))
    assert max(waits) < 1.0, waits  # the answer follows each stroke within a second
    right = sum(s.startswith(str(y[i])) for s, i in zip(shown, DIGITS))
    same = sum(s.startswith(str(d)) for s, d in zip(shown, direct))
    report = f"page {shown}, labels {list(y[DIGITS])}, model on the original 28x28 digits {list(direct)}"
    # Drawn with a round pen the digits are not pixel-identical to MNIST's, so allow a few
    # differences; a page that showed stale, shuffled or constant answers would fail both.
    assert right >= 0.8 * len(DIGITS), report
    assert same >= 0.8 * len(DIGITS), report


def test_clear_resets_and_a_scribble_still_gets_an_answer(page):
    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("prediction").get_attribute("data-state") == "idle"
    assert page.locator("[data-testid=bars] li.top").count() == 0
    box = page.get_by_test_id("canvas").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 40, box["y"] + box["height"] - 40, steps=10)
    page.mouse.up()
    wait_answer(page)
    assert page.get_by_test_id("prediction").inner_text()[:1].isdigit()
    assert page.locator("[data-testid=bars] li.top").count() == 1


def test_tabular_model_gets_a_form_of_its_features(browser, tmp_path):
    ckpt = trained.train_tabular(tmp_path)
    proc, url = trained.start_server(ckpt)
    try:
        pg = browser.new_page()
        pg.goto(url)
        pg.wait_for_selector("[data-testid=tabular-form]", state="visible", timeout=10_000)
        assert not pg.get_by_test_id("canvas").is_visible()
        labels = pg.locator("#fields label").all_inner_texts()
        assert [t.strip() for t in labels] == trained.FEATURES
        # A typical "stork" (see trained.write_tabular_csv), then a value that is not a number.
        for i, v in enumerate(["18.2", "2310", "148", "0.88"]):
            pg.get_by_test_id(f"feature-{i}").fill(v)
        pg.get_by_role("button", name="Predict").click()
        wait_answer(pg)
        assert pg.get_by_test_id("prediction").inner_text().startswith("stork")
        assert pg.locator("[data-testid=bars] li").count() == 3
        pg.get_by_test_id("feature-2").fill("old")
        pg.get_by_role("button", name="Predict").click()
        pg.wait_for_function("document.querySelector('[data-testid=prediction]').dataset.state === 'error'",
                             timeout=5_000)
        assert "'old' is not a number" in pg.get_by_test_id("error").inner_text()
        pg.screenshot(path=str(tmp_path / "form.png"))
        pg.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)


def test_regression_model_page_shows_the_predicted_value(browser, tmp_path):
    import json
    import urllib.request

    from click.testing import CliRunner

    from mlpnet.cli import cli

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = 50 + 10 * x[:, 0] - 4 * x[:, 1]
    csv = tmp_path / "prices.csv"
    csv.write_text("a,b,c,price\n" + "\n".join(f"{p:.4f},{q:.4f},{r:.4f},{t:.3f}" for (p, q, r), t in zip(x, y)) + "\n")
    r = CliRunner().invoke(cli, ["train", "--set", f"data.path={csv}", "--set", "data.label_column=price",
                                 "--set", "model.hidden=[16]", "--set", "train.epochs=8", "-o", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    proc, url = trained.start_server(tmp_path / "run" / "best.npz")
    try:
        req = urllib.request.Request(url + "/predict", data=json.dumps({"rows": [[0.5, -1.0, 0.25]]}).encode(),
                                     headers={"Content-Type": "application/json"})
        want = json.loads(urllib.request.urlopen(req, timeout=10).read())["predictions"][0]["values"]["price"]
        pg = browser.new_page()
        pg.goto(url)
        pg.wait_for_selector("[data-testid=tabular-form]", state="visible", timeout=10_000)
        assert "predicts price" in pg.locator("#model-summary").inner_text()
        for i, v in enumerate(["0.5", "-1.0", "0.25"]):
            pg.get_by_test_id(f"feature-{i}").fill(v)
        pg.get_by_role("button", name="Predict").click()
        wait_answer(pg)
        shown = float(pg.get_by_test_id("prediction").inner_text())
        assert shown == pytest.approx(want, rel=1e-3)
        assert pg.locator("[data-testid=bars] li").count() == 0
        pg.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
