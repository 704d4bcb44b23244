"""Web-edge helpers shared by every blueprint: the per-request transaction, error pages and JSON problem
details, form-error plumbing, and small view helpers."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import jsonify
from flask import render_template
from flask import request
from flask import session
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.extensions import db

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def problem(status: int, title: str, detail: str | None = None, errors: dict[str, list[str]] | None = None) -> Response:
    """An RFC 9457 problem-details response; `errors` maps field names to messages."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    return resp


def problem_title(status: int, has_field_errors: bool) -> str:
    """The one title of a kind of 422: field errors (a schema's or a business rule's, every path dotted as
    `lines.0.quantity`) are "Some fields are invalid"; a refusal of the request as a whole is "Could not
    complete the request"."""
    if status == 422 and has_field_errors:
        return str(_("Some fields are invalid"))
    return str(_("Could not complete the request"))


def error_page(status: int, title: str, detail: str | None = None) -> tuple[str, int]:
    return render_template("errors/error.html", status=status, title=title, detail=detail), status


def _respond(
    status: int, title: str, detail: str | None = None, errors: dict[str, list[str]] | None = None, *, keep: bool = False
) -> Any:
    if keep:
        keep_despite_error()  # the error itself was recorded (e.g. on a process instance): keep it
    else:
        db.session.rollback()
    if wants_json():
        return problem(status, title, detail, errors)
    return error_page(status, title, detail)


def keep_despite_error() -> None:
    """Commit this request's writes even though it answers with an error status (400 or above): for a
    refusal that must itself be remembered (the log-in's failed-attempt counter, a failed process step's
    error on its instance). The request's transaction hook does the commit."""
    g.commit_on_error = True


def keeps_changes_despite_error() -> bool:
    """Whether this request's writes are committed although it answers an error (`keep_despite_error`)."""
    return bool(g.get("commit_on_error"))


def forget_refused_write(exc: DomainError | None = None) -> None:
    """A write was refused and the page is about to be rendered again (a form with its errors): forget
    what the attempt wrote, so the page shows the stored state; or, for an error that recorded itself
    (`keep_changes`: a failed process step's error on its instance), keep it. The request's transaction
    hook commits or rolls back; views never call commit or rollback themselves."""
    if exc is not None and getattr(exc, "keep_changes", False):
        keep_despite_error()
    else:
        db.session.rollback()


def flash_refusal(exc: DomainError) -> None:
    """A page action a business rule refused, answered on the page it came from: "not found" stays a 404,
    what the attempt wrote is forgotten, and every message (each field's, or the rule's) is flashed."""
    if exc.status == 404:
        abort(404)
    forget_refused_write(exc)
    messages = ([m for ms in exc.errors.values() for m in ms] if isinstance(exc, ValidationFailed)
                else [str(exc.message)])
    for message in messages:
        flash(message, "danger")


def attempt(action: Callable[[], Any], on_refused: Callable[[DomainError], Any]) -> Any:
    """`action()`, or `on_refused(exc)` when a business rule refuses it (`DomainError`, but not "not
    found", which answers 404 as everywhere): the one way a page re-renders a form after a refused write.
    What the attempt wrote is forgotten first (`forget_refused_write`)."""
    try:
        return action()
    except DomainError as exc:
        if exc.status == 404:
            raise
        forget_refused_write(exc)
        return on_refused(exc)


