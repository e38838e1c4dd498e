"""The package's layout: imports only point down, and snapshots written before the move
to folders (functions, links, models, ...) load and play as they did."""

import ast
from pathlib import Path

import numpy as np
import pytest

import chainer_wavenet
from chainer_wavenet.sampling import synthesis

PACKAGE = Path(chainer_wavenet.__file__).parent
BEFORE = Path(__file__).parent / "data" / "before-layout"

# Bottom first: a module may import from its own level's folders or from lower ones.
LEVELS = [
    {"compat", "errors", "allocator"},
    {"files", "cli", "device"},
    {"audio", "functions", "visualizations"},
    {"datasets", "links", "evaluations"},
    {"models"},
    {"snapshot"},
    {"sampling"},
    {"training"},
]


def _level(name):
    return next(i for i, names in enumerate(LEVELS) if name in names)


def _imports():
    """(importing file, imported top-level part of chainer_wavenet) for every import."""
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if parts == ("__init__.py",):
            continue
        part = parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "chainer_wavenet"):
                modules = ([f"chainer_wavenet.{a.name}" for a in node.names]
                           if node.module == "chainer_wavenet" else [node.module])
                for module in modules:
                    yield path, part, module.split(".")[1]


def test_every_folder_and_module_has_a_level():
    tops = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
            if p.suffix == ".py" or (p / "__init__.py").exists()} - {"__init__"}
    assert tops == set().union(*LEVELS)


def test_imports_point_down_only():
    upward = [f"{path.relative_to(PACKAGE)} imports {target}"
              for path, part, target in _imports()
              if part != target and _level(target) > _level(part)]
    assert upward == []


def test_every_subpackage_says_what_it_holds():
    for init in PACKAGE.glob("*/__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text())), init


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(BEFORE / "expected.npz"))


def test_a_conditioned_wavenet_saved_before_plays_as_before(expected):
    model = chainer_wavenet.load(BEFORE / "wavenet.h5")
    generated = chainer_wavenet.generate(model, 300, batch_size=2, global_ids=[0, 2],
                                         local_features=expected["wavenet_features"], seed=3)
    np.testing.assert_array_equal(generated, expected["wavenet_generated"])


def test_a_mixture_wavenet_saved_before_plays_both_weights_as_before(expected):
    for raw, key in ((False, "mixture_generated"), (True, "mixture_generated_raw")):
        model = chainer_wavenet.load(BEFORE / "mixture.h5", raw=raw)
        generated = chainer_wavenet.generate(model, 200, seed=4,
                                             local_features=expected["mixture_features"])
        np.testing.assert_array_equal(generated, expected[key])


def test_an_autoencoder_saved_before_encodes_and_decodes_as_before(expected):
    model = chainer_wavenet.load(BEFORE / "autoencoder.h5")
    z = model.encode(expected["autoencoder_audio"])
    np.testing.assert_allclose(z, expected["autoencoder_z"], rtol=1e-5, atol=1e-6)
    decoded = synthesis.decode(model, z, 64, seed=6, progress=False)
    np.testing.assert_array_equal(decoded, expected["autoencoder_decoded"])
