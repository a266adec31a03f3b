"""Deploy tooling: checks before and after `helm upgrade`, with automatic rollback."""
