"""Per-key ordering in the store (issue 24): the Lua that CREATE, FINISH and
delivery records include, and the reads and resume of blocked keys."""
