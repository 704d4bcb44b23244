"""Static files: every `url_for('static', ...)` carries a version stamp of the file (`?v=`, from its
modification time), and an answer to a stamped URL may be cached for a year (a new file gets a new stamp,
so browsers never keep an old one). Unstamped URLs (fonts a stylesheet names, a hand-typed path) are cached
for an hour and revalidated with their ETag. The favicon is /static/favicon.svg; /favicon.ico, which some
browsers and tools ask for on their own, redirects to it."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from flask import Flask
from flask import Response
from flask import redirect
from flask import request
from flask import url_for

STAMPED_MAX_AGE = 365 * 24 * 3600
UNSTAMPED_MAX_AGE = 3600


def register_static_files(app: Flask) -> None:
    folder = app.static_folder or ""

    @lru_cache(maxsize=512)
    def stamp(filename: str) -> str | None:
        try:
            return format(int(os.stat(os.path.join(folder, filename)).st_mtime), "x")
        except (OSError, ValueError):
            return None

    @app.url_defaults
    def static_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values and isinstance(values.get("filename"), str):
            version = stamp(values["filename"]) if not app.debug else None
            if version:
                values["v"] = version

    @app.after_request
    def static_caching(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code in (200, 304):
            age = STAMPED_MAX_AGE if request.args.get("v") else UNSTAMPED_MAX_AGE
            response.headers["Cache-Control"] = f"public, max-age={age}" + (", immutable" if age == STAMPED_MAX_AGE
                                                                             else "")
        return response

    @app.get("/favicon.ico")
    def favicon() -> Any:
        return redirect(url_for("static", filename="favicon.svg"), 301)
