"""Render neutral replies as terminal text. Pure functions: a Reply in, a string out.

The console cannot open forms or take clicks, so the engine hands it one field at a
time; choices are numbered and can be answered by number or by name.
"""

from __future__ import annotations

import re

from bot.ui import Ask, Block, Buttons, Context, Divider, Field, File, Kind, Reply, Section, Text

_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")


def render(reply: Reply, color: bool = False) -> str:
    parts = [_block(block, color, reply) for block in reply.blocks]
    if reply.ask is not None:
        parts.append(render_ask(reply.ask, color))
    return "\n".join(p for p in parts if p)


def _style(text: str, color: bool) -> str:
    """*bold* becomes real bold on a terminal and plain text in a transcript."""
    return _BOLD.sub(lambda m: f"\033[1m{m.group(1)}\033[0m" if color else m.group(1), text)


def _block(block: Block, color: bool, reply: Reply | Ask) -> str:
    if isinstance(block, Text):
        return _style(block.text, color)
    if isinstance(block, Section):
        lines = [_style(block.text, color)] + [f"  {label}: {value}" for label, value in block.fields]
        return "\n".join(lines)
    if isinstance(block, Context):
        return f"  ({_style(block.text, color)})"
    if isinstance(block, Divider):
        return "-" * 40
    if isinstance(block, Buttons):
        return "  ".join(reply.word("console_button", label=b.label, command=b.command) for b in block.buttons)
    if isinstance(block, File):  # the chat saves it first (chat.keep_files); a transcript names it
        return f"[{block.name}]"
    raise TypeError(f"cannot render {block!r}")


def render_ask(ask: Ask, color: bool = False) -> str:
    question = ask.question
    index = ask.field_index or 0
    lines: list[str] = []
    if index == 0 and not ask.errors:
        if len(question.fields) > 1 or question.intro:
            lines.append(_style(f"*{question.title}*", color))
        lines.extend(_block(b, color, ask) for b in question.intro)
    field = question.fields[index]
    if len(question.fields) > 1:
        lines.append(f"({index + 1}/{len(question.fields)})")
    error = ask.errors.get(field.id)
    if error:
        lines.append(f"! {error}")
    lines.append(_style(field.label, color) + _hint(field, ask))
    lines.extend(_options(field))
    return "\n".join(lines)


def _hint(field: Field, ask: Ask) -> str:
    hints = []
    if field.kind is Kind.MULTI_CHOICE:
        hints.append(ask.word("many_hint"))
    elif field.kind is Kind.SCALE and field.scale_labels:
        low, high = field.scale_labels
        hints.append(ask.word("scale_ends", low=low, high=high))
    elif field.kind is Kind.DATE:
        hints.append(ask.word("date_hint", example=field.initial or "2026-12-01"))
    if field.hint:
        hints.append(field.hint)
    if not field.required:
        hints.append(ask.word("optional_hint"))
    return f" ({'; '.join(hints)})" if hints else ""


def _options(field: Field) -> list[str]:
    return [f"  {n}) {option.label}" for n, option in enumerate(field.options, 1)]
