"""Turning a copick config's ``pickable_objects`` into catalog objects: one by one, with unique labels.

copick accepts duplicate names and labels (and most configs leave every label at the default 1); the catalog
enforces both as UNIQUE. So:

- an object whose entry does not validate is skipped with the reason; a repeated name keeps its first definition;
- a label that is not a positive integer, or that an earlier object (or an object of the catalog that the config
  does not define) already holds, is replaced by a free label: one above the highest label in use, in config
  order. The assignment depends only on the config and those other catalog objects, so re-importing the same
  config assigns the same labels. Every replacement is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from copick_db.models.values import PickableObject

__all__ = ["ObjectPlan", "plan_objects"]


@dataclass
class ObjectPlan:
    """The objects to hold in the catalog, and what was changed or refused on the way.

    Attributes:
        objects: Valid objects in config order, labels made unique.
        notes: ``(subject, message)`` for each replaced label.
        skipped: ``(subject, reason)`` for each entry that could not be used.
    """

    objects: list[PickableObject] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def plan_objects(entries: list[Any], reserved_labels: set[int]) -> ObjectPlan:
    """Validate config entries and make their labels unique.

    Args:
        entries: The config's ``pickable_objects`` entries.
        reserved_labels: Labels held by catalog objects the config does not define.

    Returns:
        The plan.
    """
    plan = ObjectPlan()
    names: set[str] = set()
    candidates: list[tuple[PickableObject, Any, str]] = []
    for index, entry in enumerate(entries):
        subject = f"pickable_objects[{index}]"
        if not isinstance(entry, dict):
            plan.skipped.append((subject, f"not a JSON object: {entry!r}"))
            continue
        if isinstance(entry.get("name"), str):
            subject = f"{subject} {entry['name']!r}"
        label = entry.get("label", 1)
        try:
            obj = PickableObject.model_validate({**entry, "label": None})
        except ValidationError as exc:
            plan.skipped.append((subject, _first_error(exc)))
            continue
        if obj.name in names:
            plan.skipped.append((subject, f"a second object named {obj.name!r}; the first definition is kept"))
            continue
        names.add(obj.name)
        candidates.append((obj, label, subject))
    used = set(reserved_labels)
    wanted = [(obj, _as_label(label), label, subject) for obj, label, subject in candidates]
    highest = max([*used, *(lab for _, lab, _, _ in wanted if lab is not None)], default=0)
    for obj, label, raw, subject in wanted:
        if raw is None:
            obj.label = None
        elif label is not None and label not in used:
            obj.label = label
        else:
            highest += 1
            obj.label = highest
            reason = f"label {raw!r} is already used" if label is not None else f"label {raw!r} is not an integer >= 1"
            plan.notes.append((subject, f"{reason}; the object gets label {highest} (labels must be unique)"))
        if obj.label is not None:
            used.add(obj.label)
        plan.objects.append(obj)
    return plan


def _as_label(value: Any) -> int | None:
    """The label a config value means, if it is a usable one (copick coerces 2.0 to 2)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and value >= 1:
        return value
    return None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ())) or "entry"
    return f"invalid {where}: {error.get('msg', exc)}"
