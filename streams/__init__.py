"""Stream processing: the Faust app, its agents and tables, and the pure domain core they call."""
