"""The web app's routes, one module per kind of page: `api` (REST under /api), `pages` (the form, the article
page, exports, the API reference), `corpus` (the corpus dashboard) and `auth` (the key form)."""

from __future__ import annotations

from fastapi import APIRouter

from unspin.web.views import api, auth, corpus, pages

routers: list[APIRouter] = [api.router, api.keyed, pages.router, auth.router, corpus.router]

__all__ = ["routers"]
