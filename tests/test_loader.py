"""YAML reading: positions, numbers that are really versions, refusals."""

from __future__ import annotations

import pytest

from aigrid.diagnostics import LoadError
from aigrid.load.nodes import YMap, YScalar
from aigrid.load.yamlsrc import parse_yaml
from aigrid.model.units import format_bitrate


def test_every_value_has_its_position() -> None:
    root = parse_yaml("a:\n  b: [1, 2]\n  c: text\n", "f.yaml")
    assert isinstance(root, YMap)
    inner = root.items["a"]
    assert isinstance(inner, YMap)
    assert inner.items["c"].origin == ("f.yaml", 3, 6)
    assert inner.keys["c"] == ("f.yaml", 3, 3)


def test_numbers_keep_how_they_were_written() -> None:
    root = parse_yaml("cuda: 13.0\nk8s: 1.30\nsd: 000161\n", "f.yaml")
    assert isinstance(root, YMap)
    values = {key: node.plain for key, node in root.items.items()}
    assert values["cuda"] == 13.0 and values["cuda"].raw == "13.0"
    assert values["k8s"].raw == "1.30"
    assert values["sd"].raw == "000161"


def test_yaml_11_booleans_as_keys_are_refused() -> None:
    with pytest.raises(LoadError) as caught:
        parse_yaml("on: push\n", "f.yaml")
    assert caught.value.diagnostics[0].code == "AG005"


def test_timestamps_stay_text() -> None:
    root = parse_yaml("when: 2026-11-26\n", "f.yaml")
    assert isinstance(root, YMap)
    node = root.items["when"]
    assert isinstance(node, YScalar) and node.value == "2026-11-26"


def test_alias_reuse_under_the_limit_is_fine() -> None:
    root = parse_yaml("a: &x {k: v}\nb: *x\n", "f.yaml")
    assert root is not None and root.plain == {"a": {"k": "v"}, "b": {"k": "v"}}


def test_unknown_alias_is_a_syntax_error() -> None:
    with pytest.raises(LoadError) as caught:
        parse_yaml("a: *nope\n", "f.yaml")
    assert caught.value.diagnostics[0].code == "AG001"


@pytest.mark.parametrize(("bps", "text"), [(50_000_000, "50Mbps"), (10**9, "1Gbps"), (1500, "1500bps")])
def test_bitrates_format_back(bps: int, text: str) -> None:
    assert format_bitrate(bps) == text
