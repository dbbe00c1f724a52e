"""Scorecards: the referral ledger folded into per-partner aggregates (``partner-stats`` topic)."""
