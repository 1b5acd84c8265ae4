"""Handlers for the followups area (being built)."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0 (called before the fallbacks)."""
