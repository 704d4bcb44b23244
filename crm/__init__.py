"""The CRM application factory: config -> extensions -> blueprints, CLI, scheduler. The only wiring point."""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

from flask import Flask
from flask import g
from flask import has_request_context
from flask import request
from flask import session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from crm.config import Config
from crm.config import database_url_default
from crm.extensions import api as rest_api
from crm.extensions import babel
from crm.extensions import csrf
from crm.extensions import db
from crm.extensions import login_manager
from crm.extensions import migrate

CONTEXTS = ("org", "auth", "notify", "integrations", "workflow", "approvals", "customers", "highseas", "sales", "finance", "enquiries",
            "work", "aftersales", "inbox", "processes", "dashboard")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    app.config.from_prefixed_env("CRM")
    if config:
        app.config.update(config)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = database_url_default(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if app.config["DATABASE_URL"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    if app.config["SECRET_KEY"] == Config.SECRET_KEY and not app.config["DATABASE_URL"].startswith("sqlite"):
        app.logger.warning("CRM_SECRET_KEY is the development default: set a long random value in production")
    # The remember-me cookie is as Secure as the session cookie unless set on its own.
    app.config.setdefault("REMEMBER_COOKIE_SECURE", bool(app.config["SESSION_COOKIE_SECURE"]))
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind that many reverse proxies: take the client address and scheme from their X-Forwarded-*
        # headers (the log-in limit per address counts the real client, not the proxy).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    _init_extensions(app)
    _register_request_hooks(app)
    # Each context registers its models, pages, API resources, jobs, operators, navigation, signal
    # handlers and registrations in its `wiring.init_app`, lower layers first: operators and forms are
    # registered before any diagram is validated (deployments run from the CLI and the demo seed).
    for context in CONTEXTS:
        import_module(f"crm.{context}.wiring").init_app(app)
    from crm.auth.rest import register_resources
    from crm.cli import register_cli

    register_resources(app)

    register_cli(app)
    return app


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # Foreign keys on, and let SQLAlchemy issue BEGIN itself so SAVEPOINTs work (the pysqlite fix from
    # the SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite" and not getattr(engine, "_crm_sqlite_hooks", False):
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            engine._crm_sqlite_hooks = True  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql" and not getattr(engine, "_crm_pg_hooks", False):
            event.listen(engine, "connect", _postgres_timeouts(app.config))
            engine._crm_pg_hooks = True  # type: ignore[attr-defined]
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories="translations")

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    from crm.auth import views as auth_views

    login_manager.user_loader(auth_views.load_user)
    login_manager.request_loader(auth_views.load_user_from_token)
    login_manager.unauthorized_handler(auth_views.unauthorized)
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    rest_api.init_app(app)


def _postgres_timeouts(config: Any) -> Any:
    """Every connection of the app bounds its statements and its idle transactions (DESIGN §6: no lock
    outlives a step's budget for long, whatever a process or a stuck worker does)."""
    settings = [(name, int(config.get(key) or 0)) for name, key in (
        ("statement_timeout", "DB_STATEMENT_TIMEOUT_MS"),
        ("idle_in_transaction_session_timeout", "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"),
    )]

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        wanted = [(name, ms) for name, ms in settings if ms > 0]
        if not wanted:
            return
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a SET outside any transaction: the pool's reset keeps it
        try:
            with dbapi_connection.cursor() as cursor:
                for name, ms in wanted:
                    cursor.execute(f"SET {name} = {ms}")
        finally:
            dbapi_connection.autocommit = autocommit

    return on_connect


def _select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]  # type: ignore[no-any-return]
    if request.path.startswith("/api/"):
        # The API is stateless: the client's Accept-Language decides, then the token user's preference.
        asked = _accepted_language(languages)
        if asked:
            return asked
    lang = session.get("lang")
    if lang in languages:
        return lang  # type: ignore[no-any-return]
    user = current_user if current_user and current_user.is_authenticated else None
    if user is not None and getattr(user, "locale", None) in languages:
        return user.locale  # type: ignore[no-any-return]
    return _accepted_language(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]  # type: ignore[no-any-return]


def _accepted_language(languages: dict[str, str]) -> str | None:
    """The first of the client's languages (by quality) that we speak, matching on the primary tag:
    "zh-CN,en;q=0.5" is Chinese (werkzeug's best_match would prefer the exact "en")."""
    for value, _quality in request.accept_languages:
        primary = value.replace("_", "-").split("-")[0].lower()
        if primary in languages:
            return primary
    return None


def _register_request_hooks(app: Flask) -> None:
    from crm.core import nav
    from crm.core.objects import register_template_helpers
    from crm.core.static_files import register_static_files
    from crm.core.web import register_error_handlers
    from crm.core.web import register_security_headers
    from crm.core.web import register_transaction_hooks

    register_error_handlers(app)
    register_static_files(app)
    # Before the transaction hook: after_request functions run last-registered first, so the headers also
    # reach the 409 / 503 answers that hook may put in place of the view's. The public lead form is made
    # to be embedded in other sites' pages.
    register_security_headers(app, embeddable=("lead_forms",))
    register_transaction_hooks(app)
    register_template_helpers(app)

    @app.before_request
    def bind_actor() -> None:
        # The operation log reads the acting user from the session's info (see crm.core.audit).
        user = current_user._get_current_object() if current_user and current_user.is_authenticated else None
        if user is not None:
            # Permissions and scope are cached on the user object for one request only.
            user.__dict__.pop("_permissions", None)
            user.__dict__.pop("_scope_context", None)
            user.__dict__.pop("_requested_store_filter", None)
        db.session.info["actor_id"] = user.id if user is not None else None
        g.actor = user
        if user is not None:
            from crm.auth.scopes import request_store_filter

            request_store_filter(user, session.get("store_filter"))

    @app.context_processor
    def layout_context() -> dict[str, Any]:
        from flask_babel import get_locale

        return {
            "nav_for": lambda section: nav.nav_for(current_user, section),
            "nav_tree": lambda section: nav.nav_tree(current_user, section),
            "languages": app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
        }
