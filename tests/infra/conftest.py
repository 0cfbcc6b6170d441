"""Offline checks of infra/*.bicep: parse with pycep-parser and evaluate what can be.

The Bicep compiler cannot run here, so the templates are parsed with the pinned
pure-Python parser and the values the tests care about are evaluated by a small
evaluator: literals, parameters (defaults, or what the calling module passes), variables,
property access, string interpolation, ``union``, ``string``, ``loadJsonContent``,
``loadTextContent``, comparisons and ``?:``. Anything else (a module's outputs,
``uniqueString``, ...) evaluates to a :class:`Ref` naming the expression, so a test can
still check *which* value flows somewhere without knowing it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))

# What a deployment would pass for the parameters azd fills in (main.parameters.json).
SAMPLE_PARAMETERS = {"environmentName": "tagging-test", "location": "westeurope"}


@dataclass(frozen=True)
class Ref:
    """A value known only at deployment time, named by its expression."""

    expression: str

    def __str__(self) -> str:
        return "${" + self.expression + "}"


@cache
def parse(path: Path) -> dict[str, Any]:
    return BicepParser().parse(text=path.read_text(encoding="utf-8"))


def unquote_key(key: str) -> str:
    """pycep keeps the quotes of quoted object keys ('azd-env-name')."""
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == "'" else key


_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
_COMPARISONS = {
    "greater_than": lambda a, b: a > b,
    "greater_than_or_equals": lambda a, b: a >= b,
    "less_than": lambda a, b: a < b,
    "less_than_or_equals": lambda a, b: a <= b,
    "equals": lambda a, b: a == b,
    "not_equals": lambda a, b: a != b,
}


class Template:
    """One parsed .bicep file, evaluated with given parameter values."""

    def __init__(self, path: Path, arguments: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.tree = parse(path)
        self.parameters: dict[str, Any] = self.tree.get("parameters") or {}
        self.variables: dict[str, Any] = self.tree.get("variables") or {}
        self.resources: dict[str, Any] = self.tree.get("resources") or {}
        self.modules: dict[str, Any] = self.tree.get("modules") or {}
        self.outputs: dict[str, Any] = self.tree.get("outputs") or {}
        self.arguments = dict(arguments or {})
        self._resolving: set[str] = set()

    # -- names --------------------------------------------------------------------------
    def lookup(self, name: str) -> Any:
        if name in self.arguments:
            return self.arguments[name]
        if name in self.variables:
            if name in self._resolving:
                raise RecursionError(f"{self.path.name}: variable {name} refers to itself")
            self._resolving.add(name)
            try:
                return self.eval(self.variables[name]["value"])
            finally:
                self._resolving.discard(name)
        if name in self.parameters:
            declared = self.parameters[name]
            if "default" in declared:
                return self.eval(declared["default"])
            return Ref(name)
        return Ref(name)  # a resource, module or loop variable

    def is_name(self, text: str) -> bool:
        return any(
            text in names for names in (self.arguments, self.variables, self.parameters, self.resources, self.modules)
        )

    # -- expressions --------------------------------------------------------------------
    def eval(self, node: Any) -> Any:
        if isinstance(node, str):
            if self.is_name(node):
                return self.lookup(node)
            if "${" in node:
                return self._interpolate(node)
            return node
        if isinstance(node, list):
            return [self.eval(item) for item in node]
        if isinstance(node, dict):
            if set(node) == {"operator"}:
                return self._operator(node["operator"])
            if set(node) == {"function"}:
                return self._function(node["function"])
            return {unquote_key(k): self.eval(v) for k, v in node.items()}
        return node

    def _interpolate(self, text: str) -> Any:
        parts: list[Any] = []
        for inner in _INTERPOLATION.findall(text):
            parts.append(self._dotted(inner.strip()))
        if all(not isinstance(p, (Ref, dict, list)) for p in parts):
            values = iter(parts)
            return _INTERPOLATION.sub(lambda _: str(next(values)), text)
        values = iter(parts)
        return Ref(_INTERPOLATION.sub(lambda _: str(next(values)), text))

    def _dotted(self, expression: str) -> Any:
        """``a.b.c`` inside an interpolation; anything else is a Ref."""
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", expression):
            return Ref(expression)
        head, *rest = expression.split(".")
        value = self.lookup(head)
        for key in rest:
            value = value[key] if isinstance(value, dict) and key in value else Ref(f"{_name(value)}.{key}")
        return value

    def _operator(self, operator: dict[str, Any]) -> Any:
        kind, operands = operator["type"], operator["operands"]
        if kind == "property_accessor":
            base = self.eval(operands["operand_1"])
            key = operands["operand_2"]
            if isinstance(key, dict):  # a.b.c nests to the right
                return self._access_chain(base, key)
            return base[key] if isinstance(base, dict) and key in base else Ref(f"{_name(base)}.{key}")
        if kind == "conditional":
            condition = self.eval(operands["condition"])
            if isinstance(condition, bool):
                return self.eval(operands["true_value" if condition else "false_value"])
            return Ref(f"{_name(condition)} ? ... : ...")
        if kind == "not":
            value = self.eval(operands["bool_value"])
            return (not value) if isinstance(value, bool) else Ref(f"!{_name(value)}")
        if kind in _COMPARISONS:
            left, right = self.eval(operands["operand_1"]), self.eval(operands["operand_2"])
            if isinstance(left, Ref) or isinstance(right, Ref):
                return Ref(f"{_name(left)} {kind} {_name(right)}")
            return _COMPARISONS[kind](left, right)
        return Ref(kind)

    def _access_chain(self, base: Any, node: Any) -> Any:
        if isinstance(node, str):
            return base[node] if isinstance(base, dict) and node in base else Ref(f"{_name(base)}.{node}")
        if set(node) == {"operator"} and node["operator"]["type"] == "property_accessor":
            operands = node["operator"]["operands"]
            return self._access_chain(self._access_chain(base, operands["operand_1"]), operands["operand_2"])
        return Ref(f"{_name(base)}.<expression>")

    def _function(self, function: dict[str, Any]) -> Any:
        kind, parameters = function["type"], function.get("parameters") or {}
        if kind == "union":
            values = [self.eval(v) for v in parameters.values() if v is not None]
            if all(isinstance(v, dict) for v in values):
                merged: dict[str, Any] = {}
                for value in values:
                    merged.update(value)
                return merged
            return Ref("union(...)")
        if kind == "string":
            value = self.eval(parameters["value_to_convert"])
            if isinstance(value, bool):
                return "true" if value else "false"
            return value if isinstance(value, Ref) else str(value)
        if kind == "empty":
            value = self.eval(parameters["item_to_test"])
            return Ref("empty(...)") if isinstance(value, Ref) else not value
        if kind == "load_json_content":
            return json.loads((self.path.parent / parameters["file_path"]).read_text(encoding="utf-8"))
        if kind == "load_text_content":
            return (self.path.parent / parameters["file_path"]).read_text(encoding="utf-8")
        return Ref(f"{kind}(...)")

    # -- structure ----------------------------------------------------------------------
    def module(self, name: str) -> Template:
        """The local module ``name`` (a file under infra/), evaluated with the parameters this template passes it."""
        declared = self.modules[name]
        path = (self.path.parent / declared["detail"]["full"]).resolve()
        arguments = {key: self.eval(value) for key, value in declared["config"]["params"].items()}
        return Template(path, arguments)

    def module_params(self, name: str) -> dict[str, Any]:
        return {key: self.eval(value) for key, value in self.modules[name]["config"]["params"].items()}


def _name(value: Any) -> str:
    return value.expression if isinstance(value, Ref) else repr(value)


@pytest.fixture(scope="session")
def main() -> Template:
    return Template(INFRA / "main.bicep", SAMPLE_PARAMETERS)


@pytest.fixture(scope="session")
def api(main: Template) -> Template:
    return main.module("api")


@pytest.fixture(scope="session")
def storage(main: Template) -> Template:
    return main.module("storage")


@pytest.fixture(scope="session")
def rbac(main: Template) -> Template:
    return main.module("rbac")


@pytest.fixture(scope="session")
def monitoring(main: Template) -> Template:
    return main.module("monitoring")


@pytest.fixture(scope="session")
def workbook(main: Template) -> Template:
    return main.module("workbook")


@pytest.fixture(scope="session")
def app_settings(api: Template) -> dict[str, Any]:
    """The function app's app settings, as the template would set them."""
    (config,) = [c for c in api.module_params("site")["configs"] if c["name"] == "appsettings"]
    return config["properties"]
