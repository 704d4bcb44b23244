"""`flask crm ...` commands: demo data, the first admin, serving with the scheduler, the scheduler alone."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from crm.extensions import db

crm_cli = AppGroup("crm", help="CRM administration commands.")


processes_cli = AppGroup("processes", help="BPMN process definitions.")
crm_cli.add_command(processes_cli)


highseas_cli = AppGroup("highseas", help="The high seas (customer pools).")
crm_cli.add_command(highseas_cli)


@highseas_cli.command("sweep")
@click.option("--store", "store_id", type=int, default=None, help="Only this store's pool.")
def highseas_sweep(store_id: int | None) -> None:
    """Run the recycle sweep now (what the scheduler runs daily): recycle, remind, record every reason."""
    from crm.highseas.sweep import sweep

    try:
        result = sweep(store_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"recycled {result['recycled']}, reminded {result['reminded']}")


receivables_cli = AppGroup("receivables", help="The receivables' maintained due rows (finance_receivable_due).")
crm_cli.add_command(receivables_cli)


@receivables_cli.command("verify")
def receivables_verify() -> None:
    """Compare the due rows with a recomputation from the orders; exit 1 and list the differences."""
    from crm.finance.ledger.dues import differences

    diff = differences(db.session.connection(), limit=50)
    db.session.rollback()
    if diff:
        click.echo("\n".join(diff))
        raise click.ClickException("the receivables' due rows differ from the orders (run `flask crm receivables rebuild`)")
    click.echo("the receivables' due rows equal a recomputation")


@receivables_cli.command("rebuild")
def receivables_rebuild() -> None:
    """Rewrite the due rows from the orders, plans and instalments (one transaction)."""
    from crm.finance.ledger.dues import rebuild

    try:
        written = rebuild(db.session.connection())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"{written} due rows written")


def register_cli(app: Flask) -> None:
    app.cli.add_command(crm_cli)


@processes_cli.command("deploy")
def processes_deploy() -> None:
    """Deploy every processes/*.bpmn and *.dmn whose content changed, as a new version."""
    _deploy_processes(verbose=True)


def _deploy_processes(verbose: bool = False) -> None:
    from crm.workflow.deploy import DeploymentRejected
    from crm.workflow.deploy import deploy_directory

    try:
        result = deploy_directory()
    except DeploymentRejected as exc:
        db.session.rollback()
        raise click.ClickException(
            "processes/ was not deployed:\n" + "\n".join(f"  {p}" for p in exc.problems)
        ) from exc
    db.session.commit()
    for d in result.created:
        click.echo(f"deployed {d.key} version {d.version}")
    if verbose and result.unchanged:
        click.echo("unchanged: " + ", ".join(sorted(result.unchanged)))


@processes_cli.command("retranslate-tasks")
def processes_retranslate_tasks() -> None:
    """Render the open inbox tasks' titles and instructions again in every language (after new translations)."""
    from crm.workflow.admin.repair import retranslate_open_tasks

    try:
        changed = retranslate_open_tasks()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"open tasks with new texts: {changed}")


@crm_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def seed_demo(if_empty: bool) -> None:
    """Load the demo organisation and users (password from CRM_DEMO_PASSWORD, default Demo#2026)."""
    from crm.auth.defaults import ensure_default_roles
    from crm.auth.services import hash_password
    from crm.org import demo

    password = current_app.config["DEMO_PASSWORD"]
    if demo.has_data():
        if not if_empty:
            raise click.ClickException("The database already has users; seed-demo only fills an empty database.")
        click.echo("The database already has data; no demo data loaded.")
    else:
        db.session.info["actor_id"] = None
        roles = ensure_default_roles()
        created = demo.seed(hash_password(password), roles)
        from crm.approvals import demo as approvals_demo
        from crm.customers import demo as customer_demo
        from crm.highseas import demo as highseas_demo
        from crm.sales.catalog import demo as sales_demo
        from crm.sales.opportunities import demo as opportunity_demo

        sales_demo.seed(created["users"]["13800000001"])  # the super admin fills the catalogue
        approvals_demo.seed()
        customer_demo.seed(created["users"])
        opportunity_demo.seed_opportunities_and_quotes(created["users"])
        highseas_demo.seed()
        from crm.finance import demo as finance_demo
        from crm.sales.orders import demo as order_demo

        # Deploys the processes: orders run through the real pipeline, and their money through finance.
        order_demo.seed(created["users"], finance_demo.pay)
        finance_demo.seed(created["users"])
        from crm.aftersales import demo as aftersales_demo

        aftersales_demo.seed(created["users"])
        from crm.enquiries import demo as enquiry_demo

        enquiry_demo.seed(created["users"])
        db.session.commit()
        click.echo("Demo data loaded.")
    _print_logins(password)


def _print_logins(password: str) -> None:
    from crm.org import demo

    rows = demo.login_table()
    if not rows:
        return
    click.echo("")
    click.echo(f"Demo log-ins (password for all: {password}):")
    for mobile, name, roles, unit in rows:
        click.echo(f"  {mobile}  {name:<6}  {roles:<22}  {unit}")
    click.echo("")


@crm_cli.command("sync-roles")
@click.option("--dry-run", is_flag=True, help="Only list what would change.")
@click.option("--decline", is_flag=True, help="Record the new default permissions as offered without granting them.")
def sync_roles(dry_run: bool, decline: bool) -> None:
    """After an upgrade: create the default roles this database lacks and grant the built-in roles the
    default permissions added since they were created (each one once: a permission an admin took away
    stays away). The same as the notice on Administration → Roles."""
    from crm.auth.defaults import apply_defaults
    from crm.auth.defaults import pending_defaults

    db.session.info["actor_id"] = None
    pending = pending_defaults()
    for item in pending:
        if item.role is None:
            listed = ", ".join(item.permissions) if len(item.permissions) <= 8 else f"{len(item.permissions)} permissions"
            click.echo(f"new role {item.key}: {listed or '-'}")
        else:
            click.echo(f"{item.key}: {'decline' if decline else 'grant'} {', '.join(item.permissions)}")
    if not pending:
        click.echo("The roles are up to date.")
    if dry_run:
        db.session.rollback()
        return
    try:
        apply_defaults(grant=not decline, actor=None)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


@crm_cli.command("create-admin")
@click.option("--mobile", required=True)
@click.option("--name", required=True)
@click.option("--email", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--hq-name", default="Headquarters", help="Name of the HQ unit, created when the tree is empty.")
def create_admin(mobile: str, name: str, email: str, password: str, hq_name: str) -> None:
    """Create the default roles, the HQ unit if missing, and a super admin (first production set-up)."""
    from sqlalchemy import select

    from crm.auth.defaults import ensure_default_roles
    from crm.auth.services import check_new_password
    from crm.auth.services import hash_password
    from crm.core.errors import ValidationFailed
    from crm.org import services
    from crm.org.models import OrgUnit
    from crm.org.models import UnitKind
    from crm.org.models import User

    errors: dict[str, str] = {}
    check_new_password(password, errors)
    if errors:
        raise click.ClickException(errors["password"])
    roles = ensure_default_roles()
    system = User(id=0, name="system")
    hq = db.session.scalar(select(OrgUnit).where(OrgUnit.kind == UnitKind.HQ))
    try:
        if hq is None:
            hq = services.create_unit({"kind": "hq", "name": hq_name}, actor=system)
        user = services.create_user(
            {"mobile": mobile, "name": name, "email": email, "org_unit_id": hq.id},
            password_hash=hash_password(password), roles=[roles["super_admin"]], actor=system,
        )
    except ValidationFailed as exc:
        db.session.rollback()
        raise click.ClickException("; ".join(f"{k}: {', '.join(v)}" for k, v in exc.errors.items())) from exc
    db.session.commit()
    click.echo(f"Super admin {user.name} ({user.mobile}) created.")


@crm_cli.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=2, type=int, show_default=True, help="gunicorn worker processes.")
@click.option("--no-scheduler", is_flag=True, help="Serve pages only; run `flask crm scheduler` elsewhere.")
def serve(host: str, port: int, workers: int, no_scheduler: bool) -> None:
    """Serve the app with gunicorn (the production server, settings in gunicorn.conf.py) and run the
    scheduler beside it in this process (the demo and small installs; docs/operators.md)."""
    import subprocess

    from crm.core.jobs import start_scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _deploy_processes()
    if _demo_present():
        _print_logins(app.config["DEMO_PASSWORD"])
    # The CLI's app context lives as long as the server: end its transaction now. Left open, its read
    # lock on SQLite makes every request's commit wait for it ("database is locked" after the timeout),
    # and on PostgreSQL it would sit idle in transaction.
    db.session.remove()
    root = Path(app.root_path).parent  # run.py and gunicorn.conf.py
    command = [sys.executable, "-m", "gunicorn", "--config", str(root / "gunicorn.conf.py"), "--chdir", str(root),
               "--bind", f"{host}:{port}", "--workers", str(max(1, workers)), "--access-logfile", "-", "run:app"]
    # The workers run no scheduler of their own: this process runs the one scheduler.
    server = subprocess.Popen(command, env={**os.environ, "CRM_SCHEDULER_ENABLED": "false"})
    scheduler = None if no_scheduler else start_scheduler(app)
    click.echo(f"Serving on http://{host}:{port}  (Ctrl+C to stop)")

    def _stop(*_args: object) -> None:
        server.terminate()

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.wait()
    except KeyboardInterrupt:  # Ctrl+C reaches gunicorn too (same process group): let it finish
        server.wait(timeout=35)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=35)
        if scheduler is not None:
            scheduler.shutdown(wait=False)
    sys.exit(server.returncode if server.returncode and server.returncode > 0 else 0)


def _demo_present() -> bool:
    from crm.org import demo

    return bool(demo.login_table())


@crm_cli.command("scheduler")
def scheduler_cmd() -> None:
    """Run only the scheduler (timers, e-mail, sweeps) until stopped. Safe to run in several processes."""
    from crm.core.jobs import start_scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _deploy_processes()
    scheduler = start_scheduler(app)
    stop = {"flag": False}

    def _stop(*_args: object) -> None:
        stop["flag"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo("Scheduler running; Ctrl+C to stop.")
    while not stop["flag"]:
        time.sleep(0.5)
    scheduler.shutdown(wait=True)
    sys.exit(0)
