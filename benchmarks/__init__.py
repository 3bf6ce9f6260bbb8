"""hooklet's benchmarks: ``scripts/bench`` (``python -m benchmarks``).

Each scenario starts its own stack from ``stackkit`` (redis-server, a Celery
worker node, gunicorn), prints a table and writes JSON under
``bench-results/``; every figure stands beside a floor measured in the same
run. ``cli`` lists the scenarios; each lives in its own module and imports
only the helpers below it, never ``cli`` nor another scenario:

- helpers: ``report`` (tables, JSON), ``loadgen`` (HTTP load), ``stack``
  (the benchmark stack), ``drain`` (events/s until the last job ended),
  ``floors`` (the Celery no-op, bare Flask and naive builds, served from
  ``floor_app``), ``cpu_budget`` and ``sync_hops`` (the profile's parts);
- scenarios: ``engine``, ``throughput`` (async), ``intake``, ``sync``,
  ``memory``, ``redis_memory``, ``ha``, ``isolation``, ``hostcalls``,
  ``console``, ``profile_run``;
- ``store_stats``: a micro-benchmark of the store's Lua steps
  (``python -m benchmarks.store_stats``).
"""
