"""The console's one-minute stats buckets: written through a per-process
buffer, read back as series and summaries."""
