"""The kanban's wiring: the summaries' maintenance (a flush listener), the `flask crm kanban` commands,
the page, the API and the digest job."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

kanban_cli = AppGroup("kanban", help="The data kanban's summary tables.")


@kanban_cli.command("rebuild")
def kanban_rebuild() -> None:
    """Recompute every summary table from the raw rows."""
    from crm.dashboard.kanban import rebuild
    from crm.extensions import db

    db.session.info["kanban_maintenance"] = False
    counts = rebuild.rebuild(db.session.connection())
    db.session.commit()
    click.echo(" ".join(f"{name}={n}" for name, n in sorted(counts.items())))


@kanban_cli.command("verify")
def kanban_verify() -> None:
    """Compare the summary tables with a recomputation; exit 1 with the differences on a mismatch."""
    from crm.dashboard.kanban import rebuild
    from crm.extensions import db

    lines = rebuild.verify(db.session.connection())
    db.session.rollback()
    if lines:
        for line in lines:
            click.echo(line)
        raise SystemExit(1)
    click.echo("kanban summaries match the recomputation")


def init_app(app: Flask) -> None:
    import crm.dashboard.kanban.models  # noqa: F401  (the mappers)
    from crm.auth.rest import add_resource
    from crm.cli import crm_cli
    from crm.core.jobs import register_job
    from crm.core.nav import NavItem
    from crm.core.nav import add_nav
    from crm.dashboard.kanban import api
    from crm.dashboard.kanban import services
    from crm.dashboard.kanban.jobs import send_digests
    from crm.dashboard.kanban.views import bp

    if not event.contains(Session, "after_flush", services.after_flush):
        event.listen(Session, "after_flush", services.after_flush)
        event.listen(Session, "before_commit", services.before_commit)
        event.listen(Session, "after_transaction_end", services.forget_pending)
    crm_cli.add_command(kanban_cli)
    app.register_blueprint(bp)
    add_resource(api.blp, order=175)
    register_job("kanban.digest", send_digests, "interval", minutes=10)
    add_nav(NavItem("main", "kanban.index", _l("Data kanban"), "speedometer2", permission="kanban.view", order=1))
