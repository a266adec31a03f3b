"""SQL for the tables more than one service uses: one module per table family, and no SQL elsewhere.

``documents`` (the API's reads and writes, the worker's status changes, full-text search), ``thumbnails``,
``blobs`` (``document_blobs`` and their chunks), ``jobs`` (the queue and ``job_attempts``) and
``audit`` (the append-only ``audit_log``: the API appends and reads, the worker prunes).
The schema itself is the API's migrations; a table only one service uses keeps its SQL in that
service (the API's ``domain/auth/repository.py`` for users and refresh tokens).
"""
