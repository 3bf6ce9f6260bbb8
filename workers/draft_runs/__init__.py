"""Running a draft on a recorded event's tape and judging its answer: what
``POST /api/hooks/<id>/draft/try`` (app/draft_try.py) and shadow runs
(workers/shadow) share."""
