"""One person, one invitation: a member both Slack and Teams reach is asked once, on their
`prefer:` platform, else the one they last wrote from (tests/data/app.yaml gives Mo both ids)."""

from __future__ import annotations

from datetime import timedelta

import yaml

from bot.delivery import Delivery
from bot.engine import Engine
from bot.types import ConversationRef
from flows.registry import all_flows

from tests.delivery.conftest import Recorder, make_config
from tests.delivery.test_delivery import open_round
from tests.support import APP_YAML


async def invited(store, clock, config, wrote_last: str | None) -> dict[str, list[str]]:
    engine = Engine(store, config, all_flows(), clock)
    recorders = {p: Recorder(config, p) for p in ("slack", "teams")}
    if wrote_last:
        other = "teams" if wrote_last == "slack" else "slack"
        for platform, when in ((other, clock.now - timedelta(hours=2)), (wrote_last, clock.now - timedelta(hours=1))):
            ref = ConversationRef(platform, "t", f"{platform}-dm", config.address("mo", platform))
            await store.save_reference(ref, "mo", "personal", when)
    await open_round(engine, store)
    delivery = Delivery(store, config, recorders, clock=clock, compose=engine.compose, worker="w1")
    await delivery.run_once()
    return {p: sorted(m for m, _, _ in r.sent if m == "mo") for p, r in recorders.items()}


async def test_a_member_on_two_platforms_is_invited_where_they_last_wrote(store, clock, tmp_path):
    assert await invited(store, clock, make_config(tmp_path), "teams") == {"slack": [], "teams": ["mo"]}


async def test_without_a_trace_app_yaml_order_decides(store, clock, tmp_path):
    assert await invited(store, clock, make_config(tmp_path), None) == {"slack": ["mo"], "teams": []}


async def test_prefer_wins_over_where_they_last_wrote(store, clock, tmp_path):
    data = yaml.safe_load(APP_YAML.read_text())
    [mo] = [m for m in data["members"] if m["id"] == "mo"]
    mo["prefer"] = "slack"
    (tmp_path / "src.yaml").write_text(yaml.safe_dump(data))
    config = make_config(tmp_path, source=tmp_path / "src.yaml")
    assert await invited(store, clock, config, "teams") == {"slack": ["mo"], "teams": []}
