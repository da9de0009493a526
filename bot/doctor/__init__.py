"""`regclean doctor`: read-only checks of everything the runbook needs after the point of no return
(docs/architecture.md, "Before the night")."""
