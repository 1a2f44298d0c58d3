"""The environment-variable contract between deployments and the settings classes.

Collected generically: every ``BaseSettings`` subclass under ``framewire`` (env prefix plus
field names or aliases, nested settings classes included) and every ``FW_*`` name the code
reads directly from ``os.environ``. A deployment may set only names some class reads, and
must set every field without a default of the classes its command uses.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings

import framewire

PACKAGE = "framewire"
# Modules that act when imported (``python -m`` entry points) are not imported to look inside.
SKIPPED_MODULES = ("__main__",)


@dataclass(frozen=True)
class SettingsEnv:
    """The env names one settings class reads, and those it requires."""

    cls: type[BaseSettings]
    names: frozenset[str]
    required: frozenset[str]
    nested: tuple[type[BaseSettings], ...] = field(default=())


def framewire_modules() -> Iterator[str]:
    for info in pkgutil.walk_packages(framewire.__path__, f"{PACKAGE}."):
        if info.name.rsplit(".", 1)[-1] not in SKIPPED_MODULES:
            yield info.name


def settings_classes() -> list[type[BaseSettings]]:
    """Every BaseSettings subclass defined in a framewire module (importing them all)."""
    found: dict[str, type[BaseSettings]] = {}
    for name in framewire_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseSettings)
                and value.__module__.startswith(f"{PACKAGE}.")
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[k] for k in sorted(found)]


def _alias_names(alias: object) -> list[str]:
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [c for c in alias.choices if isinstance(c, str)]
    if isinstance(alias, AliasPath):
        return [str(alias.path[0])]
    return []


def _settings_type(annotation: object) -> type[BaseSettings] | None:
    candidates = [annotation, *getattr(annotation, "__args__", ())]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseSettings):
            return candidate
    return None


def settings_env(cls: type[BaseSettings]) -> SettingsEnv:
    """Env names of one class as pydantic-settings reads them (upper-cased, case-insensitive)."""
    config = cls.model_config
    prefix = str(config.get("env_prefix", ""))
    delimiter = config.get("env_nested_delimiter")
    names: set[str] = set()
    required: set[str] = set()
    nested: list[type[BaseSettings]] = []
    for field_name, info in cls.model_fields.items():
        aliases = _alias_names(info.validation_alias) or _alias_names(info.alias)
        env_names = aliases or [f"{prefix}{field_name}"]
        sub = _settings_type(info.annotation)
        if sub is not None:
            # A nested settings class built by default_factory reads its own prefix.
            nested.append(sub)
            names.update(n.upper() for n in env_names)  # the whole object as JSON
            if delimiter:
                names.update(_delimited(env_names[0].upper(), str(delimiter), sub))
            continue
        names.update(n.upper() for n in env_names)
        if info.is_required():
            required.add(env_names[0].upper())
    return SettingsEnv(cls, frozenset(names), frozenset(required), tuple(nested))


def _delimited(head: str, delimiter: str, cls: type[BaseSettings]) -> set[str]:
    """``HEAD<delim>FIELD`` names of a nested class's fields, recursively."""
    out: set[str] = set()
    for name, info in cls.model_fields.items():
        env = f"{head}{delimiter}{name.upper()}"
        out.add(env)
        sub = _settings_type(info.annotation)
        if sub is not None:
            out |= _delimited(env, delimiter, sub)
    return out


def direct_env_reads(root: Path | None = None) -> set[str]:
    """``FW_*`` names read straight from the environment (``os.environ.get("FW_X")`` etc.)."""
    base = root or Path(framewire.__file__).parent
    names: set[str] = set()
    for path in base.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names.update(_env_literal(node))
    return names


def _env_literal(node: ast.AST) -> list[str]:
    candidates: list[ast.expr] = []
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("get", "getenv", "pop", "setdefault"):
            candidates.append(node.args[0])
    elif isinstance(node, ast.Subscript):
        candidates.append(node.slice)
    return [
        c.value
        for c in candidates
        if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value.startswith("FW_")
    ]
