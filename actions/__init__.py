"""The work done to the cluster: one module per runbook step, plus the clients they use."""
