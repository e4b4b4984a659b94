"""Sphinx configuration for the mlpnet site.

Build: ``pip install -e ".[docs]"`` then
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
Pages are MyST Markdown; the reference pages are generated from the code by the
extensions in ``docs/_ext`` (config keys, HTTP API) and by sphinx-click and autodoc.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # the checkout's mlpnet, installed or not

import mlpnet  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

# The gallery's examples multiply small batches, where two BLAS threads mostly spin against
# each other: plot_04 took 18.7 s of CPU on two threads and 1.5 s on one (measured on the
# busy 2-core machine). The variables cover libraries loaded later; threadpool_limits those
# already loaded.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
threadpool_limits(1)

project = "mlpnet"
author = "the mlpnet authors"
copyright = "the mlpnet authors"
version = release = mlpnet.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_click",
    "sphinx_gallery.gen_gallery",
    "mlpnet_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "examples/README.txt", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5",
                    "sg_execution_times.rst"]
templates_path = []
html_static_path = []

myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"mlpnet {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": []}
html_show_sourcelink = False

# autodoc + numpydoc: the API reference comes from the NumPy-style docstrings.
autodoc_typehints = "none"          # numpydoc shows the documented types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False
autosummary_generate = False

intersphinx_mapping = {}  # the build must not need the internet


def _local_mathjax() -> Path | None:
    """MathJax 3's ``es5`` folder from the ``django-static-mathjax`` wheel (the ``docs`` extra), else None.

    That wheel vendors MathJax 3.2.2 (Apache-2.0) as plain files and needs no Django. With it
    the site shows its formulas offline; without it, pages load MathJax from Sphinx's default CDN.
    """
    import importlib.util

    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    return es5 if (es5 / "tex-mml-chtml.js").is_file() else None


MATHJAX_ES5 = _local_mathjax()
MATHJAX_PARTS = ("tex-mml-chtml.js", "output/chtml", "input/tex", "a11y", "ui", "sre", "adaptors")
"""What the page's one script loads, and what it loads later (fonts, TeX packages, the menu's accessibility)."""
if MATHJAX_ES5 is not None:
    mathjax_path = "mathjax/tex-mml-chtml.js"  # relative to _static, copied there by _copy_mathjax


def _copy_mathjax(app, exception) -> None:
    if exception is not None or MATHJAX_ES5 is None or app.builder.format != "html":
        return
    import shutil

    dest = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src = MATHJAX_ES5 / part
        if src.is_dir():
            shutil.copytree(src, dest / part, dirs_exist_ok=True)
        elif src.is_file():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / part)
    shutil.copy2(MATHJAX_ES5.parent / "LICENSE", dest / "LICENSE")


def setup(app):
    app.connect("build-finished", _copy_mathjax)
suppress_warnings = ["config.cache"]  # sphinx-gallery's callable settings cannot be pickled

# sphinx-gallery: examples/*.py run in the build and draw the figures the pages show.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": True,
    "show_memory": False,
    "plot_gallery": os.environ.get("MLPNET_DOCS_GALLERY", "True"),
}
