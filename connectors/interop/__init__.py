"""Interop mappers: Microsoft Partner Center referrals and AWS Partner Central opportunities.

Pure functions, no I/O: a vendor document (parsed JSON) in, an oppbus contract out, and back.
Sample documents live in ``connectors/interop/samples/``.
"""
