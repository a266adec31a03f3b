"""Workspaces, their members and invitations, and the one authorization table every route asks."""
