"""The script KV: a hook's keys and values, with quotas, in atomic Lua steps."""
