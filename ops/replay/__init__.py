"""``oppbus replay``: read the history off the log, replay it (``streams.replay``), report it."""
