"""Platform adapters: translate platform payloads to neutral events and replies back."""
