"""Callback destinations: each one's circuit breaker, parked deliveries and
the hooks' token buckets (``store.py``; the policy that uses them is
``workers/delivery/destinations.py``)."""
