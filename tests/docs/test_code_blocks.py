"""Every code block of the documentation runs, so the pages cannot rot.

Each page under ``docs/`` (and ``README.md``) runs in order in a fresh folder that holds
``configs/`` (the shipped configs), ``my-digit.png`` (a real MNIST digit, dark ink on
white), ``shoe.jpg``, ``iris.csv`` (150 rows: four measurements and ``species``), a folder
of images ``shapes/`` (``circle/``, ``square/``), ``sweep.yaml`` (a grid of two learning
rates) and a small model trained on the shipped digits in ``runs/latest``:

- ```` ```python ```` blocks run, all blocks of a page in one namespace (a block of
  ``>>>`` lines is a doctest: each output must match what the page shows);
- every line of a ```` ```console ```` block that starts with ``mlpnet`` runs through
  click's ``CliRunner`` and must exit 0 (``train`` and ``sweep`` with ``train.epochs=1``
  and ``train.min_steps=0`` to stay fast; ``serve`` never returns and is tested in the
  serve tests). Other lines (``pip``, ``apt-get``, ``curl``, ``mpirun``) set up or talk to
  what the page describes and are not run here;
- ```` ```yaml ```` blocks parse, and a YAML block that is a config passes validation;
- a ```` {code-block} ```` with a ``:caption:`` is first written to the file it names.

```` ```text ```` blocks (command synopses, printed output) are not run.
"""

from __future__ import annotations

import doctest
import gzip
import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts) + [REPO / "README.md"]
OPTIONAL = {"sklearn", "onnx", "onnxruntime", "starlette", "uvicorn", "pandas", "matplotlib", "dask",
            "distributed", "mpi4py", "httpx"}
FAST = ["--set", "train.epochs=1", "--set", "train.min_steps=0"]
FASHION = [Path("/usr/share/datasets/fashion-mnist"), Path("/usr/local/share/datasets/fashion-mnist")]

pytestmark = pytest.mark.slow


@dataclass
class Block:
    lang: str
    text: str
    line: int
    caption: str | None = None
    options: dict = field(default_factory=dict)


