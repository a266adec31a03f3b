"""How much one account can create, so that nobody can flood a workspace or the database."""

from __future__ import annotations

MAX_OWNED_WORKSPACES = 50  # shared workspaces one user owns
MAX_MEMBERS = 500  # members of one workspace
MAX_PENDING_INVITATIONS = 50  # open invitation links of one workspace
MAX_TOKENS = 50  # live personal access tokens of one user
MAX_TAGS_PER_WORKSPACE = 500
MAX_TAGS_PER_DOCUMENT = 20
MAX_TAG_CHARS = 40
