"""The CRM application factory: config -> extensions -> blueprints, CLI, scheduler. The only wiring point."""

from __future__ import annotations

import os
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
from crm.extensions import api as rest_api  # not `api`: importing the crm.api package rebinds that name
from crm.extensions import babel
from crm.extensions import csrf
from crm.extensions import db
from crm.extensions import login_manager
from crm.extensions import migrate


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
    _register_blueprints(app)
    _register_request_hooks(app)

    _register_jobs(app)
    _connect_contexts()
    from crm.cli import register_cli

    register_cli(app)
    return app


def _register_jobs(app: Flask) -> None:
    from crm.auth.jobs import purge_login_throttle
    from crm.core.jobs import register_job
    from crm.customers.jobs import follow_up_reminders
    from crm.customers.jobs import run_imports
    from crm.highseas.jobs import sweep as highseas_sweep
    from crm.notify.jobs import send_email
    from crm.sales.quotes.jobs import expire_quotes
    from crm.workflow.jobs import fire_due_timers

    every = int(app.config["SCHEDULER_INTERVAL_SECONDS"])
    register_job("auth.purge_login_throttle", purge_login_throttle, "interval", hours=1)
    register_job("notify.send_email", send_email, "interval", seconds=int(app.config["EMAIL_INTERVAL_SECONDS"]))
    register_job("workflow.fire_due_timers", fire_due_timers, "interval", seconds=every)
    register_job("customers.follow_up_reminders", follow_up_reminders, "interval", minutes=1)
    register_job("customers.run_imports", run_imports, "interval", seconds=every)
    register_job("sales.expire_quotes", expire_quotes, "interval", minutes=10)
    hour, minute = _clock_time(app.config.get("HIGHSEAS_SWEEP_AT", "02:00"), "CRM_HIGHSEAS_SWEEP_AT")
    register_job("highseas.sweep", highseas_sweep, "cron", hour=hour, minute=minute)


def _clock_time(value: Any, setting: str) -> tuple[int, int]:
    """"HH:MM" -> (hour, minute); a setting that is not a time of day stops start-up with its name."""
    text = str(value).strip()
    hour, _, minute = text.partition(":")
    if hour.isdigit() and (minute or "0").isdigit() and int(hour) < 24 and int(minute or 0) < 60:
        return int(hour), int(minute or 0)
    raise RuntimeError(f"{setting} must be a time of day such as 02:00, not {text!r}")


def _connect_contexts() -> None:
    """Contexts learn about each other only here (and through BPMN): upstream sends core signals and
    offers registries; downstream subscribes and registers."""
    from flask_babel import lazy_gettext as _l
    from flask_login import current_user

    from crm.core import signals
    from crm.core.web import register_object_page
    from crm.customers import queries as customer_queries
    from crm.customers.queries import register_list_column
    from crm.highseas.rules import register_exemption
    from crm.highseas.services import on_customer_locking
    from crm.highseas.services import on_customer_released
    from crm.highseas.sweep import days_until_recycle_cells
    from crm.notify.services import on_follow_up_due
    from crm.notify.services import on_task_opened
    from crm.sales.opportunities.queries import open_opportunity_customer_ids
    from crm.sales.orders import queries as order_queries
    from crm.sales.orders.models import ORDER_STATUS_LABELS
    from crm.sales.quotes import queries as quote_queries

    # Tasks and process instances only hold an object reference; these are the pages they link to.
    # The link shows the object's name or number as the reader may see it (their scope), else "#id".
    register_object_page("customer", "customers.detail", "customer_id", _l("Customer"),
                         lambda oid: customer_queries.name_of(oid, current_user))
    register_object_page("quote", "sales.quote_detail", "quote_id", _l("Quote"),
                         lambda oid: quote_queries.number_of(oid, current_user))
    register_object_page("order", "sales.order_detail", "order_id", _l("Order"),
                         lambda oid: order_queries.number_of(oid, current_user), statuses=ORDER_STATUS_LABELS)
    signals.task_opened.connect(on_task_opened)
    signals.follow_up_due.connect(on_follow_up_due)
    signals.customer_released.connect(on_customer_released)
    signals.customer_locking.connect(on_customer_locking)
    # The recycle sweep spares customers with an open opportunity (when the pool says so).
    register_exemption("open_opportunity", open_opportunity_customer_ids)
    # The customer list can show how many days an owned customer has before the sweep recycles it.
    register_list_column("days_until_recycle", _l("Days until recycle"), days_until_recycle_cells)


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
    # Every model module must be imported before the mappers configure and before Alembic compares.
    # Contexts register their service-task operators with the engine.
    import crm.approvals.bpmn  # noqa: F401
    import crm.approvals.models  # noqa: F401
    import crm.auth.models  # noqa: F401
    import crm.core.audit  # noqa: F401
    import crm.customers.models  # noqa: F401
    import crm.highseas.bpmn  # noqa: F401
    import crm.highseas.models  # noqa: F401
    import crm.notify.models  # noqa: F401
    import crm.org.models  # noqa: F401
    import crm.sales.catalog.models  # noqa: F401
    import crm.sales.hooks  # noqa: F401
    import crm.sales.opportunities.models  # noqa: F401
    import crm.sales.orders.bpmn  # noqa: F401
    import crm.sales.orders.models  # noqa: F401
    import crm.sales.quotes.bpmn  # noqa: F401
    import crm.sales.quotes.models  # noqa: F401
    import crm.workflow.models  # noqa: F401

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


def _register_blueprints(app: Flask) -> None:
    from crm.api import register_api
    from crm.approvals.views import bp as approvals_bp
    from crm.auth.views import bp as auth_bp
    from crm.customers.views import bp as customers_bp
    from crm.customers.views import public as lead_forms_bp
    from crm.dashboard.views import bp as dashboard_bp
    from crm.highseas.views import bp as highseas_bp
    from crm.inbox.views import bp as inbox_bp
    from crm.notify.views import bp as notify_bp
    from crm.org.views import bp as org_bp
    from crm.processes.views import bp as processes_bp
    from crm.sales.blueprint import bp as sales_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(lead_forms_bp)
    # The public lead form is posted from other sites: no session, no CSRF cookie (honeypot and rate limit).
    csrf.exempt(lead_forms_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(sales_bp)
    app.register_blueprint(approvals_bp)
    app.register_blueprint(notify_bp)
    app.register_blueprint(processes_bp)
    app.register_blueprint(highseas_bp)
    register_api(app)


def _register_request_hooks(app: Flask) -> None:
    from crm.core import nav
    from crm.core.web import register_error_handlers
    from crm.core.web import register_security_headers
    from crm.core.web import register_template_helpers
    from crm.core.web import register_transaction_hooks

    register_error_handlers(app)
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
