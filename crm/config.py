"""Configuration. Defaults live here; every key can be overridden from the environment with the
`CRM_` prefix (`CRM_DATABASE_URL`, `CRM_SECRET_KEY`, `CRM_SCHEDULER_ENABLED=false` ...), values parsed
as JSON where possible (Flask's `from_prefixed_env`)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from crm.core.workcalendar import CN_HOLIDAYS
from crm.core.workcalendar import CN_MAKEUP_DAYS


class Config:
    SECRET_KEY = "dev-only-secret-change-me"
    # SQLite under instance/ unless CRM_DATABASE_URL says otherwise (see `create_app`).
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Sessions and cookies. SESSION_COOKIE_SECURE must be true behind HTTPS (production).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

    # Log-in throttling: this many failures lock the identifier for LOGIN_LOCK_MINUTES.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    PASSWORD_MIN_LENGTH = 8

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Web hardening. REMEMBER_COOKIE_SECURE follows SESSION_COOKIE_SECURE unless set (see create_app).
    # Failed log-ins per client address: this many within LOGIN_ADDRESS_WINDOW_MINUTES lock the address
    # for that long, whatever the account (0: no limit). TRUSTED_PROXIES: how many reverse proxies in front
    # of the app set X-Forwarded-For/-Proto (0: the connection's address; behind nginx set 1, or every
    # client shares the proxy's address and its limit).
    LOGIN_ADDRESS_MAX_FAILURES = 20
    LOGIN_ADDRESS_WINDOW_MINUTES = 15
    TRUSTED_PROXIES = 0

    LANGUAGES = {"en": "English", "zh": "简体中文"}
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"

    PAGE_SIZE = 50

    # Orders: a shipped order's receipt is confirmed automatically after this many days (order_pipeline's
    # timer; the value is given to each new order's process, running ones keep theirs).
    ORDER_RECEIPT_DAYS = 7
    # After-sales (after_sales.bpmn, values given to each new case's process): the customer ships the goods
    # back within AFTER_SALES_RETURN_DAYS or the case closes, reminded AFTER_SALES_RETURN_REMINDER_DAYS
    # before; a replacement's receipt is confirmed automatically after AFTER_SALES_RECEIPT_DAYS.
    AFTER_SALES_RETURN_DAYS = 14
    AFTER_SALES_RETURN_REMINDER_DAYS = 3
    AFTER_SALES_RECEIPT_DAYS = 7

    # Process steps (DESIGN §6): a step whose scripts, expressions and operators run longer than this is
    # stopped and rolled back, with the error on the instance (0: no limit). On PostgreSQL every
    # connection of the app also gets statement_timeout and idle_in_transaction_session_timeout (ms, 0:
    # the server's default), so no statement or forgotten transaction holds row locks for long.
    PROCESS_STEP_BUDGET_SECONDS = 5
    DB_STATEMENT_TIMEOUT_MS = 30_000
    DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000

    # Spreadsheet imports (customers, leads, products). An upload is only checked cheaply in the request: its
    # size, type, and for XLSX the zip's unpacked size and compression ratio (read from the zip's directory)
    # and the sheet's declared size; the background job reads the rows and stops a file at IMPORT_MAX_ROWS
    # data rows whatever it declares (crm/core/workbook_guard.py). The product import allows 5,000 rows.
    IMPORT_MAX_ROWS = 100_000
    IMPORT_MAX_COLUMNS = 200
    IMPORT_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
    IMPORT_MAX_RATIO = 100

    # Files attached to tasks: stored under TASK_ATTACHMENT_DIR (default instance/uploads/<yyyy>/<mm>/).
    TASK_ATTACHMENT_DIR: str | None = None
    TASK_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

    # REST API (flask-smorest) — OpenAPI at /api/v1/openapi.json, Swagger UI at /api/v1/docs.
    API_TITLE = "CRM API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui/"
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A personal API token"}
            }
        },
        "security": [{"bearerAuth": []}],
    }

    SCHEDULER_ENABLED = False  # `flask crm serve` and `flask crm scheduler` switch it on
    SCHEDULER_INTERVAL_SECONDS = 5
    HIGHSEAS_SWEEP_AT = "02:00"  # daily high-seas recycle sweep, HH:MM server time (CRM_HIGHSEAS_SWEEP_AT)
    # From this time (HH:MM, Asia/Shanghai) salespeople without yesterday's enquiry figures are reminded.
    ENQUIRY_REMINDER_AT = "10:00"
    # From this time (HH:MM, Asia/Shanghai) of a reporting day (ISO weekdays, 1 = Monday) whoever files work
    # reports and has not filed the day's daily report is reminded, once.
    WORK_REPORT_REMINDER_AT = "18:00"
    WORK_REPORT_DAYS = [1, 2, 3, 4, 5]
    # Receivable plans: an instalment left without its own reminder days is reminded this many days before
    # its due date (the salesperson and the store's finance users, bell and e-mail).
    FINANCE_REMINDER_DAYS = 3

    # The working calendar (crm/core/workcalendar.py) that due dates of process tasks are counted in: working
    # windows (Asia/Shanghai), ISO weekdays worked, public holidays and make-up workdays (days or ranges
    # "2026-10-01/2026-10-07"; the defaults are China's for 2026 and the statutory days of 2027).
    WORK_HOURS = ["09:00-12:00", "13:00-18:00"]
    WORK_WEEK = [1, 2, 3, 4, 5]
    WORK_HOLIDAYS = CN_HOLIDAYS
    WORK_MAKEUP_DAYS = CN_MAKEUP_DAYS
    # A task with a `due` property is reminded this much working time before it (unless its `remind`
    # property says otherwise), and escalated to the role of its `escalate_to` property this much working
    # time after it fell due (unless `escalate_after` says otherwise); the job runs every few minutes.
    TASK_REMIND_BEFORE = "PT2H"
    TASK_ESCALATE_AFTER = "P1D"
    TASK_DUE_POLL_MINUTES = 5

    DEMO_PASSWORD = "Demo#2026"

    # E-mail (notifications): the outbox is sent by the `notify.send_email` job over SMTP. Without
    # SMTP_HOST nothing is sent (mails wait in the outbox). SMTP_SSL: implicit TLS (port 465);
    # SMTP_STARTTLS: upgrade a plain connection (port 587).
    SMTP_HOST: str | None = None
    SMTP_PORT = 25
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = False
    SMTP_SSL = False
    SMTP_FROM = "crm@localhost"
    SMTP_TIMEOUT = 10
    EMAIL_INTERVAL_SECONDS = 30
    BASE_URL = ""  # e.g. https://crm.example.com: links in e-mails become absolute

    # Webhooks (crm/integrations/webhooks): the outbox is sent by the `integrations.send_webhooks` job every
    # WEBHOOK_INTERVAL_SECONDS; each attempt waits WEBHOOK_TIMEOUT_SECONDS at most; a delivery is given up
    # after WEBHOOK_MAX_ATTEMPTS (backoff 30 s, 1 min, 2 min … capped at 6 h). Endpoints must be https://
    # public addresses: WEBHOOK_ALLOW_HTTP_LOCALHOST lets http://localhost through (development, tests),
    # WEBHOOK_ALLOW_PRIVATE_NETWORKS private and loopback addresses (never in production: SSRF).
    # WEBHOOK_CA_FILE: a CA bundle to verify the receivers' certificates with (default: the system's).
    WEBHOOK_INTERVAL_SECONDS = 10
    WEBHOOK_TIMEOUT_SECONDS = 5
    WEBHOOK_MAX_ATTEMPTS = 8
    WEBHOOK_ALLOW_HTTP_LOCALHOST = False
    WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    WEBHOOK_CA_FILE: str | None = None


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = True
    PASSWORD_HASH_FAST = True  # argon2 with minimal cost parameters: the suite logs in thousands of times


def database_url_default(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + os.path.join(instance_path, "crm.sqlite3")
