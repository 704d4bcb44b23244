"""Unbound extension objects; `create_app` binds them. No application state lives here."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from crm.core.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# One unambiguous date format in every language (issue 25): ISO dates and 24-hour times, whichever named
# length a template asks for ("short", "medium" …); never a US month/day. A pattern given in full (such as
# "EEE", a weekday) is used as it is.
ISO_DATE, ISO_TIME, ISO_DATETIME = "yyyy-MM-dd", "HH:mm", "yyyy-MM-dd HH:mm"
babel = Babel(date_formats={
    "date": "medium", "time": "medium", "datetime": "medium",
    **{f"date.{n}": ISO_DATE for n in ("short", "medium", "long", "full")},
    **{f"time.{n}": ISO_TIME for n in ("short", "medium", "long", "full")},
    **{f"datetime.{n}": ISO_DATETIME for n in ("short", "medium", "long", "full")},
})
api = Api()
