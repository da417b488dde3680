"""indented_json writes the same text as json.dumps with an indent (the path it replaced for
the compiled JSON files), on hand-picked and generated data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigrid.render import indented_json

CASES: list[Any] = [
    {},
    [],
    "",
    0,
    None,
    {"a": {}, "b": [], "c": [[], [{}]], "d": {"e": {"f": [1, 2, {"g": None}]}}},
    ['quote " backslash \\ slash / tab \t newline \n', "é", "日本語", "🚀", "\u2028", "\x00\x1f\x7f"],
    [0, -1, 10**40, 1.5, -0.0, 1e-05, 1e16, 1.0, float("nan"), float("inf"), float("-inf")],
    [True, False, None, (1, "tuple"), ()],
    {1: "int", 2.5: "float", None: "null", "s": "str", float("nan"): "nan"},
    {False: "bool", 3: "int"},
    {"z": 1, "a": 2, "m": {"y": 1, "b": 2}},
    {"set": {1, 2}},
    {"bytes": b"x"},
    {"subclass": type("Sub", (str,), {})("x")},
    {("tuple", "key"): 1},
]


@pytest.mark.parametrize("data", CASES, ids=[str(i) for i in range(len(CASES))])
@pytest.mark.parametrize("indent", [1, 2])
@pytest.mark.parametrize("sort_keys", [False, True])
def test_same_text_as_json_dumps(data: Any, indent: int, sort_keys: bool) -> None:
    try:
        expected = json.dumps(data, indent=indent, sort_keys=sort_keys)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            indented_json.dumps(data, indent, sort_keys)
    else:
        assert indented_json.dumps(data, indent, sort_keys) == expected


def test_circular_data_is_refused_as_json_refuses_it() -> None:
    data: list[Any] = []
    data.append(data)
    with pytest.raises(ValueError, match="Circular reference"):
        indented_json.dumps(data)


_scalar = st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.none())
_key = st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
_tree = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_key, _tree, max_size=5), st.booleans())
def test_generated_data(data: dict[Any, Any], sort_keys: bool) -> None:
    try:
        expected = json.dumps(data, indent=2, sort_keys=sort_keys)
    except TypeError:
        return
    assert indented_json.dumps(data, sort_keys=sort_keys) == expected


def _lazy(data: Any) -> Any:
    """`data` with every dict and list made lazy (Members, Elements), keys in the order
    json.dumps with sort_keys writes them where they are all strings."""
    if type(data) is dict and all(type(key) is str for key in data):
        return indented_json.Members((key, _lazy(data[key])) for key in sorted(data))
    if type(data) is list:
        return indented_json.Elements(_lazy(item) for item in data)
    return data


@pytest.mark.parametrize("data", CASES, ids=[str(i) for i in range(len(CASES))])
@pytest.mark.parametrize("sort_keys", [False, True])
def test_chunks_join_to_the_same_text(data: Any, sort_keys: bool) -> None:
    try:
        expected = json.dumps(data, indent=2, sort_keys=sort_keys)
        plain = {"plain": data, "lazy": data, "list": [data, data]}
        expected_lazy = (
            json.dumps(data, indent=2, sort_keys=True),
            json.dumps(plain, indent=2, sort_keys=True),
        )
    except (TypeError, ValueError):
        return
    assert "".join(indented_json.chunks(data, sort_keys=sort_keys)) == expected
    # Lazy members and items, and a lazy value among plain ones.
    assert "".join(indented_json.chunks(_lazy(data), sort_keys=True)) == expected_lazy[0]
    mixed = {"plain": data, "lazy": _lazy(data), "list": [data, _lazy(data)]}
    assert "".join(indented_json.chunks(mixed, sort_keys=True)) == expected_lazy[1]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), _tree, max_size=5), st.integers(1, 4))
def test_generated_lazy_data_in_chunks(data: dict[str, Any], indent: int) -> None:
    expected = json.dumps(data, indent=indent, sort_keys=True)
    assert "".join(indented_json.chunks(_lazy(data), indent, sort_keys=True)) == expected


def test_chunks_are_bounded_and_lazy_keys_must_come_sorted() -> None:
    data = indented_json.Elements({"key": "x" * 100, "n": n} for n in range(10_000))
    pieces = list(indented_json.chunks(data))
    assert max(map(len, pieces)) < 2 * indented_json.CHUNK and len(pieces) > 10
    with pytest.raises(ValueError, match="not sorted"):
        "".join(indented_json.chunks(indented_json.Members([("b", 1), ("a", 2)]), sort_keys=True))
