"""Referral fees (pure): what a won referral owes under its terms, the fee ledger of one referral,
and statements per partner with netting across the network."""
