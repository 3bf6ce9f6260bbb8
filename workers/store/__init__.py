"""The store: every Redis key, the job store and its atomic Lua steps, job
records and their public view, hooks, and fleet-wide metrics counters."""
