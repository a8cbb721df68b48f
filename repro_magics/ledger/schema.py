"""Check a ledger's whole structure against its published JSON Schema, before anything uses it.

The schema is `ledger.schema.json` in this package (docs/ledger.schema.json is a
copy). It is compiled with fastjsonschema, which turns it into Python code: on
a ledger of 10,000 records it is about 28 times faster than jsonschema
(see docs/verify.md#the-ledgers-schema).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import cache
from importlib import resources
from math import prod
from typing import Any

import fastjsonschema

from ..exceptions import InvalidLedger

SCHEMA_FILE = "ledger.schema.json"

_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


class _TooLongInteger:
    """Where the JSON text held an integer too long for `int()`: kept so that its field can be named."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def parse_json(text: str) -> Any:
    """`json.loads`, except that an integer longer than Python converts is `InvalidLedger` naming its field.

    Raises `json.JSONDecodeError` (a `ValueError`) and `RecursionError` as `json.loads` does.
    """
    found: list[_TooLongInteger] = []

    def parse_int(digits: str) -> int | _TooLongInteger:
        try:
            return int(digits)
        except ValueError:
            found.append(_TooLongInteger(len(digits.lstrip("-"))))
            return found[-1]

    data = json.loads(text, parse_int=parse_int)
    if found:
        field = _field_holding(data, found[0], "data") or "data"
        raise InvalidLedger(
            f"{_field(field)} is a whole number of {found[0].digits} digits; "
            f"expected at most {integer_digits_limit()} digits"
        )
    return data


def integer_digits_limit() -> int:
    # sys.get_int_max_str_digits exists from Python 3.11 (and in security releases before); 0 means no limit.
    return int(getattr(sys, "get_int_max_str_digits", lambda: 4300)())


def _field_holding(data: Any, target: object, path: str) -> str | None:
    """`data.records[0].values.x`: where `target` sits in `data`, in the notation of fastjsonschema's names."""
    if data is target:
        return path
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        step = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        where = _field_holding(value, target, step)
        if where is not None:
            return where
    return None


def ledger_schema() -> dict[str, Any]:
    """The ledger's JSON Schema (draft 7)."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_ledger(data: Any) -> None:
    """Raise `InvalidLedger` naming the first field of `data` that the schema or the array shapes reject."""
    try:
        try:
            _validator()(data)
        except fastjsonschema.JsonSchemaValueException as error:
            raise InvalidLedger(_sentence(error)) from None
        _check_array_lengths(data)
    except RecursionError:
        raise InvalidLedger("its values are nested too deeply to read") from None


@cache
def _validator() -> Callable[[Any], Any]:
    return fastjsonschema.compile(_inline_leaf_definitions(ledger_schema()))


def _inline_leaf_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema, with each reference to a definition that refers to nothing replaced by the definition.

    fastjsonschema turns each reference into a function call that also formats
    the field's name; for the float of every stored element that was a third of
    the time.
    """
    definitions = schema["definitions"]
    leaves = {f"#/definitions/{name}": body for name, body in definitions.items() if "$ref" not in json.dumps(body)}

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"} and node["$ref"] in leaves:
                return leaves[node["$ref"]]
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


def _sentence(error: fastjsonschema.JsonSchemaValueException) -> str:
    """`records[0].values.x is "abc"; expected ...`: the field, and what the schema wanted there."""
    field = _field(error.name or "data")
    definition = error.definition if isinstance(error.definition, dict) else {}
    if error.rule == "required":
        wanted = [key for key in definition.get("required", []) if key not in (error.value or {})]
        return f"{field} lacks {_join(wanted)}"
    if error.rule == "additionalProperties":
        extra = sorted(set(error.value or {}) - set(definition.get("properties", {})))
        return f"{field} has fields it should not have: {_join(extra)}"
    return f"{field} is {_shown(error.value)}; expected {_expected(error.rule, definition, error)}"


def _field(name: str) -> str:
    path = name.removeprefix("data").removeprefix(".")
    return path or "the ledger's top level"


def _expected(rule: str | None, definition: dict[str, Any], error: fastjsonschema.JsonSchemaValueException) -> str:
    title = definition.get("title")
    if title and rule in {"type", "anyOf", "pattern", "enum"}:
        return str(title)
    if rule == "type":
        kinds = definition["type"] if isinstance(definition["type"], list) else [definition["type"]]
        return " or ".join(_TYPE_NAMES.get(str(kind), str(kind)) for kind in kinds)
    if rule == "enum":
        return "one of " + ", ".join(json.dumps(option) for option in definition["enum"])
    if rule == "const":
        return json.dumps(definition["const"])
    if rule == "minimum":
        return f"at least {definition['minimum']}"
    if rule == "maximum":
        return f"at most {definition['maximum']}"
    if rule == "minItems":
        return f"at least {definition['minItems']} items"
    if rule == "maxItems":
        return f"at most {definition['maxItems']} items"
    if rule == "pattern":
        return f"text matching {definition['pattern']}"
    if rule == "not":
        return "an array with either values or a summary, not both"
    return error.message.removeprefix(error.name or "").strip()


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _check_array_lengths(data: dict[str, Any]) -> None:
    """An array's stored elements must fill its shape: the comparison finds element positions from it."""
    for index, record in enumerate(data["records"]):
        for number, history in enumerate(record["histories"]):
            for metric, values in history.get("metrics", {}).items():
                for epoch, value in enumerate(values):
                    _check_value(value, f"records[{index}].histories[{number}].metrics.{metric}[{epoch}]")
        for name, value in record["values"].items():
            _check_value(value, f"records[{index}].values.{name}")


def _check_value(value: Any, field: str) -> None:
    if not isinstance(value, dict):
        return
    kind = value["type"]
    if kind == "array" and "values" in value and len(value["values"]) != prod(value["shape"]):
        raise InvalidLedger(
            f"{field}.values holds {len(value['values'])} elements; "
            f"expected {prod(value['shape'])}, to fill the shape {value['shape']}"
        )
    if kind == "list":
        for position, item in enumerate(value["items"]):
            _check_value(item, f"{field}[{position}]")
    elif kind == "dict":
        for key, item in value["items"].items():
            _check_value(item, f"{field}.{key}")
    elif kind == "model":
        for path, weight in value["weights"].items():
            _check_value(weight, f"{field}.weights.{path}")
    elif kind == "history":
        for metric, values in value["metrics"].items():
            for epoch, item in enumerate(values):
                _check_value(item, f"{field}.metrics.{metric}[{epoch}]")
