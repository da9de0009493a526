"""The core is composed, not inherited (docs/architecture.md, "Steps"): no class in `bot/` extends
another class of the project, except exceptions, enums, protocols and the ORM base."""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil

import pytest

import bot
from bot.store.schema import Base

PROJECT = ("bot", "actions", "handlers")


def _allowed(base: type) -> bool:
    return (
        issubclass(base, BaseException)
        or issubclass(base, enum.Enum)
        or base is Base
        or bool(getattr(base, "_is_protocol", False))
    )


def project_bases() -> list[str]:
    """`module.Class extends module.Base` for every class of `bot/` that extends a project class."""
    found = []
    for module_info in pkgutil.walk_packages(bot.__path__, "bot."):
        if ".migrations." in module_info.name:  # Alembic's scripts run only under Alembic
            continue
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for base in cls.__bases__:
                if base.__module__.split(".")[0] in PROJECT and not _allowed(base):
                    found.append(
                        f"{cls.__module__}.{cls.__qualname__} extends {base.__module__}.{base.__qualname__}"
                    )
    return found


def test_no_class_of_the_core_inherits_behaviour_from_another() -> None:
    assert project_bases() == []


def test_the_check_sees_a_step_that_inherits_from_another(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.steps.inventory import step

    class Planted(step.InventoryStep):
        pass

    Planted.__module__, Planted.__qualname__ = step.__name__, "Planted"
    monkeypatch.setattr(step, "Planted", Planted, raising=False)
    assert project_bases() == [
        "bot.steps.inventory.step.Planted extends bot.steps.inventory.step.InventoryStep"
    ]
