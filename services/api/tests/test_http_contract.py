"""What every API response promises: security headers, problem+json errors, CORS, size limits, OpenAPI."""

from __future__ import annotations

from collections.abc import Callable

import httpx

PROBLEM = "application/problem+json"
EXPECTED_HEADERS = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def _assert_security_headers(response: httpx.Response) -> None:
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, f"{name} on {response.request.url}"
    assert "camera=()" in response.headers["permissions-policy"]


def test_security_headers_are_on_success_error_and_probe_responses(api: httpx.Client) -> None:
    for response in (
        httpx.get(f"{api.management}/healthz"),
        httpx.get(f"{api.management}/readyz"),
        api.get("/healthz"),  # the public port's 404
        api.get("/api/v1/auth/me"),
        api.get("/no/such/route"),
        api.post("/api/v1/auth/login", content=b"{"),
        api.get("/api/openapi.json"),
    ):
        _assert_security_headers(response)


def test_every_error_is_problem_json_without_a_stack_trace(api: httpx.Client) -> None:
    cases = {
        404: api.get("/no/such/route"),
        405: api.delete("/api/v1/auth/me"),
        400: api.post(
            "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422: api.post("/api/v1/auth/register", json={"email": "not-an-email", "password": "long enough pw"}),
        401: api.get("/api/v1/auth/me"),
    }
    for status, response in cases.items():
        assert response.status_code == status
        assert response.headers["content-type"].startswith(PROBLEM)
        body = response.json()
        assert body["status"] == status
        assert body["instance"] == response.request.url.path
        assert body["type"].startswith("urn:docket:problem:")
        assert body["title"]
        assert body["detail"]
        assert "Traceback" not in response.text


def test_validation_errors_name_each_field(api: httpx.Client) -> None:
    response = api.post("/api/v1/auth/register", json={"email": "a@example.com", "password": "short"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "password", "message": "Expected `str` of length >= 10"}]


def test_body_over_max_body_bytes_is_413_before_it_is_read(serve_api: Callable[..., str]) -> None:
    base = serve_api(max_body_bytes=1024)
    body = b'{"email": "a@example.com", "password": "' + b"x" * 4096 + b'"}'
    response = httpx.post(
        f"{base}/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)

    def endless() -> object:
        # a chunked body with no Content-Length: the limit must hold while streaming too
        for _ in range(64):
            yield b"x" * 1024

    streamed = httpx.post(
        f"{base}/api/v1/auth/login", content=endless(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


def test_cors_preflight_allows_only_configured_origins(serve_api: Callable[..., str]) -> None:
    base = serve_api(cors_origins=("https://app.example",))
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = httpx.options(
        f"{base}/api/v1/auth/login", headers={"Origin": "https://app.example", **preflight}
    )
    assert allowed.status_code in (200, 204)
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert allowed.headers["access-control-allow-credentials"] == "true"

    denied = httpx.options(
        f"{base}/api/v1/auth/login", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in denied.headers
    simple = httpx.get(f"{base}/api/v1/auth/me", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_openapi_documents_bearer_auth_rate_limit_headers_and_problem_bodies(api: httpx.Client) -> None:
    spec = api.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    me = spec["paths"]["/api/v1/auth/me"]["get"]
    assert me["security"] == [{"BearerToken": []}]
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(
        me["responses"]["200"]["headers"]
    )
    for status in ("401", "422", "429", "500"):
        assert "application/problem+json" in me["responses"][status]["content"]
    assert "ProblemDetail" in spec["components"]["schemas"]


def test_swagger_ui_is_served_outside_production_only(serve_api: Callable[..., str]) -> None:
    local = serve_api()
    assert httpx.get(f"{local}/api/docs").status_code == 200
    production = serve_api(environment="production")
    assert httpx.get(f"{production}/api/docs").status_code == 404
    assert httpx.get(f"{production}/api/openapi.json").status_code == 200
    with_flag = serve_api(environment="production", enable_swagger=True)
    assert httpx.get(f"{with_flag}/api/docs").status_code == 200


def test_options_allows_every_method_of_the_path(api: httpx.Client) -> None:
    assert api.options("/api/v1/documents").headers["allow"] == "GET, OPTIONS, POST"
    one = api.options("/api/v1/documents/00000000-0000-0000-0000-000000000000")
    assert one.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
    assert api.options("/api/v1/auth/login").headers["allow"] == "OPTIONS, POST"


def test_request_bodies_are_strict_and_the_schema_says_so(api: httpx.Client) -> None:
    spec = api.get("/api/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("Credentials", "Registration", "RefreshRequest", "LogoutRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    extra = api.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "x", "remember": True})
    assert extra.status_code == 422
    assert "remember" in extra.json()["errors"][0]["message"]


def test_the_schema_states_formats_the_server_enforces(api: httpx.Client) -> None:
    spec = api.get("/api/openapi.json").json()
    assert spec["components"]["schemas"]["Registration"]["properties"]["email"]["pattern"].startswith("^[^@")
    listing = {p["name"]: p for p in spec["paths"]["/api/v1/documents"]["get"]["parameters"]}
    assert listing["cursor"]["schema"]["pattern"].startswith("^[0-9]{1,17}")
    content = spec["paths"]["/api/v1/documents/{document_id}/content"]["get"]["responses"]
    assert {"text/plain", "application/pdf"} <= set(content["200"]["content"])
    assert (
        "text/event-stream"
        in spec["paths"]["/api/v1/documents/{document_id}/events"]["get"]["responses"]["200"]["content"]
    )
    upload = spec["paths"]["/api/v1/documents"]["post"]["requestBody"]
    assert upload["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    logout = spec["paths"]["/api/v1/auth/logout"]["post"]["requestBody"]
    assert logout["required"] is False
    assert "LogoutRequest" in str(logout["content"]["application/json"]["schema"])
    # and the server agrees: an email with a trailing newline matches neither side
    trailing = {"email": "a@example.com\n", "password": "long enough pw"}
    assert api.post("/api/v1/auth/register", json=trailing).status_code == 422
