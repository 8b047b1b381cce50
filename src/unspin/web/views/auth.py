"""The API key: the check on API routes, the redirect of pages to the key form, and the key form."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from unspin.web.analysis import WebError
from unspin.web.context import KEY_COOKIE, KEY_HEADER, WebContext, context, page

router = APIRouter(include_in_schema=False)


def require_key(request: Request) -> None:
    """A dependency for API routes: 401 unless the request carries the server's key (when it has one)."""
    if not context(request).key_ok(request):
        raise WebError(401, "unauthorized", f"missing or wrong API key: send it in the {KEY_HEADER} header")


def login_redirect(request: Request) -> RedirectResponse:
    """Send a browser without the key to the key form, coming back here after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def safe_next(target: str | None) -> str:
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return "/"


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    return page(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request, ctx: WebContext = Depends(context)) -> Response:
    form = await request.form(max_files=0, max_fields=3)
    key = form.get("key")
    target = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)  # type: ignore[arg-type]
    if not isinstance(key, str) or not ctx.api_key or not key or not ctx.check_key(request, key):
        return page(request, "login.html", {"next": target, "error": "That key is not right."}, 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(KEY_COOKIE, key, httponly=True, samesite="strict")
    return response
