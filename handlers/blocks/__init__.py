"""Block Kit: how each step's results, the run's checklist and the approval request look in Slack."""
