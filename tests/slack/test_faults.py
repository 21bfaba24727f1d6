"""Faults a new deployment hits, through a real `cocreate serve` and the fake Slack Web API:
blank variables from a `.env` template, and signed requests that lack who sent them."""

from __future__ import annotations

import pytest

from tests.fakes.slack_client import SlackSender, _form, slash_command
from tests.slack.conftest import SECRET
from tests.support import start_server, stop_server


@pytest.fixture
def blank_oauth_server(tmp_path, slack_env):
    # As a .env template leaves them: present, but empty. slack-bolt reads these two itself
    # and, seeing both set, would switch to OAuth and answer every command "please reinstall".
    server = start_server(tmp_path, {**slack_env, "SLACK_CLIENT_ID": "", "SLACK_CLIENT_SECRET": " ",
                                     "SLACK_APP_TOKEN": ""})
    yield server
    stop_server(server)


async def test_blank_oauth_variables_count_as_unset_and_single_workspace_mode_works(blank_oauth_server, fake_slack):
    async with SlackSender(secret=SECRET) as sender:
        status, _ = await sender.post(blank_oauth_server.url, slash_command(
            "help", user="U_LEA", channel="C_HARBOUR", response_url=fake_slack.response_url("r1")))
    assert status == 200
    [reply] = await fake_slack.wait_for("response_url")
    said = str(reply.args)
    assert "reinstall" not in said and "digest" in said  # the help text, not bolt's refusal
    assert "Traceback" not in blank_oauth_server.logs()


async def test_a_signed_command_without_a_user_gets_400_and_one_log_line(server, fake_slack):
    request = slash_command("help", response_url=fake_slack.response_url("r1"))
    fields = {k: v for k, v in request.payload.items() if k != "user_id"}
    async with SlackSender(secret=SECRET) as sender:
        status, body = await sender.post(server.url, _form(fields))
        assert status == 400 and "user_id" in body
        fine, _ = await sender.post(server.url, request)  # the server carries on
    assert fine == 200
    await fake_slack.wait_for("response_url")
    logs = server.logs()
    assert "Traceback" not in logs and "KeyError" not in logs
    assert len([line for line in logs.splitlines() if "without user_id" in line]) == 1


async def test_no_secret_and_no_story_text_reaches_the_log(server, fake_slack):
    """The server logs at INFO here (tests.support starts it so); `stop_server` also checks
    every server's log for the tokens and secrets it was given."""
    from tests.slack.test_slack_e2e import checks, command, opened_view, plain_text, radio, submit

    await command(server, fake_slack, "story")
    view = await opened_view(fake_slack)
    title, body = "Quiet-title-7Q2", "Only-in-the-database-body-K9X, with my neighbour ada@example.org"
    answer = await submit(server, view, {"title": plain_text(title), "body": plain_text(body),
                                         "principles": checks("1"), "sectors": checks("citizen"),
                                         "consent": radio("coalition"), "named": radio("yes")})
    assert answer == {}
    logs = server.logs()
    assert "INFO" in logs  # the check saw what an operator would see with --verbose
    for private in (title, "K9X", "ada@example.org", SECRET, "xoxb-test"):
        assert private not in logs, private
