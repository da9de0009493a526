"""The runbook's steps, one package each, every step a class handed a `StepContext` (docs/architecture.md, "Steps")."""
