"""The audit trail: a hash-chained log of every decision, its export and its verification
(docs/architecture.md, "The audit trail")."""
