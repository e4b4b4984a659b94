"""The documentation site builds with zero warnings and documents every command option and config key."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

for _module in ("sphinx", "myst_parser", "numpydoc", "sphinx_click", "sphinx_gallery", "pydata_sphinx_theme"):
    pytest.importorskip(_module, reason='the docs extra is not installed: pip install -e ".[docs]"')


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    doctrees = tmp_path_factory.mktemp("doctrees")
    started = time.perf_counter()
    # -E: read every page again; gallery examples always run (their output lives in the source tree,
    # under docs/auto_examples, and sphinx-gallery reruns an example whenever its file changed).
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
                           "-d", str(doctrees), str(REPO / "docs"), str(out)],
                          capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, f"sphinx failed:\n{proc.stderr[-6000:]}"
    assert "WARNING" not in proc.stderr, proc.stderr[-6000:]
    print(f"docs built in {seconds:.1f} s")
    return out


def _text(page: Path) -> str:
    """The visible text of a built page, entities decoded."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))
    return re.sub(r"\s+", " ", text)


def test_every_command_option_is_documented(site: Path) -> None:
    from mlpnet.cli import cli

    text = _text(site / "reference" / "cli.html")
    missing = []
    for name, command in cli.commands.items():
        if f"mlpnet {name}" not in text:
            missing.append(f"mlpnet {name}")
        for param in command.params:
            if getattr(param, "hidden", False):
                continue  # a deprecated spelling (--out, --plots): kept working, not documented
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("-") and opt not in text:
                    missing.append(f"mlpnet {name} {opt}")
    assert not missing, f"not in reference/cli.html: {missing}"


def test_every_config_key_is_documented(site: Path) -> None:
    sys.path.insert(0, str(REPO / "docs" / "_ext"))
    import mlpnet_docs

    text = _text(site / "reference" / "config.html")
    keys = [row["key"] for row in mlpnet_docs.config_rows()]
    assert len(keys) > 40
    missing = [k for k in keys if k not in text]
    assert not missing, f"not in reference/config.html: {missing}"


def test_http_api_and_gallery_are_built(site: Path) -> None:
    http = _text(site / "reference" / "http.html")
    for path in ("POST /predict", "POST /batch_predict", "GET /health", "GET /model"):
        assert path in http
    figures = list((site / "_images").glob("sphx_glr_plot_*.png"))
    assert len(figures) >= 12, figures
    learn = (site / "learn" / "index.html").read_text(encoding="utf-8")
    assert "sphx_glr_plot_" in learn  # the learner's path shows the examples' figures


def test_formulas_render_offline(site: Path) -> None:
    """With the docs extra's MathJax (django-static-mathjax), pages with formulas load it from _static,
    never from a CDN, and the fonts it asks for are there."""
    pytest.importorskip("mathjax", reason='the docs extra is not installed: pip install -e ".[docs]"')
    page = (site / "learn" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<script[^>]+src="[./]*_static/mathjax/tex-mml-chtml\.js', page), "MathJax not local"
    assert (site / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert list((site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    cdn = [p.relative_to(site) for p in site.rglob("*.html") if "cdn.jsdelivr.net" in p.read_text(encoding="utf-8")]
    assert not cdn, cdn
