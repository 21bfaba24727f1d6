"""The terminal chat loop: each typed line is a Message to the engine; replies are printed.

Works interactively and scripted: with stdin piped it echoes each answer so a transcript
reads like a conversation, and at the end of input it stops with the state saved, so the
next run carries on at the same question.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Awaitable, Callable, TextIO

from bot.types import Capabilities, ConversationRef, Message
from bot.ui import File, Reply, Text

from adapters.console.render import render

CAPABILITIES = Capabilities(can_take_files=True)  # no forms, no buttons, no message updates
EXPORTS = Path("var") / "exports"
Handler = Callable[[Message, Capabilities], Awaitable[list[Reply]]]


def keep_files(reply: Reply, folder: Path = EXPORTS) -> Reply:
    """The terminal's way to hand over a `File`: written under ./var/exports (readable by
    this account alone), its path said instead."""
    if not any(isinstance(b, File) for b in reply.blocks):
        return reply
    blocks = []
    for block in reply.blocks:
        if isinstance(block, File):
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / block.name
            path.touch(mode=0o600)
            path.write_bytes(block.data)
            block = Text(reply.word("file_saved", path=str(path)))
        blocks.append(block)
    return replace(reply, blocks=tuple(blocks))


def conversation(user: str, coalition: str | None) -> ConversationRef:
    extra = {"coalition": coalition} if coalition else {}
    return ConversationRef("console", "local", f"console:{user}", user, extra=extra)


async def run_chat(engine, ref: ConversationRef, stdin: TextIO, stdout: TextIO, interactive: bool,
                   outbox: Callable[[Callable[[Reply, str], None]], Awaitable[None]] | None = None) -> None:
    """`outbox(show)` delivers what the bot queued for this member (shown with a heading);
    it runs at the start and after each line."""

    def show_one(reply: Reply, heading: str) -> None:
        stdout.write(f"{heading}\n{render(reply, color=interactive)}\n\n")
        stdout.flush()

    async def deliver() -> None:
        if outbox is not None:
            await outbox(show_one)

    def show(replies: list[Reply]) -> None:
        for reply in replies:
            reply = keep_files(reply)
            if reply.to_coalition:  # the terminal has no channel: show what the coalition would see
                name = engine.config.coalition(reply.to_coalition).name
                stdout.write(reply.word("console_coalition", coalition=name) + "\n")
            elif reply.detail:  # a thread elsewhere; here simply what follows
                stdout.write(reply.word("console_details") + "\n")
            stdout.write(render(reply, color=interactive) + "\n\n")
        stdout.flush()

    actor = engine.actor(ref)
    coalition = engine.config.coalition(actor.coalition_id)
    banner = engine.texts(actor).t("ui.console_banner_tty" if interactive else "ui.console_banner", name=actor.name)
    stdout.write(f"Cocreate · {engine.config.movement.name} · {coalition.name}\n{banner}\n\n")
    show(await engine.current(ref, CAPABILITIES))
    await deliver()
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break  # end of input: the state is already saved
        text = line.rstrip("\r\n")
        if not interactive:
            stdout.write(f"> {text}\n")
        show(await engine.handle(Message(ref, f"console-{uuid.uuid4().hex}", text), CAPABILITIES))
        await deliver()
