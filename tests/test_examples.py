"""The sample configurations in examples/ load, and the bot starts on them."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from flows.prompts import PRINCIPLES, PROMPTS, flat
from tests.test_cli import assert_clean_exit, cocreate

DANISH = (Path(__file__).resolve().parent.parent / "examples" / "app.da.yaml").resolve()


def test_the_danish_sample_is_a_complete_danish_movement():
    config = load_config(DANISH, flat(PROMPTS), PRINCIPLES)
    assert config.movement.language == "da" and config.movement.timezone == "Europe/Copenhagen"
    assert config.movement.coordinators == ("mette",)
    # `demo` leads the first coalition and signs in from the terminal chat, as in app.yaml.
    demo = config.member_for("console", "demo")
    assert demo is not None and demo.id == "demo"
    assert config.coalitions[0].leaders == ("demo",)
    assert [c.name for c in config.coalitions] == ["Unge i job", "Ensomhed blandt ældre", "Trivsel i skolen"]
    assert all("Fjordby" in c.challenge for c in config.coalitions)
    # All seven principles, numbered, in Danish: none is the English default.
    assert [p.number for p in config.principles] == [1, 2, 3, 4, 5, 6, 7]
    english = {p["title"] for p in PRINCIPLES} | {p["question"] for p in PRINCIPLES}
    for principle in config.principles:
        assert principle.title not in english and principle.question not in english
    titles = [p.title for p in config.principles]
    assert "velfærd" in titles[0] and "vanetænkningen" in titles[1] and "ligeværdigt" in titles[2]
    assert "ambassadør" in titles[6].lower()
    assert any(ch in "".join(titles) for ch in "æøå")
    # Delivery and schedules as in the sample.
    assert [s.id for s in config.schedules] and config.delivery.quiet_hours == "20:00-08:00"


def test_the_danish_sample_has_the_sections_of_app_yaml():
    import yaml

    root = Path(__file__).resolve().parent.parent
    sample = yaml.safe_load((root / "app.yaml").read_text(encoding="utf-8"))
    danish = yaml.safe_load(DANISH.read_text(encoding="utf-8"))
    assert list(danish) == [section for section in sample if section != "prompts"]


def test_the_bot_starts_on_the_danish_sample(tmp_path, sqlite_url):
    result = cocreate(tmp_path, sqlite_url, "--config", str(DANISH), "prompts")
    assert_clean_exit(result)
    assert result.stdout.startswith("prompts:\n")


def test_make_chat_args_config_opens_a_danish_terminal_chat(tmp_path, sqlite_url):
    """`make chat ARGS="--config examples/app.da.yaml"` puts --config after `chat` (for `make
    run`, which serves the web chat, see tests/web/test_run.py)."""
    result = cocreate(tmp_path, sqlite_url, "chat", "--config", str(DANISH), input="hjælp\nsprog\n")
    assert_clean_exit(result)
    assert "Cocreate · Samskabelse i Fjordby · Unge i job\nDu er Demo Leder." in result.stdout
    assert "- `deltag`: deltag i koalitionen, og fortæl" in result.stdout and "- `hjælp`: denne liste" in result.stdout
    assert "Jeg skriver til dig på dansk." in result.stdout
