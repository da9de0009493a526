"""The core of regclean: the runbook engine, approvals, store, scheduler, and the composition root."""
