"""Prometheus counters of the auth context: every refusal that protects sign-in and tokens."""

from __future__ import annotations

from prometheus_client import Counter

PASSWORD_HASH_REJECTIONS = Counter(
    "docket_password_hash_rejections_total",
    "Registrations and logins refused with 503 because every password-hashing slot stayed busy",
)
LOGIN_THROTTLE_REJECTIONS = Counter(
    "docket_login_throttle_rejections_total",
    "Logins refused with 429 by the failed-login throttle, by what was over its budget",
    ["scope"],  # "account" or "client"
)
TOKEN_CHECK_UNAVAILABLE = Counter(
    "docket_token_revocation_check_failures_total",
    "Authenticated requests refused with 503 because Redis could not say whether the token was revoked",
)