_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{[\w-]+\})?\s*([\w-]*)\s*$")


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with their language and caption."""
    found, lines, i = [], page.read_text(encoding="utf-8").split("\n"), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, directive, lang = m.groups()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        options = {}
        if directive:
            if directive != "{code-block}":
                continue  # toctree, eval-rst, mlpnet-* directives: built, not run
            while body and body[0].startswith(":"):
                key, _, value = body.pop(0)[1:].partition(":")
                options[key.strip()] = value.strip()
            while body and not body[0].strip():
                body.pop(0)
        found.append(Block(lang or "text", "\n".join(body) + "\n", start, options.get("caption"), options))
    return found


def _fashion_present() -> bool:
    home = os.environ.get("MLPNET_DATA")
    dirs = FASHION + ([Path(home) / "fashion-mnist"] if home else [])
    return any((d / "train-images-idx3-ubyte.gz").exists() or (d / "train-images-idx3-ubyte").exists() for d in dirs)


# -- the folder every page runs in ---------------------------------------------------------

def _digits() -> tuple[np.ndarray, np.ndarray]:
    root = REPO / "mlpnet" / "data" / "samples" / "mnist-sample"
    with gzip.open(root / "t10k-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y


def _iris(path: Path) -> None:
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    try:
        from sklearn.datasets import load_iris

        data = load_iris()
        x, species = data.data, data.target_names[data.target]
    except ImportError:  # three well-separated clusters with iris's column names
        rng = np.random.default_rng(0)
        centres = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
        k = np.repeat(np.arange(3), 50)
        x = centres[k] + rng.normal(0, 0.25, (150, 4))
        species = np.array(["setosa", "versicolor", "virginica"])[k]
    rows = [",".join(names + ["species"])]
    rows += [",".join(f"{v:.1f}" for v in r) + f",{s}" for r, s in zip(x, species)]
    path.write_text("\n".join(rows) + "\n")


def _shapes(root: Path) -> None:
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    for kind in ("circle", "square"):
        (root / kind).mkdir(parents=True)
        for i in range(30):
            img = Image.new("L", (64, 64), 255)
            d = ImageDraw.Draw(img)
            c, r, w = 32 + rng.integers(-6, 7, 2), int(rng.integers(12, 22)), int(rng.integers(3, 7))
            box = [int(c[0] - r), int(c[1] - r), int(c[0] + r), int(c[1] + r)]
            (d.ellipse if kind == "circle" else d.rectangle)(box, outline=0, width=w)
            img.save(root / kind / f"{kind}-{i:02d}.png")


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    """The folder each page starts from (built once)."""
    from PIL import Image

    from mlpnet.cli import cli

    root = tmp_path_factory.mktemp("docs-template")
    shutil.copytree(REPO / "configs", root / "configs")
    x, _ = _digits()
    digit = Image.fromarray(255 - x[0]).resize((140, 140), Image.LANCZOS)
    digit.save(root / "my-digit.png")
    Image.fromarray(255 - x[1]).convert("RGB").resize((200, 200)).save(root / "shoe.jpg", quality=90)
    _iris(root / "iris.csv")
    _shapes(root / "shapes")
    (root / "sweep.yaml").write_text("method: grid\nmetric: val_accuracy\n"
                                     "parameters:\n  optimizer.lr: {values: [0.001, 0.003]}\n")
    old = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(cli, ["train", "--set", "data.dataset=mnist-sample", "--set",
                                          "model.hidden=[32]", "-o", "runs/digits", *FAST])
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def sandbox(template, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "page"
    shutil.copytree(template, folder, symlinks=True)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLPNET_MIRROR", "http://127.0.0.1:9/")  # no downloads: named datasets fall back
    monkeypatch.setenv("MLPNET_DOCS_TEST", "1")
    return folder


# -- running the blocks --------------------------------------------------------------------

def _run_python(block: Block, namespace: dict, where: str) -> None:
    try:
        if block.text.lstrip().startswith(">>>"):
            _run_doctest(block, namespace, where)
            return
        exec(compile(block.text, where, "exec"), namespace)
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] in OPTIONAL:
            pytest.skip(f"{where}: needs the optional {err.name}")
        raise


def _run_doctest(block: Block, namespace: dict, where: str) -> None:
    """A ``>>>`` session: every example must print what the page shows (whitespace-insensitive)."""
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    test = doctest.DocTestParser().get_doctest(block.text, namespace, where, where, block.line)
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=flags)
    runner.run(test, out=out.append, clear_globs=False)
    assert not runner.failures, "".join(out)


def _run_console(block: Block, where: str) -> None:
    from mlpnet.cli import cli

    for line in block.text.splitlines():
        if not line.startswith("mlpnet "):
            continue
        args = shlex.split(line, comments=True)[1:]
        if args[0] == "serve":
            continue
        if "fashion-mnist" in line and not _fashion_present():
            continue  # Debian's dataset-fashion-mnist is not installed here
        if args[0] in ("train", "sweep") and "--print-config" not in args:
            args += FAST if "--resume" not in args else ["--set", "train.epochs=1"]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        if result.exit_code != 0 and "pip install" in (result.output or "") and "mlpnet[" in result.output:
            pytest.skip(f"{where}: `{line}` needs an optional extra: {result.output.strip()}")
        assert result.exit_code == 0, f"{where}: `{line}` exited {result.exit_code}:\n{result.output}"


def _run_yaml(block: Block, where: str) -> None:
    from mlpnet import config

    doc = yaml.safe_load(block.text)
    top = {f.name for f in config.Config.__dataclass_fields__.values()}
    if isinstance(doc, dict) and doc and set(doc) <= top:
        path = Path(block.caption or "docs-config.yaml")
        path.write_text(block.text)
        config.load(path)  # raises ConfigError naming the key


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_page_code_runs(page: Path, sandbox: Path) -> None:
    namespace: dict = {"__name__": "__docs__"}
    for block in blocks(page):
        where = f"{page.relative_to(REPO)}:{block.line}"
        if block.caption:
            Path(block.caption).write_text(block.text)
        if block.lang == "python":
            _run_python(block, namespace, where)
        elif block.lang == "console":
            _run_console(block, where)
        elif block.lang == "yaml":
            _run_yaml(block, where)


def test_blocks_are_found() -> None:
    """The extractor sees fences, languages and captions (so the test above can fail)."""
    page = DOCS / "guide" / "sweeps-mpi.md"
    found = blocks(page)
    assert any(b.lang == "yaml" and b.caption == "lr.yaml" and b.text.startswith("method:") for b in found)
    assert any(b.lang == "console" and "mlpnet sweep lr.yaml" in b.text for b in found)
    assert all(b.lang != "{toctree}" for b in found)


def test_doctest_blocks_compare_their_output() -> None:
    """A ``>>>`` block whose printed output differs from the page fails."""
    _run_doctest(Block("python", ">>> 1 + 1\n2\n", 1), {}, "page.md:1")
    with pytest.raises(AssertionError, match="Expected"):
        _run_doctest(Block("python", ">>> 1 + 1\n3\n", 1), {}, "page.md:1")
