"""YAML reading: positions, numbers that are really versions, refusals."""

from __future__ import annotations

import pytest

from aigrid.diagnostics import LoadError
from aigrid.load.nodes import YMap, YScalar
from aigrid.load.yamlsrc import parse_yaml
from aigrid.model.units import format_bitrate

# A hang in the loader fails the test instead of blocking CI.
pytestmark = pytest.mark.usefixtures("deadline")


def test_every_value_has_its_position() -> None:
    root = parse_yaml("a:\n  b: [1, 2]\n  c: text\n", "f.yaml")
    assert isinstance(root, YMap)
    inner = root.items["a"]
    assert isinstance(inner, YMap)
    assert inner.items["c"].origin == ("f.yaml", 3, 6)
    assert inner.keys["c"] == ("f.yaml", 3, 3)


def test_numbers_keep_how_they_were_written() -> None:
    root = parse_yaml("cuda: 13.0\nk8s: 1.30\nsd: '000161'\ndriver: 580\n", "f.yaml")
    assert isinstance(root, YMap)
    values = {key: node.plain for key, node in root.items.items()}
    assert values["cuda"] == 13.0 and values["cuda"].raw == "13.0"
    assert values["k8s"].raw == "1.30"
    assert values["sd"] == "000161"
    assert values["driver"] == 580 and values["driver"].raw == "580"


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


AMBIGUOUS = [
    ("vlan: 0220", "220"),  # YAML 1.1: octal 144
    ("vlan: -0220", "-220"),
    ("sd: 000161", "161"),
    ("vlan: 0228", "228"),  # not octal: text to YAML 1.1, 228 to YAML 1.2
    ("count: 0x1F", "31"),
    ("count: 0o17", "15"),  # text to YAML 1.1, 15 to YAML 1.2
    ("count: 0b101", "5"),
    ("count: 1_000", "1000"),
    ("rtt: 1:30", None),  # YAML 1.1: base 60, 90
    ("bitrate: 1e9", "1000000000"),  # text to YAML 1.1, a float to YAML 1.2
    ("bitrate: 1.5e3", "1500"),
    ("ratio: 01.5", "1.5"),
    ("ratio: -.5", "-0.5"),
    ("ratio: .inf", None),
    ("ratio: -.Inf", None),
    ("ratio: .nan", None),
    ("count: yes", "true"),
    ("sst: Yes", "true"),
    ("mig: NO", "false"),
    ("cdi: on", "true"),
    ("cdi: Off", "false"),
    ("cdi: y", "true"),
    ("cdi: N", "false"),
    ("cdi: yEs", "true"),
    ("items: [1, 0220]", "220"),
]


@pytest.mark.parametrize(("line", "instead"), AMBIGUOUS)
def test_scalars_yaml_versions_read_differently_are_refused(line: str, instead: str | None) -> None:
    with pytest.raises(LoadError) as caught:
        parse_yaml(f"a: 1\n{line}\n", "f.yaml")
    [diagnostic] = caught.value.diagnostics
    written = line.split(": ", 1)[1].strip("[]").split(", ")[-1]
    assert diagnostic.code == "AG020"
    assert (diagnostic.line, diagnostic.column) == (2, line.index(written) + 1)
    assert repr(written) in diagnostic.message
    assert f"quote it: '{written}'" in diagnostic.hint
    assert instead is None or f"write {instead}," in diagnostic.hint


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("false", False),
        ("True", True),
        ("FALSE", False),
        ("220", 220),
        ("-3", -3),
        ("+3", 3),
        ("0", 0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("13.", 13.0),
        ("1.5e+3", 1500.0),
        ("~", None),
        ("null", None),
        ("'0220'", "0220"),
        ('"yes"', "yes"),
        ("'1:30'", "1:30"),
        ("!!str 0x1F", "0x1F"),
        ("no-such", "no-such"),
        ("yesterday", "yesterday"),
        ("on-prem", "on-prem"),
        ("2001:db8::1", "2001:db8::1"),
        ("10.0.0.1", "10.0.0.1"),
        ("580.126.20", "580.126.20"),
        ("1g.10gb", "1g.10gb"),
        ("0000A1", "0000A1"),
        ("1e", "1e"),
        ("+x", "+x"),
        (".x", ".x"),
    ],
)
def test_unambiguous_scalars_are_read_as_written(text: str, value: object) -> None:
    root = parse_yaml(f"value: {text}\n", "f.yaml")
    assert isinstance(root, YMap)
    read = root.plain["value"]
    assert read == value and isinstance(read, bool) == isinstance(value, bool)


@pytest.mark.parametrize("text", ["!!int abc", "!!bool maybe", "!!float x", "!!int 1e9", "!!null x"])
def test_a_type_tag_that_does_not_fit_its_value_is_refused(text: str) -> None:
    with pytest.raises(LoadError) as caught:
        parse_yaml(f"value: {text}\n", "f.yaml")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "AG005" and "does not fit" in diagnostic.message
