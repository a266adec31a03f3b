"""The audit log: who did what, where, to what, from which address; and the admins' reading of it."""
