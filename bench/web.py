"""How fast is the web chat, compared with a bare aiohttp handler?

The web chat (adapters/web/app.py) draws a signed-in member's conversation on the server
(GET /chat: the session and the latest entries, the speaker and the open question, Jinja2) and answers a
form post (POST /chat: the engine handles what was typed, the exchange is kept, 303 to /chat).
This measures both at a fixed concurrency, one signed-in member per concurrent client, against
two servers that each run as their own process:

- bare: a tiny aiohttp app that returns a small HTML page for GET /chat and reads the form
  and answers 303 for POST /chat (the floor: aiohttp's own HTTP work, nothing else);
- cocreate: the real `cocreate serve` on a fresh SQLite file migrated with `cocreate db
  upgrade`, config tests/data/app.yaml, with members signed in through the real routes
  (a `web` sign-in link and an invite link, as people do).

The load generator is this script, in its own process. The aim: the chat page's p99 under
50 ms, and throughput at least half of the bare handler's (page and post).

    .venv/bin/python bench/web.py            # defaults: 3 rounds of 8 s per case and server
    .venv/bin/python bench/web.py --quick    # smoke run: 1 round of 2 s per case and server

See bench/README.md for how to read the output. Exit status: 0 when every request was answered
as expected (whether or not the aim was met), 1 when some were not, 2 when a server or the
sign-ins could not be set up, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import SetupError, Timed, interrupted_on_sigterm  # noqa: E402
from bench.processes import Child, print_failures, start_child, stop_children, serve_until_signalled  # noqa: E402

APP_YAML = ROOT / "tests" / "data" / "app.yaml"
LEADER = "lea"  # leader of harbour in tests/data/app.yaml: signs in with `web`, hands out the invite
SECTORS = ("public", "business", "civil_society", "education", "citizen", "other")
TEXT = "status"  # asks nothing: the engine answers and the member's conversation grows by two entries
from adapters.web.app import HEADERS as BARE_HEADERS, TRANSCRIPT  # noqa: E402  (the page's size and headers)
CASES = ("page", "post")
SERVERS = ("bare", "cocreate")
PAGE_P99_MS = 50.0
THROUGHPUT_SHARE = 0.5
SESSION_COOKIE, CSRF_COOKIE = "cocreate_session", "cocreate_csrf"

CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]{32})"')
ACTION_FIELD = re.compile(r'name="action" value="([^"]+)"')
ENTRY = re.compile(r'<li class="msg (?:member|bot)"')
SIGNIN_LINK = re.compile(r"(https?://\S+/signin/[\w-]+)")
JOIN_LINK = re.compile(r"(https?://\S+/join/[\w-]+)")  # the first: the link, then its QR code


# ====================================================================== the bare server


BARE_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Conversation</title></head>
<body>
<main id="main">
<ol class="conversation"><li class="msg bot"><p>Hello.</p></li></ol>
<form class="say" method="post" action="/chat">
<input type="hidden" name="csrf" value="{csrf}">
<input type="text" name="text"><button type="submit">Send</button>
</form>
</main>
</body>
</html>
"""


async def serve_bare() -> None:
    """The floor: GET /chat is a small fixed page, POST /chat reads the form and says 303."""
    from aiohttp import web

    csrf = secrets.token_hex(16)
    page = BARE_PAGE.format(csrf=csrf)

    async def chat(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers=BARE_HEADERS)

    async def post(request: web.Request) -> web.Response:
        await request.post()  # every form handler reads its body
        raise web.HTTPSeeOther("/chat#latest")

    app = web.Application()
    app.router.add_get("/chat", chat)
    app.router.add_post("/chat", post)
    await serve_until_signalled(app, lambda port: f"bare: listening on port {port}")


# ====================================================================== signing members in


@dataclass
class Member:
    name: str
    session: str  # the cocreate_session cookie
    csrf: str  # the session's CSRF token (in every form of the chat page)
    entries: int = 0  # entries drawn on their page once signed in (and through the join flow)


def _cookie(response, name: str) -> str:
    morsel = response.cookies.get(name)
    if morsel is None or not morsel.value:
        raise SetupError(f"{response.method} {response.url.path} answered {response.status} without cookie {name}")
    return morsel.value


