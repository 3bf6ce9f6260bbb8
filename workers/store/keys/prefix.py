"""What every hooklet Redis key starts with (stored data: never change it)."""

from __future__ import annotations

PREFIX = "hooklet"
