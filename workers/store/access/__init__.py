"""Who may do what: projects, API tokens (stored as hashes) and the audit log."""
