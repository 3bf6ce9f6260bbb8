"""The queue: Celery's app and tasks, hand-built task messages, the executor
that runs jobs in worker children, and the reaper."""
