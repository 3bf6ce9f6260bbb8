"""The sandbox: V8 isolates (mini-racer), the in-isolate runtime, the warm
isolate pool, the memory watchdog and the secutils script contract."""
