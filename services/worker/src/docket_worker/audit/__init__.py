"""Pruning the audit log past its retention (AUDIT_RETENTION_DAYS)."""
