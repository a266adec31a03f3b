"""Personal access tokens: long-lived, scoped, revocable bearer credentials for scripts and clients."""
