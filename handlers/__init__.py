"""Slack only: command parsing, button clicks, Block Kit rendering, and the Slack Notifier."""
