"""The Slack adapter: Bolt events in, Block Kit out."""