async def _chat_page(http, base: str, session: str) -> str:
    async with http.get(f"{base}/chat", headers={"Cookie": f"{SESSION_COOKIE}={session}"},
                        allow_redirects=False) as response:
        text = await response.text()
        if response.status != 200:
            raise SetupError(f"GET /chat answered {response.status} for a fresh session")
        return text


async def _post_chat(http, base: str, member: Member, fields: dict) -> None:
    body = urlencode({"csrf": member.csrf, "event": secrets.token_hex(16), **fields})
    async with http.post(f"{base}/chat", data=body, allow_redirects=False,
                         headers={"Cookie": f"{SESSION_COOKIE}={member.session}",
                                  "Content-Type": "application/x-www-form-urlencoded"}) as response:
        await response.read()
        if response.status != 303:
            raise SetupError(f"POST /chat {fields} answered {response.status}, not 303")


async def _signed_in(http, base: str, name: str, session: str) -> Member:
    page = await _chat_page(http, base, session)
    found = CSRF_FIELD.search(page)
    if not found:
        raise SetupError(f"the chat page of {name} has no CSRF field")
    return Member(name, session, found.group(1))


async def sign_in(http, base: str, link: str) -> Member:
    """A one-time sign-in link, as a browser uses it: the page, then its button."""
    path = link[link.index("/signin/"):]
    async with http.get(f"{base}{path}") as response:
        await response.read()
        csrf = _cookie(response, CSRF_COOKIE)
    async with http.post(f"{base}{path}", data={"csrf": csrf}, allow_redirects=False,
                         headers={"Cookie": f"{CSRF_COOKIE}={csrf}"}) as response:
        await response.read()
        if response.status != 303:
            raise SetupError(f"POST {path[:16]}... answered {response.status}, not 303")
        session = _cookie(response, SESSION_COOKIE)
    return await _signed_in(http, base, LEADER, session)


async def join(http, base: str, link: str, n: int) -> Member:
    """A newcomer through the invite link: the form, then their seat at the table (the join
    flow's profile, and "not right now" to mapping a treasure), so they are idle members and
    `status` is answered by the status flow, not taken as an answer to an open question."""
    path = link[link.index("/join/"):]
    name = f"Bench Member {n:02d}"
    async with http.get(f"{base}{path}") as response:
        await response.read()
        csrf = _cookie(response, CSRF_COOKIE)
    async with http.post(f"{base}{path}", data={"csrf": csrf, "name": name}, allow_redirects=False,
                         headers={"Cookie": f"{CSRF_COOKIE}={csrf}"}) as response:
        await response.read()
        if response.status != 303:
            raise SetupError(f"POST /join answered {response.status}, not 303 (joins per hour too low?)")
        session = _cookie(response, SESSION_COOKIE)
    member = await _signed_in(http, base, name, session)
    answers = {"join:profile": {"f-sector": SECTORS[n % len(SECTORS)], "f-organisation": f"Bench org {n}",
                                "f-brings": "Time, a meeting room and contacts in the neighbourhood."},
               "join:offer": {"f-map": "no"}}
    for _ in range(len(answers) + 1):
        page = await _chat_page(http, base, session)
        found = ACTION_FIELD.search(page)
        if not found:
            member.entries = len(ENTRY.findall(page))
            return member
        action = found.group(1)
        step = action.rsplit(":", 1)[0]
        if step not in answers:
            raise SetupError(f"{name}: unexpected question {action} after joining")
        await _post_chat(http, base, member, {"action": action, **answers[step]})
    raise SetupError(f"{name}: still asked a question after answering the join flow")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def links(cocreate: Path, env: dict, workdir: Path) -> tuple[str, str]:
    """The leader's own sign-in link and an invite link, from the terminal chat."""
    chatted = subprocess.run([str(cocreate), "chat", "--user", LEADER], input="web\ninvite\n", cwd=workdir,
                             env=env, capture_output=True, text=True, timeout=120)
    signin, invite = SIGNIN_LINK.search(chatted.stdout), JOIN_LINK.search(chatted.stdout)
    if chatted.returncode or not signin or not invite:
        raise SetupError(f"`cocreate chat --user {LEADER}` gave no links (exit {chatted.returncode}):\n"
                         f"{chatted.stdout[-2000:]}{chatted.stderr[-2000:]}")
    return signin.group(1), invite.group(1)


