"""The partner inbox page: one HTML file, one style sheet and plain JS modules (no build step)."""
