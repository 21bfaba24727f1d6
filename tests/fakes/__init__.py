"""Local fakes of Slack for tests: `slack.FakeSlack` (Web API) and `slack_client` (requests to the bot)."""
