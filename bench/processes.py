"""The benchmarks' server processes: started, watched (CPU, logs) and stopped, and the end of
a report that says which requests failed and what the servers logged."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import select
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from bench.common import SetupError


def die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the benchmark dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_until_signalled(app, banner: Callable[[int], str], *closing) -> None:
    """Serve `app` (aiohttp) on a free local port, print `banner(port)` (the line the benchmark
    waits for), and run until SIGINT or SIGTERM; then close it and each of `closing`."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(banner(runner.addresses[0][1]), flush=True)
    try:
        await until_signalled()
    finally:
        await runner.cleanup()
        for close in closing:
            await close()


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path
    ports: list[int] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux /proc; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    def logs(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def start_child(name: str, argv: list[str], ready: str, env: dict[str, str], workdir: Path,
                children: list[Child], timeout: float = 30.0) -> Child:
    log = workdir / f"{name}.log"
    # app.yaml's parse cache (bot/yaml_cache.py) in the run's directory, not the user's ~/.cache.
    env = {**env, "COCREATE_CACHE_DIR": env.get("COCREATE_CACHE_DIR") or str(workdir / "cache")}
    with log.open("w") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, text=True,
            cwd=workdir, env=env,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the children in order
            preexec_fn=die_with_parent,
        )
    child = Child(name, process, log)
    children.append(child)
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([process.stdout], [], [], min(left, 0.5))
        if readable:
            line = process.stdout.readline()
            if line.startswith(ready):
                child.ports = [int(p) for p in line[len(ready):].split()]
                return child
            if not line:
                break
        elif process.poll() is not None:
            break
    raise SetupError(f"{name} did not start (exit {process.poll()}):\n{child.logs()[-3000:]}")


def stop_children(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    for child in children:
        try:
            child.process.wait(timeout=15)  # cocreate lets acknowledged work finish (up to 10 s)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
        if child.process.stdout:
            child.process.stdout.close()


def print_failures(rounds: Iterable[Iterable[object]], warmup_errors: Counter, children: list[Child],
                   summary: Callable[[str], list[str]]) -> int:
    """Print the requests not answered as expected (per phase: `case`, `server`, `errors`) and
    what each server logged (`summary` of its stderr); return how many requests failed."""
    rounds = [list(phases) for phases in rounds]
    failed = sum(p.error_count for phases in rounds for p in phases) + sum(warmup_errors.values())
    for phases in rounds:
        for p in phases:
            if p.errors:
                print(f"  errors, {p.case} / {p.server}: {dict(p.errors)}")
    if warmup_errors:
        print(f"  errors during warm-up: {dict(warmup_errors)}")
    for child in children:
        lines = summary(child.logs())
        if lines:
            print(f"\n{child.name} logged (stderr, counted):")
            print("\n".join(lines))
    return failed
