"""The settings reference in docs/configuration.md, made from the settings models themselves."""

from __future__ import annotations

from pydantic import BaseModel

from village_brain.core.config import Settings

BEGIN = "<!-- settings reference: made by `village-brain config --reference` -->"
END = "<!-- end of settings reference -->"


def settings_reference() -> str:
    lines = [BEGIN]
    _section(Settings, "", lines)
    lines.append(END)
    return "\n".join(lines) + "\n"


def _shown(default: object) -> str:
    if default is None:
        return "unset"
    if isinstance(default, list) and default and all(isinstance(m, BaseModel) for m in default):
        # A list of tables (the report categories) by the codes that name them.
        return "`" + ", ".join(str(getattr(m, "code", "…")) for m in default) + "`"
    return f"`{default}`"


def _section(model: type[BaseModel], prefix: str, lines: list[str]) -> None:
    plain = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            continue
        default = _shown(field.default)
        plain.append(f"| `{prefix}{name}` | {default} | {field.description or ''} |")
    if plain:
        title = f"`[{prefix.rstrip('.')}]`" if prefix else "top level"
        lines += ["", f"### {title}", "", "| setting | default | meaning |", "|---|---|---|"]
        lines += plain
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _section(annotation, f"{prefix}{name}.", lines)
