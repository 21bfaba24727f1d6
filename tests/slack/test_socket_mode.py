"""Slack in Socket Mode, end to end: a real `cocreate serve` with an app-level token (and
no signing secret) opens a WebSocket to a fake Socket Mode server, which pushes Slack's
envelopes; the bot acknowledges them over the socket and answers through the fake Web API.
"""

from __future__ import annotations

import urllib.request

import pytest

from tests.fakes.slack_client import SlackSender, dm_message, event, plain_text, slash_command, view_submission
from tests.fakes.slack_socket import FakeSocketMode
from tests.slack.conftest import start_server, stop_server

APP_TOKEN = "xapp-1-A_TEST-1-fake"
BOT_TOKEN = "xoxb-test"
PROXIES = {"http_proxy", "https_proxy", "all_proxy"}  # the fakes are local; slack_sdk reads these


@pytest.fixture
def socket_server():
    with FakeSocketMode() as fake:
        yield fake


@pytest.fixture
def socket_env(slack_env, fake_slack, socket_server):
    fake_slack.socket_url = socket_server.url  # what apps.connections.open hands out
    env = {k: v for k, v in slack_env.items() if not k.startswith("SLACK_") and k.lower() not in PROXIES}
    # No SLACK_SIGNING_SECRET: Socket Mode needs none.
    return env | {"SLACK_APP_TOKEN": APP_TOKEN, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.url}


def state(**fields):
    return {name: {name: element} for name, element in fields.items()}


def radio(value):
    return {"type": "radio_buttons", "selected_option": {"value": value}}


def checks(*values):
    return {"type": "checkboxes", "selected_options": [{"value": v} for v in values]}


def http_get(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return response.status


def test_socket_mode_commands_events_and_modals(tmp_path, socket_env, fake_slack, socket_server):
    server = start_server(tmp_path, socket_env)
    try:
        # The bot asks the Web API (at SLACK_API_URL, with the app token) for a socket URL, then connects.
        connection = socket_server.wait_connected_sync(timeout=10)
        opened = fake_slack.calls("apps.connections.open")  # a start-up check of the token, then the connection
        assert len(opened) == 2 and {call.token for call in opened} == {APP_TOKEN}

        # /cocreate story: acknowledged on the socket well inside Slack's 3 s, then a modal opens.
        command = slash_command("story", user="U_MO", channel="C_HARBOUR",
                                response_url=fake_slack.response_url("story")).payload
        sent = socket_server.push_sync("slash_commands", command)
        ack = socket_server.wait_for_ack_sync(sent.envelope_id, timeout=3)
        assert ack.elapsed < 3 and ack.payload is None, ack
        [views_open] = fake_slack.wait_for_sync("views.open", timeout=5)
        assert views_open.token == BOT_TOKEN and views_open.args["trigger_id"] == command["trigger_id"]
        view = views_open.args["view"]
        assert view["callback_id"] == "cocreate_form"

        # A submission with a missing answer: the errors travel back in the ack's payload.
        values = state(title=plain_text(None), body=plain_text("It began"), principles=checks("1"),
                       sectors=checks("citizen"), consent=radio("coalition"), named=radio("no"))
        submission = view_submission("cocreate_form", view["private_metadata"], values).payload
        sent = socket_server.push_sync("interactive", submission)
        ack = socket_server.wait_for_ack_sync(sent.envelope_id, timeout=3)
        assert ack.payload == {"response_action": "errors", "errors": {"title": "This one needs an answer."}}

        # "status" typed by another member in their DM (a message.im event; U_MO's typed text would
        # now answer the open story question) is acknowledged, then answered in that DM.
        typed = event(dm_message("status", user="U_LEA", channel="D_LEA")).payload
        sent = socket_server.push_sync("events_api", typed)
        ack = socket_server.wait_for_ack_sync(sent.envelope_id, timeout=3)
        assert ack.payload is None
        [reply] = fake_slack.wait_for_sync("chat.postMessage", timeout=5)
        assert reply.token == BOT_TOKEN and reply.args["channel"] == "D_LEA"
        assert "Your status in Harbour Youth" in reply.args["text"]

        # The HTTP server is up, but there is no Events endpoint to POST to in Socket Mode.
        assert http_get(server.url + "/healthz") == 200
        status, _ = SlackSender().post_sync(server.url, slash_command("story"), signed=False)
        assert status == 404

        # Each envelope acknowledged exactly once; nothing else said on the socket or to the Web API.
        assert [a.envelope_id for a in socket_server.acks()] == [e.envelope_id for e in socket_server.envelopes()]
        assert socket_server.other_messages() == []
        # After answering, each member's profile is looked up once (their time zone, for the outbox).
        lookups = fake_slack.wait_for_sync("users.info", count=2, timeout=5)
        assert sorted(c.args["user"] for c in lookups) == ["U_LEA", "U_MO"] and lookups[0].token == BOT_TOKEN
        calls = fake_slack.calls()
        assert {c.method for c in calls} == {"apps.connections.open", "auth.test", "views.open", "chat.postMessage",
                                             "users.info"}
        assert all(c.ok for c in calls), calls
    finally:
        stop_server(server)
        print(server.logs())  # pytest shows it when the test fails

    # SIGTERM: the bot says goodbye on the socket (close code 1000) and exits cleanly.
    assert server.process.returncode == 0, server.logs()
    socket_server.wait_closed_sync(connection)
    assert connection.close_code == 1000
    assert len(socket_server.connections()) == 1  # no reconnects along the way
    logs = server.logs()
    assert "Slack: on (socket mode)" in logs
    assert "Traceback" not in logs and " ERROR " not in logs, logs


def test_a_refused_app_token_stops_serve_with_a_clear_message(tmp_path, socket_env, fake_slack):
    """No endless reconnect loop: Slack's refusal is reported and the process exits."""
    import subprocess

    from tests.slack.conftest import COCREATE

    fake_slack.fail("apps.connections.open", "invalid_auth")
    result = subprocess.run([str(COCREATE), "serve", "--host", "127.0.0.1", "--port", "0"],
                            capture_output=True, text=True, timeout=30, cwd=tmp_path, env=socket_env)
    assert result.returncode == 1
    assert "Slack refused SLACK_APP_TOKEN: invalid_auth" in result.stderr
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr
