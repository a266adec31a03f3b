"""The web's own Prometheus counters (served with the shared ones on the management port)."""

from __future__ import annotations

from prometheus_client import Counter

REFUSALS = Counter(
    "docket_web_refusals_total",
    "Requests the web refused to protect everyone else, by reason: csrf (no or a bad token), "
    "sign-in-required (a POST without a session, refused before its body), body-too-slow (the "
    "request body missed its deadline), session-expired (past SESSION_MAX_AGE_SECONDS)",
    ["reason"],
)
