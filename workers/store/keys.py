"""Every Redis key hooklet uses is built here, and nowhere else."""

from __future__ import annotations

import hashlib

PREFIX = "hooklet"


def hook(hook_id: str) -> str:
    """Hash: the hook definition (``def`` JSON) and its ``etag``."""
    return f"{PREFIX}:hook:{hook_id}"


def hook_versions(hook_id: str) -> str:
    """String: the last version number given to any hook with this id. Kept
    when the hook is deleted, so versions never repeat: a re-created hook never
    matches a warm isolate or cached spec (keyed by id and version) of the old one."""
    return f"{PREFIX}:hookversions:{hook_id}"


def hook_ids() -> str:
    """Set: ids of every stored hook."""
    return f"{PREFIX}:hooks"


def script(hook_id: str, version: int) -> str:
    """String: the source of one version of a hook's script."""
    return f"{PREFIX}:script:{hook_id}:{version}"


def scripts_of(hook_id: str) -> str:
    """SCAN pattern: every stored script version of a hook (``script``)."""
    return f"{PREFIX}:script:{hook_id}:*"


def history(hook_id: str) -> str:
    """List: the hook's most recent job ids, newest first."""
    return f"{PREFIX}:history:{hook_id}"


def job(job_id: str) -> str:
    """Hash: one job's state, request, result and logs."""
    return f"{PREFIX}:job:{job_id}"


def finished() -> str:
    """Sorted set: ids of finished jobs scored by finish time; the memory
    budget trims the oldest first (workers/store/budget.py)."""
    return f"{PREFIX}:finished"


def job_done(job_id: str) -> str:
    """List: pushed once when the job ends, so a waiter can block on it
    (only when ``job_waiting`` says one waits)."""
    return f"{PREFIX}:done:{job_id}"


def job_waiting(job_id: str) -> str:
    """String: set by a waiter before it blocks on ``job_done``; FINISH pushes
    the done list only when it exists."""
    return f"{PREFIX}:waiting:{job_id}"


def running() -> str:
    """Sorted set: running job ids scored by the time they must have ended."""
    return f"{PREFIX}:running"


def in_flight(hook_id: str) -> str:
    """Sorted set: job ids of a hook's sync requests waiting now, scored by
    when their slot lapses if never given back."""
    return f"{PREFIX}:inflight:{hook_id}"


def idempotency(hook_id: str, key: str) -> str:
    """String: "<request fingerprint> <job id>" of the job first created for an
    idempotency key. The key is hashed, never cut, so keys that differ only
    past some length never merge (and a long key costs no Redis memory)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{PREFIX}:idem:{hook_id}:{digest}"


def idempotency_of(hook_id: str) -> str:
    """SCAN pattern: every idempotency key of a hook (``idempotency``)."""
    return f"{PREFIX}:idem:{hook_id}:*"


def kv_of(hook_id: str) -> tuple[str, ...]:
    """SCAN patterns: a hook's script KV store (``secutils.kv``). Whatever
    shape ``kv`` keys take, they must match one of these, so that deleting a
    hook deletes its data."""
    return (f"{PREFIX}:kv:{hook_id}", f"{PREFIX}:kv:{hook_id}:*")


def celery_queue(queue: str) -> str:
    """List: a Celery queue as kombu's Redis transport stores it (priority 0,
    no global key prefix). The intake pushes task messages here directly."""
    return queue


def callbacks_due() -> str:
    """Sorted set: job ids whose callback is due again, scored by due time."""
    return f"{PREFIX}:callbacks:due"


def metrics() -> str:
    """Hash: counters shared by every process (field = metric and labels)."""
    return f"{PREFIX}:metrics"


def child_rss() -> str:
    """Hash: worker child -> "rss_bytes timestamp warm_isolates", refreshed after each job."""
    return f"{PREFIX}:metrics:rss"


def signin_failures(client: str) -> str:
    """Counter: a client address's failed console sign-ins in the current
    window (expires with it)."""
    return f"{PREFIX}:console:signin-failures:{client}"


def console_session(digest: str) -> str:
    """String: a signed-in console session (JSON, expires with the session),
    under the SHA-256 of the id its cookie carries; sign-out deletes it."""
    return f"{PREFIX}:console:session:{digest}"


def nodes() -> str:
    """Sorted set: worker node name -> when it last reported (epoch s)."""
    return f"{PREFIX}:nodes"


def node(name: str) -> str:
    """String: a worker node's last report (JSON, ``store.nodes``); expires
    when the node stops reporting."""
    return f"{PREFIX}:node:{name}"


def kv_data(hook_id: str) -> str:
    """Hash: a hook's script KV (secutils.kv): key -> value bytes."""
    return f"{PREFIX}:kv:{hook_id}:data"