async def sign_in_members(base: str, signin: str, invite: str, count: int) -> list[Member]:
    import aiohttp

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=30)) as http:
        leader = await sign_in(http, base, signin)
        leader.entries = len(ENTRY.findall(await _chat_page(http, base, leader.session)))
        joined = []
        for start in range(1, count, 10):  # ten newcomers at a time
            joined += await asyncio.gather(*(join(http, base, invite, n) for n in range(start, min(start + 10, count))))
    return [leader, *joined]


# ====================================================================== load


@dataclass
class Phase(Timed):
    body_bytes: int = 0  # bytes of the answers' bodies, summed
    server_cpu: float = 0.0  # user + system
    server_sys: float = 0.0  # of which in the kernel (system calls: sockets, thread wake-ups)
    generator_cpu: float = 0.0

    def stats(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {"p50": self.pct(50), "p95": self.pct(95), "p99": self.pct(99), "max": 1000 * max(self.latencies),
                "rps": self.n / self.wall, "srv_cpu": 1000 * self.server_cpu / n,
                "gen_cpu": 1000 * self.generator_cpu / n, "busy": self.server_cpu / self.wall,
                "sys": self.server_sys / self.server_cpu if self.server_cpu else 0.0,
                "bytes": self.body_bytes / n}


def _form(member: Member) -> bytes:
    return urlencode({"csrf": member.csrf, "event": secrets.token_hex(16), "text": TEXT}).encode()


async def load(session, url: str, case: str, members: list[Member], concurrency: int,
               seconds: float | None = None, order: list[Member] | None = None):
    """`concurrency` clients sending requests back to back: for `seconds`, client w as member
    w (mod the members; every request started before the end is counted), or one request per
    item of `order`, as that member. Posts are not followed to the page they redirect to."""
    latencies: list[float] = []
    errors: Counter = Counter()
    sizes = [0]
    clock = time.perf_counter
    handed = [0]  # requests handed out, with `order`
    expected = 200 if case == "page" else 303

    async def client(w: int) -> None:
        member = members[w % len(members)]
        while True:
            if order is not None:
                if handed[0] >= len(order):
                    return
                member = order[handed[0]]
                handed[0] += 1
            elif clock() >= deadline:
                return
            cookie = f"{SESSION_COOKIE}={member.session}"
            page_headers = {"Cookie": cookie}
            post_headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
            started = clock()
            try:
                if case == "page":
                    request = session.get(url, headers=page_headers, allow_redirects=False)
                else:
                    request = session.post(url, data=_form(member), headers=post_headers, allow_redirects=False)
                async with request as response:
                    body = await response.read()
                    if response.status != expected:
                        errors[f"HTTP {response.status}"] += 1
            except Exception as error:  # noqa: BLE001 - every failure is counted, none stops the run
                errors[type(error).__name__] += 1
                body = b""
            latencies.append(clock() - started)
            sizes[0] += len(body)

    started = clock()
    deadline = started + (seconds or 0)
    await asyncio.gather(*(client(w) for w in range(concurrency)))
    return latencies, errors, clock() - started, sizes[0]


def cpu_times(child: Child) -> tuple[float, float]:
    """User and system CPU seconds of a server so far, all its threads (Linux /proc)."""
    try:
        fields = Path(f"/proc/{child.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


async def settle(child: Child, quiet: float = 0.3, timeout: float = 10.0) -> None:
    """Wait until the server uses (almost) no CPU for `quiet` seconds: nothing of one phase
    (a WAL checkpoint, a scheduler tick) spills into the next."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = child.cpu_seconds()
        await asyncio.sleep(quiet)
        if child.cpu_seconds() - before <= 0.05 * quiet:
            return


def warmup_posts(args, member: Member) -> int:
    """Posts that fill the member's page (two entries each), plus --warmup-posts more."""
    return max(0, math.ceil((TRANSCRIPT - member.entries) / 2)) + args.warmup_posts


def _interleave(queues: list[list[Member]]) -> list[Member]:
    """One post of each member in turn, so no member's posts come back to back."""
    out = []
    for turn in range(max(map(len, queues), default=0)):
        out += [queue[turn] for queue in queues if turn < len(queue)]
    return out


@dataclass
class Target:
    name: str
    base: str
    child: Child


@dataclass
class Steady:
    entries: list[int] = field(default_factory=list)  # entries drawn per member's page
    bytes: list[int] = field(default_factory=list)
    asking: int = 0  # pages with an open question (should be 0: `status` asks nothing)


async def steady_pages(session, base: str, members: list[Member]) -> Steady:
    steady = Steady()
    for member in members:
        async with session.get(f"{base}/chat", headers={"Cookie": f"{SESSION_COOKIE}={member.session}"}) as response:
            page = await response.text()
        steady.entries.append(len(ENTRY.findall(page)))
        steady.bytes.append(len(page.encode()))
        steady.asking += bool(ACTION_FIELD.search(page))
    return steady


async def run(args, targets: dict[str, Target], members: list[Member]):
    import aiohttp

    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    warmup_errors: Counter = Counter()
    rounds: list[list[Phase]] = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(),
                                     auto_decompress=False) as session:

        async def phase(case: str, server: str, seconds: float | None = None,
                        order: list[Member] | None = None) -> Phase:
            target = targets[server]
            await settle(target.child)
            (user, system), gen_before = cpu_times(target.child), sum(os.times()[:2])
            latencies, errors, wall, size = await load(session, f"{target.base}/chat", case, members,
                                                       args.concurrency, seconds, order)
            user_after, system_after = cpu_times(target.child)
            return Phase(case, server, latencies, errors, wall, size, user_after + system_after - user - system,
                         system_after - system, sum(os.times()[:2]) - gen_before)

        # Warm-up: every member posts until their page draws a full transcript (the page's
        # steady size: later posts change which entries it draws, not how many), then each
        # case runs once per server, untimed.
        order = _interleave([[m] * warmup_posts(args, m) for m in members])
        print(f"warming up: {len(order)} posts (until every page draws {TRANSCRIPT} entries), then "
              f"{args.warmup_seconds:g} s per case and server...", flush=True)
        started = time.monotonic()
        warmup_errors.update((await phase("post", "cocreate", order=order)).errors)
        print(f"  {len(order)} posts in {time.monotonic() - started:.1f} s", flush=True)
        for server in SERVERS:
            for case in CASES:
                warmup_errors.update((await phase(case, server, seconds=args.warmup_seconds)).errors)
        steady = await steady_pages(session, targets["cocreate"].base, members)

        for r in range(args.rounds):
            print(f"round {r + 1} of {args.rounds}...", flush=True)
            order = SERVERS if r % 2 == 0 else SERVERS[::-1]  # alternate who goes first
            phases = []
            for case in CASES:
                for server in order:
                    phases.append(await phase(case, server, seconds=args.seconds))
            rounds.append(phases)
        after = await steady_pages(session, targets["cocreate"].base, members)
    return rounds, warmup_errors, steady, after


# ====================================================================== profile


def profile(args, targets: dict[str, Target], members: list[Member]) -> None:
    """One more phase per case against cocreate, sampled by py-spy (apart from the tables:
    sampling costs the server some CPU), and where its time went."""
    spy = shutil.which(args.py_spy)
    if not spy:
        print(f"\nprofile: {args.py_spy} not found (pip install py-spy); skipped")
        return
    import aiohttp

    args.profile.mkdir(parents=True, exist_ok=True)
    seconds = max(args.seconds, 8.0)
    pid = targets["cocreate"].child.process.pid
    for case in CASES:
        raw = args.profile / f"cocreate-{case}.txt"
        sampler = subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--rate", str(PROFILE_RATE), "--threads", "--idle",
             "--format", "raw", "--output", str(raw), "--duration", str(math.ceil(seconds) + 2)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)  # py-spy attaches

        async def drive() -> Phase:
            connector = aiohttp.TCPConnector(limit=args.concurrency)
            async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
                latencies, errors, wall, size = await load(session, f"{targets['cocreate'].base}/chat", case,
                                                           members, args.concurrency, seconds=seconds)
            return Phase(case, "cocreate", latencies, errors, wall, size)

        measured = asyncio.run(drive())
        try:
            _, err = sampler.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            sampler.kill()
            _, err = sampler.communicate()
        if sampler.returncode or not raw.exists():
            print(f"\nprofile: py-spy failed (exit {sampler.returncode}): {err.strip()[-500:]}")
            return
        s = measured.stats()
        print(f"\nProfile of cocreate, {case}: {measured.n} requests in {measured.wall:.1f} s ({s['rps']:.0f} req/s, "
              f"p50 {s['p50']:.0f} ms, p99 {s['p99']:.0f} ms while sampled), py-spy at {PROFILE_RATE}/s; "
              f"stacks in {raw}")
        print("\n".join(hot_spots(raw, measured, args.top)))


