"""block_yaml writes the same bytes as yaml.dump (the path it replaced for the Ansible variables,
the manifests and the cluster files) with each dumper it is used with: PyYAML's Python emitter
with lists indented under their key, PyYAML's and libyaml's own styles; on hand-picked tricky
values, generated documents, the examples' and a generated grid's files."""

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
from aigrid.render import ansible, block_yaml, cluster, manifests
from aigrid.render.k8s_objects import site_objects
from aigrid.rolevars import gpu_vars, host_vars, shared_vars
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, ROOT


def pyyaml(data: Any, dumper: block_yaml.Dumper = block_yaml.BlockDumper, allow_unicode: bool = True) -> str:
    """The path block_yaml replaced, as it was called."""
    return yaml.dump(
        data,
        Dumper=dumper,
        sort_keys=False,
        default_flow_style=False,
        width=120,
        allow_unicode=allow_unicode,
    )


# The dumpers block_yaml stands in for, with the unicode setting each is used with.
FLAVOURS: list[tuple[block_yaml.Dumper, bool]] = [
    (block_yaml.BlockDumper, True),
    (ansible._Dumper, True),
    (yaml.SafeDumper, False),
    (yaml.CSafeDumper, False),
    (manifests._Dumper, False),
    (ansible._MappingDumper, True),
]
FLAVOUR_IDS = ["block", "ansible", "pyyaml", "libyaml", "manifests", "inventory"]


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


SCALARS: list[Any] = [*TRICKY, 0, -7, 10**30, 1.5, 1e-05, float("inf"), True, False, None]


def _documents() -> list[Any]:
    """Each scalar alone in each place a scalar sits, then larger shapes: strings PyYAML writes
    on several lines (folded, literal blocks) at several depths, shared collections."""
    shared = {"app": "x"}
    documents: list[Any] = []
    for value in SCALARS:
        documents += [
            {"value": value},
            {"list": [value, "after"]},
            {"deep": {"a": [{"b": value, "c": [value]}], "d": [[value]]}},
            {value: "as key"} if not isinstance(value, float) or value == value else {"x": value},
            {"first": {value: [value]}},
        ]
    return [
        *documents,
        {1: "int key", 2.5: "float key", None: "null key"},
        {True: "bool key", False: "another"},
        {"empty_list": [], "empty_map": {}, "nested": [[], {}, [[]], [{}], {"a": []}]},
        {"lists": [[1, [2, [3, "x"]]], [{"a": [1, {"b": {"c": [True]}}]}]]},
        {"items": [{"name": "a", "sub": {"k": [1, 2]}, "more": [{"x": None}]}, {"only": "one"}]},
        {"deep": {"a": {"b": {"c": {"d": {"e": "x" * 100}}}}}},
        {"deep": {"a": {"b": {"c": {"d": {"e": "word " * 22}}}}}},
        {"items": [{"long": "word " * 30, "n": 1}, {"lines": "a\nb\n", "m": ["x\ny"]}], "after": 1},
        {"a": [{"b": [{"c": "w" * 60 + " " + "w" * 70, "d": "x\n\n"}]}], "e": {"f": "x\n\n"}},
        {"blocks": {"clip": "a\n", "strip": "a", "keep": "a\n\n", "indented": "  a\nb\n", "end": "x\n\n"}},
        {"labels": shared, "selector": shared, "config": "a\nb\n"},
        {"labels": shared, "spec": {"template": {"labels": shared}}, "long": "word " * 30},
        {"zero": 0.0, "negative": -0.0, "again": 0.0},
        {"tuple": (1, 2)},
        {"set": {1, 2}},
        {"bytes": b"x"},
        {"str_subclass": type("Sub", (str,), {})("x")},
    ]


@pytest.mark.parametrize(("dumper", "allow_unicode"), FLAVOURS, ids=FLAVOUR_IDS)
@pytest.mark.parametrize("data", _documents())
def test_same_bytes_as_yaml_dump(data: Any, dumper: block_yaml.Dumper, allow_unicode: bool) -> None:
    try:
        expected = pyyaml(data, dumper, allow_unicode)
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            block_yaml.dump(data, dumper, allow_unicode=allow_unicode)
    else:
        assert block_yaml.dump(data, dumper, allow_unicode=allow_unicode) == expected


@pytest.mark.parametrize(("dumper", "allow_unicode"), FLAVOURS, ids=FLAVOUR_IDS)
@pytest.mark.parametrize("data", [{}, [], [1, {"a": 2}], "scalar", None, 3])
def test_other_documents_are_yaml_dumps(data: Any, dumper: block_yaml.Dumper, allow_unicode: bool) -> None:
    assert block_yaml.dump(data, dumper, allow_unicode=allow_unicode) == pyyaml(data, dumper, allow_unicode)


@pytest.mark.parametrize(
    "documents",
    [
        [{"a": [1, {"b": []}]}, {"c": "x: y"}],
        [{"a": 1}, {}],
        [{"a": 1}, [1, 2]],
        [{"a": "multi\nline"}, {"b": 2}],
        [{"a": "x"}, "scalar"],
        [],
    ],
)
def test_several_documents_as_safe_dump_all(documents: list[Any]) -> None:
    expected = yaml.safe_dump_all(
        documents, sort_keys=False, default_flow_style=False, width=120, explicit_start=True
    )
    assert block_yaml.dump_all(documents) == expected


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
    st.text("ab:-#{}[] '\"\n\u2028\x85é.0123yYnN", max_size=12),
    st.text("w ", min_size=100, max_size=130),
)
_key = st.one_of(
    _text,
    st.sampled_from(TRICKY),
    st.integers(),
    st.text("ab_-:. {}", min_size=1, max_size=10),
    st.text("k", min_size=95, max_size=130),
)
_tree = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_key, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_key, _tree, min_size=1, max_size=6), st.sampled_from(FLAVOURS))
def test_generated_documents(data: dict[Any, Any], flavour: tuple[block_yaml.Dumper, bool]) -> None:
    dumper, allow_unicode = flavour
    if dumper is ansible._Dumper:
        data = ansible.as_data(data)
    assert block_yaml.dump(data, dumper, allow_unicode=allow_unicode) == pyyaml(data, dumper, allow_unicode)


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
    for inventory in [ansible._inventory(plan.sites)] + [ansible._inventory([site]) for site in plan.sites]:
        assert block_yaml.dump(inventory, ansible._MappingDumper) == pyyaml(inventory, ansible._MappingDumper)


def test_every_manifest_and_cluster_file_of_an_example() -> None:
    result = validate_file(BLUEPRINTS / "examples" / "multi-carrier-grid.yaml")
    assert result.blueprint is not None
    plan = build_plan(result.blueprint, catalog())
    for site in plan.sites:
        for obj in site_objects(plan, site.name):
            assert block_yaml.dump(obj.body, manifests._Dumper, allow_unicode=False) == pyyaml(
                obj.body, manifests._Dumper, allow_unicode=False
            )
        for documents in (cluster.kubeadm_config(plan, site), cluster.calico_installation(site)):
            assert block_yaml.dump_all(documents) == yaml.safe_dump_all(
                documents, sort_keys=False, default_flow_style=False, width=120, explicit_start=True
            )


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
