"""Whole-topic views every worker keeps: the partner directory (and the conflict claims)."""

from streams.directory.partners import DirectoryView, run_view
from streams.directory.view import GlobalView

__all__ = ["DirectoryView", "GlobalView", "run_view"]
