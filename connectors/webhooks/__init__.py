"""Outbound webhooks: lead events delivered to subscribing partners, signed (Standard Webhooks)."""
