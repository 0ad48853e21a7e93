"""The dashboard's web app: Starlette routes over one signed node client, pages by Jinja2.

Read-only: every route is a GET that reads from the node with the dashboard's key, so a page
shows exactly what that key may see. Pages carry a Content-Security-Policy that allows nothing
but this app's own stylesheet (no script, no asset from anywhere else), and only requests
naming an allowed host are served (a web page elsewhere cannot reach the dashboard through
DNS rebinding).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import jinja2
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evalfed.client.node_client import NodeClient
from evalfed.core.errors import EvalfedError, LimitError, NotFoundError
from evalfed.core.timeutil import iso_of_us, timestamp_us
from evalfed.dashboard import views

log = logging.getLogger("evalfed.dashboard")

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def when(value: Timestamp | int) -> str:
    """A protobuf Timestamp or microseconds, as an ISO date; "never" for none."""
    us = timestamp_us(value) if isinstance(value, Timestamp) else value
    return iso_of_us(us) if us else "never"


def page_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evalfed.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = when
    env.filters["num"] = views.fmt
    return env


def build_app(client: NodeClient, allowed_hosts: Sequence[str]) -> Starlette:
    """The dashboard over `client`, answering requests for `allowed_hosts` only."""
    templates = Jinja2Templates(env=page_environment())

    def page(request: Request, name: str, code: int = 200, **context: Any) -> Response:
        context.update(
            institute=client.institute,
            key_id=client.key.key_id if client.key else "",
            node=client.address,
            node_institute=client.info.institute,
        )
        return templates.TemplateResponse(request, name, context, status_code=code)

    def matrix_page(request: Request, title: str, model: str = "", task: str = "") -> Response:
        return page(request, "matrix.html", title=title, model=model, task=task,
                    matrix=views.matrix(client, model, task))  # fmt: skip

    def index(request: Request) -> Response:
        model = request.query_params.get("model", "")
        task = request.query_params.get("task", "")
        return matrix_page(request, "Comparison", model, task)

    def model_page(request: Request) -> Response:
        model = request.path_params["model"]
        return matrix_page(request, f"Model {model}", model=model)

    def task_page(request: Request) -> Response:
        task = request.path_params["task"]
        return matrix_page(request, f"Task {task}", task=task)

    def record(request: Request) -> Response:
        found = views.record_page(client, request.path_params["id"])
        return page(request, "record.html", title=f"Record {found.id[:16]}", record=found)

    def bundle(request: Request) -> Response:
        wanted = request.path_params["id"]
        text = views.bundle_json(client, wanted)
        return Response(
            text,
            media_type="application/json",
            headers={"content-disposition": f'attachment; filename="{wanted}.bundle.json"'},
        )

    def members(request: Request) -> Response:
        return page(request, "members.html", title="Members", members=client.members())

    def partners(request: Request) -> Response:
        return page(request, "partners.html", title="Partners", status=client.status())

    def failure(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            status, message = exc.status_code, str(exc.detail)
        elif isinstance(exc, NotFoundError):
            status, message = 404, f"not found: {exc}"
        elif isinstance(exc, LimitError):
            status, message = 413, str(exc)
        elif isinstance(exc, EvalfedError):
            status, message = 502, f"the node at {client.address} answered: {exc}"
        else:
            log.exception("dashboard page %s failed", request.url.path)
            status, message = 500, "internal error; the dashboard's log has the details"
        return page(request, "error.html", code=status, title="Error", message=message)

    routes = [
        Route("/", index),
        Route("/models/{model:path}", model_page),
        Route("/tasks/{task:path}", task_page),
        Route("/records/{id}", record),
        Route("/records/{id}/bundle", bundle),
        Route("/members", members),
        Route("/partners", partners),
        Mount("/static", StaticFiles(packages=[("evalfed.dashboard", "static")]), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
        ],
        exception_handlers={EvalfedError: failure, HTTPException: failure, Exception: failure},
    )
