"""Use cases. Each public method owns one transaction; nothing here imports a web framework."""
