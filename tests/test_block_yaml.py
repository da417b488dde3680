"""block_yaml writes the same bytes as PyYAML's Python emitter (the path it replaced for the
Ansible variables files), on hand-picked tricky values and on generated documents."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigrid.catalog import catalog
from aigrid.plan import build_plan
from aigrid.render import ansible, block_yaml
from aigrid.rolevars import gpu_vars, host_vars, shared_vars
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, ROOT


def pyyaml(data: Any, dumper: type[block_yaml.BlockDumper] = block_yaml.BlockDumper) -> str:
    """The path block_yaml replaced, as it was called."""
    return yaml.dump(
        data, Dumper=dumper, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True
    )


TRICKY = [
    "",
    " ",
    "plain",
    "two words",
    " leading space",
    "trailing space ",
    "it's",
    'say "hi"',
    "a: b",
    "a:b",
    "ends with colon:",
    ":starts",
    "::1",
    "2001:db8::a/64",
    "- dash",
    "-",
    "-x",
    "--flag",
    "---",
    "...",
    "?",
    "?x",
    "#comment",
    "a #b",
    "a#b",
    "[x]",
    "sites[a].nodes[b]",
    "x,y",
    "{x}",
    "{{ lookup('env', 'HOME') }}",
    "{% raw %}",
    "&anchor",
    "*alias",
    "!tag",
    "|",
    ">",
    "%",
    "@at",
    "`tick",
    "a\nb",
    "a\n",
    "\n",
    "tab\tinside",
    "\ttab",
    "bell\x07",
    "del\x7f",
    "nbsp\u00a0x",
    "é",
    "naïve café",
    "日本語",
    "emoji 🚀",
    "\u2028",
    "\ufeffbom",
    "1.0",
    "1.30",
    "0755",
    "0x1F",
    "1e3",
    "2330",
    "-1",
    "+1",
    ".5",
    ".inf",
    ".nan",
    "1_000",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "2026-11-27",
    "2026-11-27 10:00:00",
    "=",
    "<<",
    "nvidia.com/gpu=present:NoSchedule",
    "unix:///run/containerd/containerd.sock",
    "x" * 117,
    "x" * 130,
    "word " * 30,
    "w" * 60 + " " + "w" * 70,
    "k" * 127,
    "k" * 128,
]


def _documents() -> list[Any]:
    scalars: list[Any] = [*TRICKY, 0, -7, 10**30, 1.5, 1e-05, float("inf"), True, False, None]
    return [
        {"value": scalars},
        {"map": {f"key{i}": value for i, value in enumerate(scalars)}},
        {text: index for index, text in enumerate(TRICKY)},
        {1: "int key", 2.5: "float key", None: "null key"},
        {True: "bool key", False: "another"},
        {"empty_list": [], "empty_map": {}, "nested": [[], {}, [[]], [{}], {"a": []}]},
        {"lists": [[1, [2, [3, "x"]]], [{"a": [1, {"b": {"c": [True]}}]}]]},
        {"items": [{"name": "a", "sub": {"k": [1, 2]}, "more": [{"x": None}]}, {"only": "one"}]},
        {"deep": {"a": {"b": {"c": {"d": {"e": "x" * 100}}}}}},
        {"deep": {"a": {"b": {"c": {"d": {"e": "word " * 22}}}}}},
        {"tuple": (1, 2)},
        {"set": {1, 2}},
        {"bytes": b"x"},
        {"str_subclass": type("Sub", (str,), {})("x")},
    ]


@pytest.mark.parametrize("data", _documents(), ids=lambda d: str(next(iter(d)))[:20])
def test_same_bytes_as_pyyaml(data: Any) -> None:
    try:
        expected = pyyaml(data)
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            block_yaml.dump(data)
    else:
        assert block_yaml.dump(data) == expected


@pytest.mark.parametrize("data", [{}, [], [1, {"a": 2}], "scalar", None, 3])
def test_other_documents_are_pyyamls(data: Any) -> None:
    assert block_yaml.dump(data) == pyyaml(data)


def test_the_ansible_dumper_marks_unsafe_values() -> None:
    data = ansible.as_data(
        {"headers": "linux-headers-{kernel}", "{key}": ["{{ x }}", "plain", "1.0"], "m": {"a{": {"b": "{"}}}
    )
    text = block_yaml.dump(data, ansible._Dumper)
    assert text == pyyaml(data, ansible._Dumper)
    assert "headers: !unsafe 'linux-headers-{kernel}'" in text


_text = st.text(st.characters(codec="utf-8"), max_size=40)
_scalar = st.one_of(
    _text,
    st.sampled_from(TRICKY),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.text("ab:-#{}[] '\"\n.0123yYnN", max_size=12),
)
_key = st.one_of(_text, st.sampled_from(TRICKY), st.integers(), st.text("ab_-:. {}", min_size=1, max_size=10))
_tree = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_key, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_key, _tree, min_size=1, max_size=6))
def test_generated_documents(data: dict[Any, Any]) -> None:
    marked = ansible.as_data(data)
    assert block_yaml.dump(marked, ansible._Dumper) == pyyaml(marked, ansible._Dumper)


@pytest.mark.parametrize("example", ["multi-carrier-grid", "lab-edge-site"])
def test_every_variables_file_of_an_example(example: str) -> None:
    result = validate_file(BLUEPRINTS / "examples" / f"{example}.yaml")
    assert result.blueprint is not None
    plan = build_plan(result.blueprint, catalog())
    documents = [shared_vars(plan), gpu_vars(plan)]
    documents += [host_vars(node, plan) for site in plan.sites for node in site.nodes]
    for document in documents:
        marked = {key: ansible.as_data(value) for key, value in document.items()}
        assert block_yaml.dump(marked, ansible._Dumper) == pyyaml(marked, ansible._Dumper)


def test_generated_grid_host_variables(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_grid", ROOT / "benchmarks" / "gen_grid.py")
    assert spec is not None and spec.loader is not None
    gen_grid = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_grid)
    for contended in (False, True):
        path = gen_grid.write_grid(tmp_path / f"grid-{contended}.yaml", 9, workloads=12, contended=contended)
        result = validate_file(path)
        assert result.blueprint is not None
        plan = build_plan(result.blueprint, catalog())
        for site in plan.sites:
            for node in site.nodes:
                marked = {key: ansible.as_data(value) for key, value in host_vars(node, plan).items()}
                assert block_yaml.dump(marked, ansible._Dumper) == pyyaml(marked, ansible._Dumper)