def register_error_handlers(app: Flask) -> None:
    # Every handler rolls back first: translating the title selects the locale, which may read the user
    # from the session, and after a failed flush that read would raise again (PendingRollbackError).
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        # Errors that recorded themselves (`keep_changes`, e.g. a failed process step) are committed;
        # every other one leaves nothing behind.
        keep = bool(getattr(exc, "keep_changes", False))
        if not keep:
            db.session.rollback()
        titles = {
            404: _("Not found"),
            403: _("Not allowed"),
            409: _("Conflict"),
            401: _("Not signed in"),
            429: _("Too many requests"),
        }
        title = titles.get(exc.status) or problem_title(exc.status, bool(exc.errors))
        return _respond(exc.status, title, str(exc.message), exc.errors, keep=keep)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        db.session.rollback()
        return _respond(
            400,
            _("The form expired"),
            _("The security token of this form is missing or expired. Go back, reload the page and submit again."),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        db.session.rollback()
        # flask-smorest / webargs put field messages in exc.data["messages"]
        messages = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
        errors = _flatten_messages(messages) if messages else None
        titles = {
            400: _("Bad request"),
            401: _("Not signed in"),
            403: _("Not allowed"),
            404: _("Not found"),
            405: _("Method not allowed"),
            409: _("Conflict"),
            413: _("Too large"),
            429: _("Too many requests"),
        }
        code = exc.code or 500
        title = titles.get(code) or (problem_title(code, bool(errors)) if code == 422 else exc.name)
        detail = _("The page or record does not exist, or you may not see it.") if exc.code == 404 else None
        answer = _respond(code, title, detail, errors)
        if code == 405:  # the methods the resource does answer (RFC 9110 §15.5.6)
            allow = dict(exc.get_headers()).get("Allow")
            response = answer if isinstance(answer, Response) else current_app.make_response(answer)
            if allow:
                response.headers["Allow"] = allow
            return response
        return answer

    @app.errorhandler(IntegrityError)
    def integrity_error(exc: IntegrityError) -> Any:
        db.session.rollback()
        log.warning("integrity error: %s", exc.orig)
        return _respond(409, _("Conflict"), _("This change clashes with data saved meanwhile. Reload and try again."))

    @app.errorhandler(DataError)
    def data_error(exc: DataError) -> Any:
        db.session.rollback()
        # Values the database refuses (numbers out of range, bad encodings) are bad input, not a crash.
        log.warning("data error: %s", exc.orig)
        return _respond(400, _("Bad request"), _("A value in the request is invalid."))

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeoutError)
    def database_error(exc: Exception) -> Any:
        if database_unavailable(exc):
            return unavailable_response(exc)
        return unexpected(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        if database_unavailable(exc):  # a driver error that SQLAlchemy did not wrap
            return unavailable_response(exc)
        log.exception("unhandled error")
        db.session.rollback()
        return _respond(500, _("Something went wrong"), _("The error was logged. Try again, or tell an administrator."))


# The database went away ----------------------------------------------------------------------------------
RETRY_AFTER_SECONDS = 10


def _driver_errors() -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - SQLite-only installations
        return ()
    return (psycopg.OperationalError, psycopg.InterfaceError)


_DRIVER_ERRORS = _driver_errors()


def database_unavailable(exc: BaseException) -> bool:
    """True for errors that mean "the database cannot be reached or dropped the connection" (the server
    restarted, an administrator or a timeout ended the backend, the pool is exhausted): a retry later can
    succeed, so the answer is 503, not 500. Integrity and data errors are the request's own fault."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc, OperationalError | InterfaceError)
    return bool(_DRIVER_ERRORS) and isinstance(exc, _DRIVER_ERRORS)


def _language_without_database() -> str:
    """The answer's language, chosen without a query (the session's choice, else the browser's): the
    usual selector may read the signed-in user, and the database is what just failed."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    for value, _quality in request.accept_languages:
        primary = value.replace("_", "-").split("-")[0].lower()
        if primary in languages:
            return primary
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def unavailable_response(exc: BaseException | None = None) -> Response:
    """503 with Retry-After, as a page or problem+json; the session is rolled back (nothing of the request
    is kept) and nothing here touches the database, which may still be away."""
    log.error("database unavailable: %s", exc, exc_info=exc)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection may refuse even the rollback; the pool discards it
        log.warning("rollback after a lost connection failed", exc_info=True)
    language = _language_without_database()
    with force_locale(language):
        title = _("The service is briefly unavailable")
        detail = _("The connection to the database was interrupted. Try again in a moment.")
        if wants_json():
            response = problem(503, title, detail)
        else:
            # Rendered straight from the environment: context processors (navigation, store switcher)
            # would query the database again.
            template = current_app.jinja_env.get_template("errors/unavailable.html")
            body = template.render(status=503, title=title, detail=detail,
                                   html_lang="zh-Hans" if language == "zh" else language)
            response = Response(body, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    g.commit_on_error = False
    return response


def _flatten_messages(messages: Any) -> dict[str, list[str]]:
    """webargs nests messages by location (json, query ...); flatten to field -> [messages], a nested
    schema's or list item's field named with dots like the services name it (`lines.0.quantity`)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for loc, fields in messages.items():
            if isinstance(fields, dict):
                for field, msgs in fields.items():
                    _nested(str(field), msgs, out)
            else:
                out[str(loc)] = _as_list(fields)
    return out


def _nested(name: str, msgs: Any, out: dict[str, list[str]]) -> None:
    if isinstance(msgs, dict) and msgs and all(isinstance(v, (dict, list)) for v in msgs.values()):
        for key, value in msgs.items():
            _nested(name if key == "_schema" else f"{name}.{key}", value, out)
    else:
        out.setdefault(name, []).extend(_as_list(msgs))


def _as_list(msgs: Any) -> list[str]:
    if isinstance(msgs, list):
        return [str(m) for m in msgs]
    if isinstance(msgs, dict):
        return [f"{k}: {', '.join(_as_list(v))}" for k, v in msgs.items()]
    return [str(msgs)]


def register_transaction_hooks(app: Flask) -> None:
    """One transaction per request: commit when the view answered below 400, roll back otherwise."""

    @app.after_request
    def commit_or_rollback(response: Response) -> Response:
        if g.get("_skip_commit"):
            return response
        if response.status_code < 400 or g.get("commit_on_error"):
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                log.warning("commit failed", exc_info=True)
                if wants_json():
                    return problem(409, _("Conflict"), _("This change clashes with data saved meanwhile. Reload and try again."))
                body, status = error_page(409, _("Conflict"), _("This change clashes with data saved meanwhile. Reload and try again."))
                return Response(body, status=status, mimetype="text/html")
            except (DBAPIError, PoolTimeoutError) as exc:
                if not database_unavailable(exc):
                    raise
                return unavailable_response(exc)
        else:
            db.session.rollback()
        return response


# Security headers ------------------------------------------------------------------------------------------
# Scripts only from our own files (no inline script, no inline event handler, no eval): an injected
# <script> or onerror= does not run. Inline style attributes remain in the templates, hence 'unsafe-inline'
# for styles only. data: images are Bootstrap's and bpmn-js's inline SVG icons; the data: font is the
# BPMN editor's (bpmn-embedded.css).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors {ancestors}"
)
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                      "microphone=(), payment=(), usb=()")
HSTS_SECONDS = 365 * 24 * 3600


def register_security_headers(app: Flask, *, embeddable: tuple[str, ...] = ()) -> None:
    """The security headers of every answer (pages, API, errors, static files). Pages of the blueprints in
    `embeddable` (the public lead form, made to sit in an <iframe> on other sites) may be framed by any
    site; every other page by none. HSTS only when the session cookie is Secure, i.e. behind HTTPS."""
    framed = CONTENT_SECURITY_POLICY.format(ancestors="*")
    unframed = CONTENT_SECURITY_POLICY.format(ancestors="'none'")
    embeddable_blueprints = frozenset(embeddable)

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        if request.blueprint in embeddable_blueprints:
            headers.setdefault("Content-Security-Policy", framed)
        else:
            headers.setdefault("Content-Security-Policy", unframed)
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
        return response


def form_data() -> dict[str, Any]:
    """request.form as a plain dict; multi-valued fields (checkbox lists) come back as lists."""
    out: dict[str, Any] = {}
    for key in request.form:
        values = request.form.getlist(key)
        out[key] = values if key.endswith("[]") or len(values) > 1 else values[0]
    return {k.removesuffix("[]"): v for k, v in out.items()}


_NEXT_MAX_LENGTH = 2048
# Control characters (C0, DEL, C1), backslashes, line/paragraph separators, BOM, whitespace but the space.
_UNSAFE_NEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\\\u2028\u2029\ufeff]|[^\S ]")


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from the request (?next=, a form's `next`, a stored link), or `default` when it
    could lead anywhere but a path of this site. The one validator for every user-supplied redirect.

    Browsers read URLs loosely: they drop tabs and newlines anywhere, treat `\\` as `/`, and strip
    leading spaces and control characters, so `/\\t/evil.example` and `/\\\\evil.example` both mean
    `//evil.example`, another host. Hence the target, its NFKC form and its percent-decoded forms must all
    be a plain absolute path: starting with one `/`, no scheme, no host, no backslash, no whitespace other
    than a space, no control character (a CR/LF would also break the Location header)."""
    if not isinstance(target, str) or not target or len(target) > _NEXT_MAX_LENGTH:
        return default
    forms = [target, unicodedata.normalize("NFKC", target)]
    decoded = target
    for _level in range(3):  # double-encoded payloads (%252F) as well
        decoded = unquote(decoded)
        forms += [decoded, unicodedata.normalize("NFKC", decoded)]
    for form in forms:
        if not form.startswith("/") or form.startswith("//") or _UNSAFE_NEXT.search(form):
            return default
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return default
    return target


def int_arg(name: str, default: int | None = None) -> int | None:
    """An integer query-string argument; anything unparsable counts as absent."""
    raw = request.args.get(name, "")
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if 0 < value < 2**31 else default


def download(body: bytes, mimetype: str, name: str) -> Response:
    """A generated file (an export) for the browser or an API client to save as `name`, never cached."""
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


def stored_file_response(path: Any, content_type: str, name: str, *, inline: bool = False,
                         cache_seconds: int = 0) -> Response:
    """An uploaded file (see crm.core.files) to the browser or an API client: read whole (uploads are
    size-limited, and no file handle outlives the request), never type-sniffed by the browser, private
    to the signed-in user. `inline` shows pictures in the page instead of downloading them."""
    import io

    from flask import send_file

    response = send_file(io.BytesIO(path.read_bytes()), mimetype=content_type, as_attachment=not inline,
                         download_name=name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = f"private, max-age={cache_seconds}" if cache_seconds else "private, no-store"
    return response
