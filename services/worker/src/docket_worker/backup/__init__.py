"""Backup and restore of the Docket database: `docket-worker backup …` and `docket-worker restore`."""
