"""The positioned tree against PyYAML's own composer: same values, same positions.

The loader builds its tree straight from parser events, with the common case (a plain scalar
that can only be text) handled apart from the rest for speed. Every blueprint in the
repository, and a generated grid, must come out as PyYAML composes it: the same keys in the
same order, each key and value at the line and column of its node, scalars as written.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from aigrid.diagnostics import LoadError
from aigrid.load.nodes import YMap, YNode, YScalar, YSeq
from aigrid.load.yamlsrc import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = sorted((ROOT / "blueprints").rglob("*.yaml"))


def _at(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _same(ours: YNode, theirs: yaml.Node, where: str) -> None:
    assert (ours.origin.line, ours.origin.column) == _at(theirs.start_mark), where
    if isinstance(theirs, yaml.MappingNode):
        assert isinstance(ours, YMap), where
        assert list(ours.items) == [key.value for key, _ in theirs.value], where
        for key, value in theirs.value:
            origin = ours.keys[key.value]
            assert (origin.line, origin.column) == _at(key.start_mark), f"{where}.{key.value}"
            _same(ours.items[key.value], value, f"{where}.{key.value}")
    elif isinstance(theirs, yaml.SequenceNode):
        assert isinstance(ours, YSeq) and len(ours.items) == len(theirs.value), where
        for index, (mine, other) in enumerate(zip(ours.items, theirs.value, strict=True)):
            _same(mine, other, f"{where}[{index}]")
    else:
        assert isinstance(ours, YScalar), where
        value = ours.value
        if isinstance(value, str):
            assert value == theirs.value, where
        elif isinstance(value, bool) or value is None:
            assert value == yaml.safe_load(theirs.value), where
        else:
            # Numbers keep the text they were written as.
            assert value.raw == theirs.value, where


def _compare(text: str, name: str) -> None:
    try:
        ours = parse_yaml(text, name)
    except LoadError:
        return  # a refused file: the diagnostics tests check what is said about it
    theirs = yaml.compose(text, Loader=yaml.SafeLoader)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        _same(ours, theirs, name)


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_blueprint_is_read_as_pyyaml_composes_it(path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return  # AG004's example: the loader refuses it before parsing
    _compare(text, path.name)


@pytest.mark.parametrize("contended", [False, True])
def test_a_generated_grid_is_read_as_pyyaml_composes_it(tmp_path: Path, contended: bool) -> None:
    spec = importlib.util.spec_from_file_location("gen_grid", ROOT / "benchmarks" / "gen_grid.py")
    assert spec is not None and spec.loader is not None
    gen_grid = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_grid)
    path = gen_grid.write_grid(tmp_path / "grid.yaml", 7, workloads=9, contended=contended)
    _compare(path.read_text(encoding="utf-8"), "grid.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [x, 'y', 2, true, ~]\nc: {d: e}\n",
        # Anchored keys and values take the general path; the tree must not tell.
        "&k a: &v 1\nb: [&x x, 'y', &n 2]\nc: &m {d: e}\nf: *m\n",
        "- plain\n- 'quoted'\n- \"double\"\n- |\n  block\n- 17\n- 1.5\n- ''\n",
        "'': quoted empty key\n",
        "top\n",
    ],
)
def test_both_ways_of_reading_a_scalar_agree_with_pyyaml(text: str) -> None:
    ours = parse_yaml(text, "f.yaml")
    assert ours is not None
    # An alias is the very node it names, in both trees.
    _same(ours, yaml.compose(text, Loader=yaml.SafeLoader), "f.yaml")


@pytest.mark.parametrize("text", ["a: 1\nb: 2\na: 3\n", "&k a: 1\nb: 2\na: 3\n", "a: 1\nb: 2\n&k a: 3\n"])
def test_a_duplicate_key_is_refused_the_same_way_on_both_paths(text: str) -> None:
    with pytest.raises(LoadError) as caught:
        parse_yaml(text, "f.yaml")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.message) == ("AG002", "duplicate key 'a' (first set at line 1)")
    assert diagnostic.line == 3
