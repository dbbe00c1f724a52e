"""Partnerships (pure): the life of an agreement between two partners and the terms in force."""
