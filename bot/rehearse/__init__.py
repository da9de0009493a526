"""The rehearsal: what the night would do, read without changing anything (docs/architecture.md, "Before the night")."""
