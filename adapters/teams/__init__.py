"""Microsoft Teams adapter (botbuilder); every botbuilder import stays in this package."""
