"""Shadow runs' results in Redis (workers/shadow): counts per outcome and
the last differences, per hook, for its current draft."""
