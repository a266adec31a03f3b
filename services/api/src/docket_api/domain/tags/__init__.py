"""Tags: per workspace, case-insensitive, limited in count and length; their SQL and their counts."""