def kv_meta(hook_id: str) -> str:
    """Hash: key -> "createdAt expiresAt" (unix seconds; expiresAt 0 = never)."""
    return f"{PREFIX}:kv:{hook_id}:meta"


def kv_index(hook_id: str) -> str:
    """Sorted set, all scores 0: the keys, for byte-ordered prefix listing."""
    return f"{PREFIX}:kv:{hook_id}:index"


def kv_expiry(hook_id: str) -> str:
    """Sorted set: keys that expire, scored by when."""
    return f"{PREFIX}:kv:{hook_id}:expiry"


def kv_stats(hook_id: str) -> str:
    """Hash: ``entries`` and ``bytes`` of the hook's stored KV."""
    return f"{PREFIX}:kv:{hook_id}:stats"


def kv_changes(hook_id: str) -> str:
    """Pub/sub channel: a key of the hook's KV was written (wakes ``watch``)."""
    return f"{PREFIX}:kv:{hook_id}:changes"


def kv_all(hook_id: str) -> tuple[str, ...]:
    """Every key of a hook's script KV (deleted with the hook)."""
    return (
        kv_data(hook_id),
        kv_meta(hook_id),
        kv_index(hook_id),
        kv_expiry(hook_id),
        kv_stats(hook_id),
    )


def jobs_index() -> str:
    """Sorted set: every event's job id, scored by creation time (search)."""
    return f"{PREFIX}:index:jobs"


def hook_jobs_index(hook_id: str) -> str:
    """Sorted set: one hook's job ids, scored by creation time (search)."""
    return f"{PREFIX}:index:hook:{hook_id}"


def failed_jobs_index() -> str:
    """Sorted set: failed jobs (events, not test runs), scored by creation time."""
    return f"{PREFIX}:index:failed"


def hook_failed_index(hook_id: str) -> str:
    """Sorted set: one hook's failed jobs, scored by creation time."""
    return f"{PREFIX}:index:failed:{hook_id}"


def dead_letters_index() -> str:
    """Sorted set: failed jobs not yet replayed (the dead letters), by creation time."""
    return f"{PREFIX}:index:dead"


def hook_dead_letters_index(hook_id: str) -> str:
    """Sorted set: one hook's dead letters, scored by creation time."""
    return f"{PREFIX}:index:dead:{hook_id}"


def delivery_failed_index() -> str:
    """Sorted set: jobs whose callback delivery failed, scored by creation time."""
    return f"{PREFIX}:index:delivery-failed"


def index_expiry() -> str:
    """Sorted set: every job in the fleet-wide indexes (``jobs_index``,
    ``failed_jobs_index``, ``dead_letters_index``, ``delivery_failed_index``),
    scored by when the job expires (``+inf`` while it has not ended or a
    callback is still due). An entry leaves those indexes when its job goes."""
    return f"{PREFIX}:index:expiry"


def hook_jobs(hook_id: str) -> str:
    """Sorted set: every job of a hook (test runs included), scored by when it
    expires (``+inf`` while it has not ended or a callback is still due).
    What deleting the hook deletes, and what trims the hook's own indexes
    (``hook_jobs_index``, ``hook_failed_index``, ``hook_dead_letters_index``).
    A job absent from it belongs to a deleted hook: it is indexed no more."""
    return f"{PREFIX}:hookjobs:{hook_id}"


def stats_hooks(minute: int) -> str:
    """Hash: one minute's per-hook counters (``hook|kind|label``) for charts."""
    return f"{PREFIX}:stats:{minute}"


def stats_fleet(minute: int) -> str:
    """Hash: one minute's fleet-wide counters and gauges (``kind|label``)."""
    return f"{PREFIX}:stats:fleet:{minute}"


def stats_step_cache(scope: str, step_minutes: int, first_minute: int) -> str:
    """String: a finished step of a stats series (JSON), summed once from its
    minute buckets; ``scope`` is a hook id or ``*`` for the fleet."""
    return f"{PREFIX}:stats:step:{scope}:{step_minutes}:{first_minute}"