PROFILE_RATE = 100  # samples a second (py-spy pauses the server for each: more slows it down)
_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>.+?)(?::(?P<line>\d+))?\)$")
_THREAD = re.compile(r"^thread \(\w+\): ?(?P<name>.*)$")
_IDLE = ("select (selectors.py", "EpollSelector.select (selectors.py", "poll (")
_PROJECT = ("adapters/", "bot/", "storage/", "flows/")
_ENTRY_POINTS = ("Template.render (jinja2/", "AsyncConnection.execute (sqlalchemy/", "AsyncEngine.begin (sqlalchemy/",
                 "Result.all (sqlalchemy/", "json.loads", "JSONDecoder.decode (json/")


def hot_spots(raw: Path, measured: Phase, top: int) -> list[str]:
    """From py-spy's collapsed stacks (--threads --idle): how busy the event loop was, where
    its busy samples went (ms per request, inclusive: project code and the libraries' entry
    points; and own time), and what the other threads (aiosqlite's workers) were doing."""
    loop_total, loop_idle = 0, 0
    inclusive, own, others = Counter(), Counter(), Counter()
    other_total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        parts = stack.split(";")
        thread = _THREAD.match(parts[0])
        name = thread.group("name") if thread else ""
        frames = [_frame(f) for f in parts[1:] if f] if thread else [_frame(f) for f in parts]
        if name not in ("MainThread", ""):
            other_total += n
            others[f"{name.split(' ')[0]}: {frames[-1] if frames else '?'}"] += n
            continue
        loop_total += n
        if frames and frames[-1].startswith(_IDLE):
            loop_idle += n
            continue
        if frames:
            own[frames[-1]] += n
        for f in {_function(f) for f in frames}:
            if any(p in f for p in _PROJECT) or f.startswith(_ENTRY_POINTS):
                inclusive[f] += n
    if not loop_total:
        return ["  no samples of the event loop's thread"]
    busy = loop_total - loop_idle
    per_request = 1000 / PROFILE_RATE / max(measured.n, 1)  # ms of one sample, spread over the requests
    lines = [f"  event loop thread: busy {100 * busy / loop_total:.0f}% of {loop_total} samples = "
             f"{busy * per_request:.1f} ms per request (waiting in select: {100 * loop_idle / loop_total:.0f}%)",
             "  inclusive, ms per request (% of busy samples):"]
    skip = ("main (bot/cli.py", "serve (bot/", "_serve (bot/", "cli (bot/cli.py")
    for f, n in [(f, n) for f, n in inclusive.most_common() if not f.startswith(skip)][:top]:
        lines.append(f"    {n * per_request:6.2f}  {100 * n / max(busy, 1):4.0f}%  {f}")
    lines.append("  own time (the frame on top), ms per request:")
    for f, n in own.most_common(min(top, 12)):
        lines.append(f"    {n * per_request:6.2f}  {100 * n / max(busy, 1):4.0f}%  {f}")
    if other_total:
        lines.append(f"  other threads ({other_total} samples; the frame on top; the worker line with tx.get() is waiting):")
        for f, n in others.most_common(6):
            lines.append(f"    {n * per_request:6.2f}  {f}")
    return lines


