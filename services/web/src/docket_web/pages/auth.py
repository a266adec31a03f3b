"""Sign up, sign in and sign out: the API's tokens go into a server-side session, never to the browser."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from docket_web.server.api import Api, ApiUnavailableError, SignInRequiredError, problem_of, raise_for_status
from docket_web.server.render import AnyRequest, page, provide_api, safe_next, with_query
from docket_web.server.sessions import SessionStore

logger = logging.getLogger("docket.web.auth")
MIN_PASSWORD_LENGTH = 10  # the API's rule; the API checks it again
MAX_FIELD_CHARS = 1024


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value[:MAX_FIELD_CHARS] if isinstance(value, str) else ""


async def _start_session(
    request: AnyRequest, api: Api, email: str, password: str, target: str
) -> Response[Any] | None:
    """Log in at the API and redirect with a fresh session cookie; None when the credentials are wrong."""
    response = await api.send(
        "POST", "/api/v1/auth/login", json={"email": email, "password": password}, auth=False
    )
    if response.status_code in (400, 401, 422):
        return None
    raise_for_status(response)
    sessions: SessionStore = request.app.state.sessions
    if api.session is not None:  # a session from before: it ends, so an old id can never be promoted
        await sessions.delete(api.session.id)
    session = await sessions.create(email, response.json())
    redirect = Redirect(target, status_code=303)
    redirect.set_cookie(sessions.cookie(session))
    return redirect


class AuthController(Controller):
    dependencies = {"api": Provide(provide_api)}

    @get("/", name="home")
    async def home(self, request: AnyRequest, api: NamedDependency[Api]) -> Response[Any]:
        """The welcome page; signed-in users go straight to their documents."""
        if api.session is not None:
            return Redirect("/documents", status_code=303)
        return page(request, "home.html")

    @get("/signin")
    async def signin_form(
        self, request: AnyRequest, api: NamedDependency[Api], next: FromQuery[str] = ""
    ) -> Template:
        """The sign-in form."""
        return page(request, "signin.html", next=safe_next(next), email="", errors={})

    @post("/signin", status_code=303)
    async def signin(self, request: AnyRequest, api: NamedDependency[Api]) -> Response[Any]:
        """Check the credentials at the API and start a session, or show the form again with errors."""
        form = await request.form()
        email, password = _field(form, "email").strip(), _field(form, "password")
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = "Enter your email address."
        if not password:
            errors["password"] = "Enter your password."  # noqa: S105  # a message, not a secret
        if not errors:
            target = safe_next(_field(form, "next"))
            signed_in = await _start_session(request, api, email, password, target)
            if signed_in is not None:
                return signed_in
            errors["form"] = "The email or password is not right. Check them and try again."
        status = 401 if "form" in errors else 400
        return page(
            request,
            "signin.html",
            status=status,
            next=safe_next(_field(form, "next")),
            email=email,
            errors=errors,
        )

    @get("/signup")
    async def signup_form(self, request: AnyRequest, api: NamedDependency[Api]) -> Template:
        """The form that creates an account."""
        return page(request, "signup.html", email="", errors={}, min_password=MIN_PASSWORD_LENGTH)

    @post("/signup", status_code=303)
    async def signup(self, request: AnyRequest, api: NamedDependency[Api]) -> Response[Any]:
        """Create the account at the API, then sign in and go to the upload page."""
        form = await request.form()
        email, password = _field(form, "email").strip(), _field(form, "password")
        errors: dict[str, str] = {}
        if "@" not in email:
            errors["email"] = "Enter an email address, like name@example.com."
        if len(password) < MIN_PASSWORD_LENGTH:
            errors["password"] = f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
        if not errors:
            created = await api.send(
                "POST", "/api/v1/auth/register", json={"email": email, "password": password}, auth=False
            )
            if created.status_code == 201:
                signed_in = await _start_session(request, api, email, password, "/upload?notice=welcome")
                if signed_in is not None:
                    return signed_in
                errors["form"] = "Your account was created, but signing in failed. Please sign in."
            elif created.status_code == 409:
                errors["email"] = "An account with this email already exists. Sign in instead."
            elif created.status_code in (400, 422):
                for item in problem_of(created).get("errors") or [{}]:
                    text = f"{item.get('field', '')} {item.get('message', '')}".lower()
                    if "password" in text:
                        errors["password"] = (
                            f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
                        )
                    else:
                        errors["email"] = "Enter a valid email address, like name@example.com."
            else:
                raise_for_status(created)
        return page(
            request, "signup.html", status=400, email=email, errors=errors, min_password=MIN_PASSWORD_LENGTH
        )

    @post("/signout", status_code=303)
    async def signout(self, request: AnyRequest, api: NamedDependency[Api]) -> Response[Any]:
        """Revoke the tokens at the API, end the session and forget the cookie."""
        sessions: SessionStore = request.app.state.sessions
        if api.session is not None:
            session_id, refresh_token = api.session.id, api.session.refresh_token
            try:  # revoke the refresh family at the API; the local session ends whatever it says
                await api.send("POST", "/api/v1/auth/logout", json={"refresh_token": refresh_token})
            except (ApiUnavailableError, SignInRequiredError):
                logger.warning("sign-out: the API did not revoke the tokens; they expire on their own")
            await sessions.delete(session_id)
        redirect = Redirect(with_query("/signin", notice="signed-out"), status_code=303)
        redirect.set_cookie(sessions.expired_cookie())
        return redirect
