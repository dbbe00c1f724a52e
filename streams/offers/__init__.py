"""The offer lifecycle: the waterfall of one opportunity and how its state is stored."""