def _function(frame: str) -> str:
    """A frame without its line number: "f (path:12)" -> "f (path)"."""
    return re.sub(r":\d+\)$", ")", frame)


def _frame(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = m.group("file")
    for marker in ("site-packages/", str(ROOT) + "/", "/lib/python3.11/", "/lib/python3.12/", "/lib/python3.13/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({path}:{m.group('line')})" if m.group("line") else f"{m.group('func')} ({path})"


# ====================================================================== report


def table(rows: list[tuple[str, str, int, str, dict]]) -> str:
    head = (f"  {'case':<6} {'server':<9} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50':>7} {'p95':>7} "
            f"{'p99':>7} {'max':>7} {'srv CPU':>8} {'sys':>4} {'busy':>5} {'gen CPU':>8} {'bytes':>6}")
    lines = [head, "  " + "-" * (len(head) - 2)]
    for case, server, n, errors, s in rows:
        lines.append(f"  {case:<6} {server:<9} {n:>8} {errors:>6} {s['rps']:>7.0f} {s['p50']:>7.1f} {s['p95']:>7.1f} "
                     f"{s['p99']:>7.1f} {s['max']:>7.1f} {s['srv_cpu']:>8.2f} {100 * s['sys']:>3.0f}% {100 * s['busy']:>4.0f}% "
                     f"{s['gen_cpu']:>8.2f} {s['bytes']:>6.0f}")
    return "\n".join(lines)


STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
ROUTINE = ("Slack: off", "Teams: off", "serving on http", "shutting down", "now runs the scheduler",
           "has no text for")


def log_summary(text: str) -> list[str]:
    """What a server logged beyond its start-up lines, counted."""
    lines = Counter()
    for line in text.splitlines():
        if STAMP.match(line):
            message = STAMP.sub("", line)
            if not any(r in message for r in ROUTINE):
                lines[re.sub(r"\d+", "N", message)[:150]] += 1
        elif line.startswith("Traceback") or re.match(r"^[A-Za-z_][\w.]*(Error|Exception)\b", line):
            lines["  " + line[:150]] += 1
    return [f"  {count:>5} x {line}" for line, count in lines.most_common(8)]


def report(args, rounds: list[list[Phase]], warmup_errors: Counter, steady: Steady, after: Steady,
           members: list[Member], children: list[Child]) -> int:
    print()
    print("Web chat: GET /chat (the page) and POST /chat (`status`, answered 303) -- cocreate vs a bare aiohttp handler")
    print(f"  machine: nproc={os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), "
          f"Python {platform.python_version()}, {platform.platform()}, "
          f"load avg before report {os.getloadavg()[0]:.2f}")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("aiohttp", "jinja2", "sqlalchemy", "aiosqlite"))
    print(f"  {versions}; SQLite; cocreate at {revision()}")
    print(f"  concurrency {args.concurrency}, {len(members)} signed-in members (client w is member w mod "
          f"{len(members)}), {args.rounds} round{'s' if args.rounds > 1 else ''} of {args.seconds:g} s per case and "
          f"server")
    print(f"  the page draws {_spread(steady.entries)} entries ({_spread(steady.bytes)} bytes) after the warm-up, "
          f"{_spread(after.entries)} entries ({_spread(after.bytes)} bytes) at the end; "
          f"pages with an open question: {steady.asking} / {after.asking}")
    print("  NOTE: one noisy 2-core machine; the load generator (this process) shares the CPUs with the server")
    print("        under test: compare the two servers within a round, not these numbers with other machines.")
    print("  latencies in ms, from sending the request to having read the whole answer; srv CPU / gen CPU:")
    print("  CPU ms per request of the server (all its threads; sys: the kernel's share) and of the load")
    print("  generator; busy: server CPU / wall time (100% = one core).")

    for r, phases in enumerate(rounds, 1):
        print(f"\nRound {r}")
        rows = []
        for case in CASES:
            for server in SERVERS:
                [p] = [p for p in phases if p.case == case and p.server == server]
                rows.append((case, server, p.n, str(p.error_count), p.stats()))
        print(table(rows))

    medians: dict[tuple[str, str], dict] = {}
    if len(rounds) > 1:
        print(f"\nMedian of {len(rounds)} rounds (requests, errors: total)")
    rows = []
    for case in CASES:
        for server in SERVERS:
            ps = [p for phases in rounds for p in phases if p.case == case and p.server == server]
            s = {k: statistics.median(p.stats()[k] for p in ps) for k in ps[0].stats()}
            s["worst_p99"] = max(p.stats()["p99"] for p in ps)
            medians[case, server] = s
            rows.append((case, server, sum(p.n for p in ps), str(sum(p.error_count for p in ps)), s))
    if len(rounds) > 1:
        print(table(rows))

    print("\nRatio cocreate / bare" + (" (medians)" if len(rounds) > 1 else ""))
    for case in CASES:
        ours, bare = medians[case, "cocreate"], medians[case, "bare"]
        print(f"  {case:<6} throughput x{ours['rps'] / bare['rps']:.3f}   p50 x{ours['p50'] / bare['p50']:.1f}   "
              f"p95 x{ours['p95'] / bare['p95']:.1f}   p99 x{ours['p99'] / bare['p99']:.1f}   "
              f"server CPU per request x{ours['srv_cpu'] / bare['srv_cpu']:.1f}")

    print(f"\nGoals: page p99 < {PAGE_P99_MS:.0f} ms; throughput >= {THROUGHPUT_SHARE:g}x the bare handler's")
    page = medians["page", "cocreate"]
    met = page["p99"] < PAGE_P99_MS
    print(f"  page p99         {'MET' if met else 'MISSED'}: {page['p99']:.1f} ms "
          f"{'<' if met else '>='} {PAGE_P99_MS:.0f} ms (worst round {page['worst_p99']:.1f} ms)")
    for case in CASES:
        ours, bare = medians[case, "cocreate"], medians[case, "bare"]
        share = ours["rps"] / bare["rps"]
        met = share >= THROUGHPUT_SHARE
        print(f"  {case:<4} throughput  {'MET' if met else 'MISSED'}: {ours['rps']:.0f} req/s = "
              f"{share:.3f}x bare {bare['rps']:.0f} req/s "
              f"({'>=' if met else '<'} {THROUGHPUT_SHARE:g}x, {THROUGHPUT_SHARE * bare['rps']:.0f} req/s)")
    for case in CASES:
        ours = medians[case, "cocreate"]
        if ours["busy"] > 0.85:
            print(f"  {case}: cocreate was busy {100 * ours['busy']:.0f}% of a core at {ours['srv_cpu']:.1f} ms CPU "
                  f"per request: one core's worth of Python is the limit (~{1000 / ours['srv_cpu']:.0f} req/s), and "
                  f"at concurrency {args.concurrency} a request waits for the {args.concurrency - 1} others: "
                  f"p50 ~ {args.concurrency} x {ours['srv_cpu']:.1f} ms = {args.concurrency * ours['srv_cpu']:.0f} ms")

    failed = print_failures(rounds, warmup_errors, children, log_summary)
    print(f"\n{'FAILED: ' + str(failed) + ' requests were not answered as expected' if failed else 'every page answered 200, every post 303'}")
    return 1 if failed else 0


def revision() -> str:
    """The commit measured, and whether the working tree differs from it (outside bench/)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "an unknown commit"
    return f"{head or 'an unknown commit'}{' (with uncommitted changes)' if dirty else ''}"


def _spread(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


# ====================================================================== main


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per case and server per round (default 8; --quick 2)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds, alternating which server goes first (default 3; --quick 1)")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight (default 20)")
    parser.add_argument("--members", type=int, default=None, help="signed-in members (default: one per concurrent client)")
    parser.add_argument("--warmup-posts", type=int, default=0,
                        help=f"warm-up posts per member beyond those that fill their page ({TRANSCRIPT} "
                             "entries, two a post; default 0)")
    parser.add_argument("--warmup-seconds", type=float, default=None, help="untimed seconds per case and server after the warm-up posts (default 2; --quick 0.5)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 2 s per case and server (~30 s)")
    parser.add_argument("--profile", metavar="DIR", type=Path,
                        help="after the rounds, sample cocreate with py-spy for one more phase per case and print "
                             "its hot spots (collapsed stacks kept in DIR; needs py-spy on PATH)")
    parser.add_argument("--py-spy", default="py-spy", help=argparse.SUPPRESS)
    parser.add_argument("--top", type=int, default=25, help=argparse.SUPPRESS)
    parser.add_argument("--cocreate", metavar="PATH", type=Path,
                        help="the cocreate command to run (db upgrade, chat, serve), e.g. a wrapper that tries a "
                             "change (default: the one next to this Python)")
    parser.add_argument("--keep-logs", metavar="DIR", type=Path,
                        help="copy the servers' logs (stderr) into DIR before the temporary files go")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 8.0
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.warmup_seconds is None:
        args.warmup_seconds = 0.5 if args.quick else 2.0
    if args.members is None:
        args.members = args.concurrency
    if args.seconds <= 0 or args.rounds < 1 or args.concurrency < 1 or args.members < 1 or args.warmup_posts < 0:
        parser.error("--seconds, --rounds, --concurrency and --members must be positive, --warmup-posts not negative")
    return args



def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.serve_bare:
        asyncio.run(serve_bare())
        return 0

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupted_on_sigterm)
    children: list[Child] = []
    workdir = Path(tempfile.mkdtemp(prefix="cocreate-bench-web-"))
    python, me = sys.executable, str(Path(__file__).resolve())
    cocreate = args.cocreate or Path(sys.executable).parent / "cocreate"
    begun = time.monotonic()
    try:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "MICROSOFT_APP_", "SMTP_", "COCREATE_PUBLIC_URL"))}
        env |= {"DATABASE_URL": f"sqlite+aiosqlite:///{(workdir / 'cocreate.db').as_posix()}",
                "COCREATE_CONFIG": str(APP_YAML),
                "COCREATE_JOINS_PER_HOUR": "1000000", "COCREATE_JOINS_PER_INVITE_HOUR": "1000000"}
        migrated = subprocess.run([str(cocreate), "db", "upgrade"], cwd=workdir, env=env,
                                  capture_output=True, text=True, timeout=120)
        if migrated.returncode:
            raise SetupError(f"cocreate db upgrade failed:\n{migrated.stdout}{migrated.stderr}")
        # The terminal chat hands out the links while the servers start: on a port picked here,
        # so the links can name it before the server listens.
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with ThreadPoolExecutor(1) as pool:
            chatted = pool.submit(links, cocreate, env | {"COCREATE_PUBLIC_URL": base}, workdir)
            ours = start_child("cocreate", [str(cocreate), "serve", "--host", "127.0.0.1", "--port", str(port)],
                               "cocreate: listening on port", env, workdir, children)
            bare = start_child("bare", [python, me, "--serve-bare"], "bare: listening on port", env, workdir,
                               children)
            signin, invite = chatted.result()
        members = asyncio.run(sign_in_members(base, signin, invite, args.members))
        print(f"set up in {time.monotonic() - begun:.0f} s: {len(members)} members signed in "
              f"({LEADER} through her `web` link, {len(members) - 1} through the invite link)", flush=True)
        targets = {"bare": Target("bare", f"http://127.0.0.1:{bare.ports[0]}", bare),
                   "cocreate": Target("cocreate", base, ours)}
        started = time.monotonic()
        rounds, warmup_errors, steady, after = asyncio.run(run(args, targets, members))
        print(f"measured in {time.monotonic() - started:.0f} s ({time.monotonic() - begun:.0f} s in all)", flush=True)
        status = report(args, rounds, warmup_errors, steady, after, members, children)
        if args.profile:
            profile(args, targets, members)
        return status
    except SetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_children(children)
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in workdir.glob("*.log"):
                shutil.copy(log, args.keep_logs / log.name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