# -- lanes and fair share (issue 14) -------------------------------------------


def pending(hook_id: str) -> str:
    """List: the hook's queued async job ids, oldest first (FIFO per hook)."""
    return f"{PREFIX}:pending:{hook_id}"


def pending_sync(hook_id: str) -> str:
    """List: the hook's queued sync job ids (the sync lane), oldest first;
    the sync lane is taken from before any async job."""
    return f"{PREFIX}:pending-sync:{hook_id}"


def ready_hooks() -> str:
    """List: the rotation of hooks with queued async jobs, each once, the one
    to take from next first (a hook is in it iff its ``pending`` list is not
    empty)."""
    return f"{PREFIX}:ready"


def ready_sync_hooks() -> str:
    """List: ``ready_hooks`` for the sync lane (``pending_sync`` lists)."""
    return f"{PREFIX}:ready-sync"


def sync_done_channel() -> str:
    """Pub/sub channel: the id of each sync-lane job that ends (the web
    processes' sync waiters listen to it)."""
    return f"{PREFIX}:sync-done"


def lingering() -> str:
    """Sorted set: worker children waiting on ``sync_wake()`` for the sync
    lane's next job, scored by when their wait ends (lanes/linger.py)."""
    return f"{PREFIX}:lingering"


def sync_wake() -> str:
    """List: one entry per sync job queued while a child lingered; the
    lingering children block on it."""
    return f"{PREFIX}:sync-wake"


def parked_sync_tokens() -> str:
    """List: the task messages (tokens) of sync jobs queued while a child
    lingered, kept from Celery for that child to spend; given to Celery's
    sync queue when no child lingers any more."""
    return f"{PREFIX}:sync-parked"


def sync_answer_channel() -> str:
    """Pub/sub channel: each sync-lane job that ends, with its answer
    (``jobs/answer.py``), so the web's waiter answers without a read."""
    return f"{PREFIX}:sync-answer"


def token(token_id: str) -> str:
    """String: the job a task message (a "run the next job" token) claimed,
    so a redelivery of that message runs the same job again."""
    return f"{PREFIX}:token:{token_id}"


def project(project_id: str) -> str:
    """Hash: a project's definition (``def`` JSON); ``default`` exists even when absent."""
    return f"{PREFIX}:project:{project_id}"


def project_ids() -> str:
    """Set: ids of every stored project."""
    return f"{PREFIX}:projects"


def project_rate(project_id: str) -> str:
    """Hash: the project's eventsPerMinute token bucket (``tokens``, ``at``)."""
    return f"{PREFIX}:project:{project_id}:rate"


def project_running(project_id: str) -> str:
    """Sorted set: the project's jobs taken to run (maxConcurrent), by hard
    deadline. The id comes last: the lanes' Lua builds it from a prefix."""
    return f"{PREFIX}:project-running:{project_id}"


def project_store_full(project_id: str) -> str:
    """String, with a short expiry: the project is past its storedBytes with
    nothing left to trim (access/storage.py); the intake refuses its events."""
    return f"{PREFIX}:project-full:{project_id}"


def held_tokens() -> str:
    """Counter: tokens spent claiming nothing while queued jobs were held by
    their project's maxConcurrent; a child ending a job takes one instead."""
    return f"{PREFIX}:held-tokens"


def ordering_prefix() -> str:
    """What ``ordering`` starts with: the ordering Lua (store/ordering/)
    builds a key's records from it as ``<prefix><hook>:<key id>``, and
    ``ordering_jobs``/``ordering_callbacks`` by adding ``:jobs``/``:callbacks``."""
    return f"{PREFIX}:order:"


def ordering(hook_id: str, key_id: str) -> str:
    """Hash: one ordering key of a hook (``key_id``: ``ordering_key_id``):
    ``key`` (as sent), ``holder`` (the job that has the key: queued in its
    lane, running, or failed and blocking), ``blockedAt``, and
    ``callbackHolder`` (the job whose callback goes out now)."""
    return f"{ordering_prefix()}{hook_id}:{key_id}"


def ordering_jobs(hook_id: str, key_id: str) -> str:
    """List: the key's jobs waiting for it, in the order accepted."""
    return f"{ordering(hook_id, key_id)}:jobs"


