"""Jobs: their records, the job store and its Lua steps, reads and waits,
the search indexes, and the public view of a job."""
