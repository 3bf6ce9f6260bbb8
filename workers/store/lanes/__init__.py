"""Lanes: where a queued job waits, and the Lua that claims or takes the next one."""