def ordering_callbacks(hook_id: str, key_id: str) -> str:
    """List: the key's jobs whose callbacks wait for the one going out."""
    return f"{ordering(hook_id, key_id)}:callbacks"


def ordering_blocked(hook_id: str) -> str:
    """Sorted set: a hook's blocked ordering keys (key ids) by when they
    blocked. The id comes last: the ordering Lua builds it from a prefix."""
    return f"{PREFIX}:order-blocked:{hook_id}"


def ordering_waiting() -> str:
    """Hash: per hook, its events waiting for their ordering key (outside
    the lane, yet counted against its ``maxQueued``)."""
    return f"{PREFIX}:order-waiting"


def ordering_key_id(key: str) -> str:
    """A key's id in Redis: SHA-1 in hex, so any key (a path, a long header)
    makes a short key name without separators."""
    return hashlib.sha1(key.encode("utf-8", "surrogateescape"), usedforsecurity=False).hexdigest()


def api_token(token_id: str) -> str:
    """Hash: an API token's record (its SHA-256, never the token); expires with it."""
    return f"{PREFIX}:apitoken:{token_id}"


def api_token_ids() -> str:
    """Set: ids of every API token (an expired record's id is dropped when listed)."""
    return f"{PREFIX}:apitokens"


def audit(project_id: str) -> str:
    """Stream: a project's audit entries, ids by time, trimmed to the retention (MINID)."""
    return f"{PREFIX}:audit:{project_id}"


def api_auth_failures(client: str) -> str:
    """String: a client address's failed API authentications in the window."""
    return f"{PREFIX}:api-auth-failures:{client}"


# -- callback destinations (issue 24, item 5) ----------------------------------


def destinations() -> str:
    """Sorted set: every callback destination (``scheme://host:port``) by when
    a delivery last touched it (``GET /api/destinations`` lists these)."""
    return f"{PREFIX}:destinations"


def destination(dest: str) -> str:
    """Hash: a destination's circuit breaker: failure streak, ``openUntil``,
    ``cooldownS``, the half-open probe's lease, last error and success."""
    return f"{PREFIX}:destination:{dest}"


def destination_parked(dest: str) -> str:
    """Sorted set: job ids whose callback waits for the destination's breaker
    to close, by when they were parked (the oldest is the next probe)."""
    return f"{PREFIX}:destination:{dest}:parked"


def destination_pending(dest: str) -> str:
    """Sorted set: job ids with a callback pending for the destination
    (parked, waiting for a retry or a rate slot, or in flight), scored by when
    the entry goes stale (the job's retention from its last touch)."""
    return f"{PREFIX}:destination:{dest}:pending"


def destination_rate(dest: str, hook_id: str) -> str:
    """String: the hook's token bucket for the destination (``callback.ratePerS``),
    as the time its next call may go (GCRA's theoretical arrival, epoch ms);
    expires once idle."""
    return f"{PREFIX}:destination:{dest}:rate:{hook_id}"


def destination_wakeups() -> str:
    """Sorted set: destinations whose breaker may half-open (or whose probe
    lease lapses), by when; the callback promoter sends one parked delivery
    then as the probe."""
    return f"{PREFIX}:destinations:wake"


def hook_draft(hook_id: str) -> str:
    """String: the hook's draft (JSON: a whole definition, the live version it
    was saved over, the hook's ``since``); deleted with the hook or when promoted."""
    return f"{PREFIX}:hookdraft:{hook_id}"


def hook_revision(hook_id: str, version: int) -> str:
    """String: one version's settings (JSON, without script or credentials), so
    a rollback brings back the whole version, not only its script (``script``)."""
    return f"{PREFIX}:hookrev:{hook_id}:{version}"


def hook_revisions_of(hook_id: str) -> str:
    """SCAN pattern: every stored version's settings of a hook (``hook_revision``)."""
    return f"{PREFIX}:hookrev:{hook_id}:*"


def shadow_results(hook_id: str) -> str:
    """Hash: the hook's shadow run counts by outcome, for the draft whose
    ``etag`` it holds (reset when the draft changes; workers/store/shadow)."""
    return f"{PREFIX}:shadow:{hook_id}"


def shadow_recent(hook_id: str) -> str:
    """List: the hook's last shadow runs that did not answer the same (JSON,
    newest first, capped), for the draft of ``shadow_results``' etag."""
    return f"{PREFIX}:shadowrecent:{hook_id}"
