"""Shared fixtures and helpers (the tests of more than one folder use them; a folder's own live in its
conftest.py, object builders in tests/factories.py).

- `app` is session-scoped; its schema is built once with create_all (migrations are tested on their own
  in tests/test_migrations.py). On PostgreSQL (CRM_TEST_DATABASE_URL) every run works in a fresh schema
  that is dropped at the end; on SQLite in a temporary file.
- `db_session` (autouse) wraps each test in an outer transaction; the code under test commits to a
  SAVEPOINT (SQLAlchemy 2 "join_transaction_mode=create_savepoint"), and everything is rolled back after.
- `client`, `login_as(user)`, `csrf(client)`; `org` builds a small org tree with users in several stores;
  `fang` is a salesperson with a known mobile number and e-mail in a small tree of her own.
- Pages: `post(client, path, data)` (with a CSRF token), `html(resp)`, `field_errors(resp)`,
  `options(resp, name)`.
- The REST API: `api_org` (the org with `api.use` for store managers and salespeople), `token(user)`,
  `call(method, path, user, json=...)`; `grant(role, *permissions)`, `assert_problem(resp, status, *fields)`.
- Real commits (races between threads or processes need real transactions and row locks): a module marked
  `committed` works in a database of its own instead of the savepointed session::

      pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]

      @pytest.fixture(scope="module")
      def shared(tmp_path_factory):
          with committed_app(tmp_path_factory.mktemp("x"), "crm_x", setup) as (url, app, ids):
              yield app, ids

- The inbox test process (tests/data/wf_inbox.*: a first task whose form has every widget):
  `deploy_inbox_process()`, `start_review(store, ...)`; the fixtures `inbox` (the org with it deployed),
  `review(store, ...)` (a started instance's open task) and `uploads` (task attachments in a temporary
  folder; autouse in tests/inbox and tests/workflow/tasks).
- The selling world: `products`, `customers`, `quote_process`, `staff` (quote and order helpers:
  tests/sales/conftest.py).
- Process admin: `owner` and `store_admin` (process owners at HQ and in store A), `chain(key, *steps)` (a
  straight diagram) and `deploy_chain`.
- Counted work (like Django's assertNumQueries): `statements()` collects the SQL the block sends;
  `assert_statements(seen, {"postgresql": n, "sqlite": m})` fails with the statements listed. How to change
  a guarded count on purpose: tests/test_counted_work.py.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session
from sqlalchemy.orm import sessionmaker

from crm import create_app
from crm.approvals import chains as approval_chains
from crm.auth.services import create_token
from crm.extensions import db
from crm.sales.catalog import services as product_services
from crm.workflow import registry
from crm.workflow import runtime
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from crm.workflow.deploy import deploy_files
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus
from tests import factories
from tests.factories import OrgUnitFactory
from tests.factories import UserFactory
from tests.factories import make_customer


def _postgres_schema_url(base_url: str, schema: str) -> str:
    url = make_url(base_url)
    query = dict(url.query)
    query["options"] = f"-csearch_path={schema}"
    # The schema's name as the sessions' application name: a test that looks at pg_stat_activity sees its own
    # sessions, not those of whatever else uses the same database (another suite, a benchmark).
    query["application_name"] = schema[:63]
    return url.set(query=query).render_as_string(hide_password=False)


@contextmanager
def isolated_database(directory: Path, prefix: str) -> Iterator[str]:
    """A database nobody else uses, removed afterwards: on PostgreSQL (CRM_TEST_DATABASE_URL) a new
    schema named `<prefix>_<random>`, dropped at the end; otherwise a new SQLite file in `directory`."""
    base = os.environ.get("CRM_TEST_DATABASE_URL")
    if not base:
        yield "sqlite:///" + str(directory / f"{prefix}.sqlite3")
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(base, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with isolated_database(tmp_path_factory.mktemp("db"), "crm_test") as url:
        yield url


def make_test_app(database_url: str, **overrides: Any) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "PASSWORD_HASH_FAST": True,
        "WTF_CSRF_ENABLED": True,
        "SCHEDULER_ENABLED": False,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    app = make_test_app(database_url)
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "committed: the module's tests commit for real in a database of their own "
                                       "(committed_app); the savepointed db_session is off")


@pytest.fixture(autouse=True)
def db_session(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Each test runs inside one outer transaction that is rolled back; commits go to savepoints. A test
    marked `committed` gets no session here: it commits for real, in its own schema (committed_app)."""
    if request.node.get_closest_marker("committed"):
        yield None
        return
    request.getfixturevalue("app")
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    )
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session = original
        if outer.is_active:
            outer.rollback()
        connection.close()


class RequestIsolatedClient(FlaskClient):
    """Tests keep one app context pushed (for the database), and Flask reuses a pushed app context for
    requests, so `g` would leak from one request to the next (Flask-WTF caches the CSRF token there).
    Give every request an empty `g`, as a real server does."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g

        saved = dict(g.__dict__)
        g.__dict__.clear()
        try:
            return super().open(*args, **kwargs)
        finally:
            g.__dict__.clear()
            g.__dict__.update(saved)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = RequestIsolatedClient
    return app.test_client()


_CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf(client: FlaskClient, path: str = "/login") -> str:
    """A valid CSRF token for this client's session, read from a rendered page."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = _CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


@pytest.fixture
def fang(roles: dict[str, Any]) -> Any:
    """A user with a known mobile and a mixed-case e-mail in a small tree of her own; everything committed,
    so error responses (which roll the request back) keep the test's data."""
    hq = OrgUnitFactory(kind="hq", name="HQ")
    store = OrgUnitFactory(kind="store", name="Store", parent=hq)
    user = UserFactory(name="Wang Fang", mobile="13912345678", email="Wang.Fang@Example.com", unit=store,
                       roles=[roles["salesperson"]])
    UserFactory(name="Li Qiang", mobile="13987654321", unit=store, roles=[roles["salesperson"]])
    db.session.commit()
    return user


# Pages ------------------------------------------------------------------------------------------------------
def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client, "/")}, **kwargs)


def html(resp: Any) -> str:
    return resp.get_data(as_text=True)


def field_errors(resp: Any) -> set[str]:
    return set(re.findall(r'data-field-error="([^"]+)"', html(resp)))


def options(resp: Any, name: str) -> list[tuple[str, str]]:
    """(value, label) of the options of the select `name` on the page."""
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html(resp), re.S)
    assert select_html, f"no select {name}"
    return [(v, label.strip()) for v, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_html.group(1))]


@pytest.fixture
def login_as(client: FlaskClient) -> Any:
    """login_as(user): sign the test client in as `user` (through the session, not the form)."""

    def _login(user: Any) -> FlaskClient:
        with client.session_transaction() as sess:
            sess.clear()
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return client

    return _login


@pytest.fixture
def roles() -> dict[str, Any]:
    from crm.auth.defaults import ensure_default_roles

    roles = ensure_default_roles()
    db.session.commit()  # into the test's savepoint: a request that rolls back must not take it along
    return roles


@pytest.fixture
def org(roles: dict[str, Any]) -> factories.Org:
    """A small company: HQ, two subsidiaries, three stores, departments, users in each (see factories.Org)."""
    built = factories.build_org(roles)
    # Commit (to the test's outer transaction): a request answering 4xx rolls its own work back, and an
    # uncommitted fixture would go with it.
    db.session.commit()
    return built


# The REST API -----------------------------------------------------------------------------------------------
def grant(role: Any, *permissions: str) -> None:
    role.permissions = sorted({*role.permission_list, *permissions})
    db.session.flush()


@pytest.fixture
def api_org(org: factories.Org) -> factories.Org:
    """The standard org with `api.use` granted to the store manager and salesperson roles, committed (to the
    test's savepoint) so that a request answering an error, which rolls its transaction back, keeps it."""
    grant(org.roles["store_manager"], "api.use")
    grant(org.roles["salesperson"], "api.use")
    db.session.commit()
    return org


@pytest.fixture
def token() -> Any:
    """token(user): an API token of the user (made once per test)."""
    made: dict[int, str] = {}

    def _token(user: Any, name: str = "test") -> str:
        if user.id not in made:
            _row, plain = create_token(user, name)
            db.session.commit()
            made[user.id] = plain
        return made[user.id]

    return _token


class ApiCaller:
    def __init__(self, client: FlaskClient, token: Any) -> None:
        self.client = client
        self.token = token

    def __call__(self, method: str, path: str, user: Any = None, *, json: Any = None, headers: dict[str, str] | None = None,
                 **kwargs: Any) -> Any:
        sent = dict(headers or {})
        if user is not None:
            sent["Authorization"] = f"Bearer {self.token(user)}"
        return self.client.open(path, method=method, json=json, headers=sent, **kwargs)


@pytest.fixture
def call(client: FlaskClient, token: Any) -> ApiCaller:
    """call("GET", "/api/v1/me", user, json=..., headers=...)"""
    return ApiCaller(client, token)


def assert_problem(resp: Any, status: int, *fields: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["title"]
    for field in fields:
        assert field in body.get("errors", {}), body
        assert all(isinstance(m, str) and m for m in body["errors"][field])
    return body


# Counted work ---------------------------------------------------------------------------------------------
@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block, in order (savepoints included: in the
    tests each commit is a RELEASE SAVEPOINT, and each transaction opens with a SAVEPOINT)."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def assert_statements(seen: list[str], expected: int | dict[str, int]) -> None:
    """`seen` (from `statements()`) has exactly the expected count: one number, or one per dialect
    ("postgresql", "sqlite") where they differ. A count that moves fails with the statements listed."""
    dialect = db.engine.dialect.name
    want = expected if isinstance(expected, int) else expected[dialect]
    listed = "\n".join(f"  {i + 1:2d}. {' '.join(s.split())[:150]}" for i, s in enumerate(seen))
    assert len(seen) == want, (f"{len(seen)} SQL statements on {dialect}, the guard expects {want} (a change on "
                               f"purpose updates the count: see tests/test_counted_work.py):\n{listed}")


# Real commits -----------------------------------------------------------------------------------------------
def requires_postgres(why: str) -> Any:
    return pytest.mark.skipif(not os.environ.get("CRM_TEST_DATABASE_URL"),
                              reason=f"{why}: set CRM_TEST_DATABASE_URL")


@contextmanager
def committed_app(directory: Path, prefix: str, setup: Callable[[Any, dict[str, Any]], dict[str, Any]]
                  ) -> Iterator[tuple[str, Flask, dict[str, Any]]]:
    """(database url, app, ids): a fresh schema with the default roles and the test org, then
    `setup(org, roles)` (deploy processes, make rows) whose returned ids the tests use; committed."""
    from crm.auth.defaults import ensure_default_roles

    with isolated_database(directory, prefix) as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            roles = ensure_default_roles()
            ids = setup(factories.build_org(roles), roles)
            db.session.commit()
            db.session.remove()
        try:
            yield url, app, ids
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


# The inbox test process -------------------------------------------------------------------------------------
INBOX_DATA = Path(__file__).parent / "data"
INBOX_PROCESS = "wf_inbox"


def deploy_inbox_process() -> None:
    """A small process whose first task has a form with every widget (tests/data/wf_inbox.*); the inbox
    tests, the isolation crawler and the bad-input fuzzer use it to have real tasks of several stores."""
    registry.register_forms_dir(INBOX_DATA)
    deploy_directory(INBOX_DATA)
    db.session.flush()


def start_review(store: Any, *, actor: Any = None, candidates: list[Any] = (), **data: Any) -> HumanTask:
    """A new instance in `store`; returns its open "review" task. `candidates` are added to the lane's
    supervisors (through the `assignees` task data the inbox sync reads)."""
    seed = {"order_no": "SO-1", "customer": "ACME Pallets", **data}
    if candidates:
        seed["assignees"] = [u.id for u in candidates]
    instance = runtime.start(INBOX_PROCESS, object_type="order", object_id=7, store_id=store.id, data=seed,
                             actor_id=actor.id if actor is not None else None)
    return db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))
    ).one()


@pytest.fixture
def uploads(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "TASK_ATTACHMENT_DIR", str(folder))
    monkeypatch.setitem(app.config, "TASK_ATTACHMENT_MAX_BYTES", 2048)
    return folder


@pytest.fixture
def inbox(org: factories.Org) -> factories.Org:
    deploy_inbox_process()
    db.session.commit()
    return org


@pytest.fixture
def review(inbox: factories.Org) -> Any:
    def _start(store: Any = None, **kwargs: Any) -> Any:
        task = start_review(store or inbox.store_a, **kwargs)
        db.session.commit()
        return task

    return _start


# The selling world ------------------------------------------------------------------------------------------
# A catalogue (with Chinese names), customers in stores A and B, the `discount_audit` chain (the submitter's
# direct supervisor approves) with the processes deployed, and store A's back office. The sales tests and
# the export check (tests/test_export_formulas.py) use them; quote and order helpers: tests/sales/conftest.py.
@pytest.fixture
def products(org):
    admin = org.hq_admin
    items = {
        "p100": product_services.create_product({"sku": "PL-100", "name": "九脚塑料托盘 1210", "list_price": "100.00",
                                                 "cost_price": "60.00"}, actor=admin),
        "p200": product_services.create_product({"sku": "PL-200", "name": "川字托盘 1311", "list_price": "200.00"},
                                                actor=admin),
        "p999": product_services.create_product({"sku": "PL-999", "name": "Big pallet", "list_price": "10000.00"},
                                                actor=admin),
        "off": product_services.create_product({"sku": "PL-OFF", "name": "Old crate", "list_price": "10.00",
                                                "on_shelf": False}, actor=admin),
    }
    db.session.commit()
    return items


@pytest.fixture
def customers(org):
    items = {"a": make_customer(org.a_rep1, name="宁波港物流"), "a2": make_customer(org.a_rep1, name="Second A"),
             "b": make_customer(org.b_rep, name="B Customer")}
    db.session.commit()
    return items


@pytest.fixture
def quote_process(org):
    deploy_directory(PROCESS_DIR)
    approval_chains.create_chain({"key": "discount_audit", "name": "Discount audit",
                                    "steps": [{"title": "Supervisor", "rule": "supervisor", "mode": "single"}]},
                                   actor=org.hq_admin)
    db.session.commit()


@pytest.fixture
def staff(org, roles):
    """Store A's back office (and one of store B, to show the inbox stays within the store)."""
    people = {
        "finance": UserFactory(name="A Finance", unit=org.units["store_a"], roles=[roles["finance"]]),
        "finance2": UserFactory(name="A Finance Two", unit=org.units["store_a"], roles=[roles["finance"]]),
        "warehouse": UserFactory(name="A Warehouse", unit=org.units["store_a"], roles=[roles["warehouse"]]),
        "warehouse2": UserFactory(name="A Warehouse Two", unit=org.units["store_a"], roles=[roles["warehouse"]]),
        "logistics": UserFactory(name="A Logistics", unit=org.units["store_a"], roles=[roles["logistics"]]),
        "b_warehouse": UserFactory(name="B Warehouse", unit=org.units["store_b"], roles=[roles["warehouse"]]),
    }
    db.session.commit()
    return people


def record_collection(order: Any, recorder: Any, amount: Any = None, **fields: Any) -> Any:
    """A collection of `amount` (default: what is still due) recorded with one picture as its voucher."""
    import io

    from crm.finance.demo import VOUCHER
    from crm.finance.payments import services as payment_services

    db.session.refresh(order)
    data = {"amount": str(amount if amount is not None else order.total - order.paid_amount),
            "method": "bank_transfer", **fields}
    payment = payment_services.record_collection(order.id, data, [("slip.png", io.BytesIO(VOUCHER))], actor=recorder)
    db.session.commit()
    return payment


def verification_task(payment: Any, bpmn_id: str = "cv_verify") -> Any:
    from crm.workflow.models import HumanTask
    from crm.workflow.models import TaskStatus

    return db.session.scalars(select(HumanTask).where(
        HumanTask.object_type == "collection", HumanTask.object_id == payment.id, HumanTask.bpmn_id == bpmn_id,
        HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))).one()


def decide_collection(payment: Any, verifier: Any, decision: str = "verify", reason: str = "") -> None:
    """Finance verifies (or rejects) a collection by completing its task, as the inbox does."""
    from crm.workflow.tasks import services as tasks
    from crm.workflow.tasks.services import JsonSubmission

    body = {"decision": decision, **({"reason": reason} if reason else {})}
    tasks.complete(verification_task(payment).id, JsonSubmission({"verification": body}), actor=verifier)
    db.session.commit()


def collect(order: Any, recorder: Any, verifier: Any, amount: Any = None) -> Any:
    """Money in, as it comes: recorded with its voucher, then verified by another finance user."""
    payment = record_collection(order, recorder, amount)
    decide_collection(payment, verifier)
    return payment


# Process admin ----------------------------------------------------------------------------------------------
@pytest.fixture
def owner(org: Any) -> Any:
    """A process owner at HQ: process.deploy + process.admin, data scope all."""
    user = UserFactory(name="Olivia Owner", unit=org.hq, roles=[org.roles["process_owner"]])
    db.session.commit()
    return user


@pytest.fixture
def store_admin(org: Any) -> Any:
    """A process owner placed in store A: the same permissions, bounded to store A."""
    user = UserFactory(name="Sam Store-Admin", unit=org.store_a, roles=[org.roles["process_owner"]])
    db.session.commit()
    return user


HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_{key}" targetNamespace="http://example.org/crm">\n'
        '<bpmn:process id="{key}" name="{name}" isExecutable="true">\n<bpmn:startEvent id="start"/>\n<bpmn:endEvent id="end"/>\n')
USER_TASK = ('<bpmn:userTask id="{id}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>'
             '<spiffworkflow:property name="assignee" value="initiator_id"/></spiffworkflow:properties>'
             '</bpmn:extensionElements></bpmn:userTask>\n')
SERVICE_TASK = ('<bpmn:serviceTask id="{id}" name="{name}"><bpmn:extensionElements>'
                '<spiffworkflow:serviceTaskOperator id="test.ledger" resultVariable="booked"><spiffworkflow:parameters>'
                '<spiffworkflow:parameter id="label" type="str" value="\'{id}\'"/></spiffworkflow:parameters>'
                '</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>\n')


def chain(key: str, *steps: str, name: str = "Chain") -> str:
    """A straight process start -> steps -> end. A step "svc:X" is a service task calling test.ledger,
    any other step a user task assigned to the initiator, named "Step X"."""
    body = HEAD.format(key=key, name=name)
    ids = []
    for step in steps:
        if step.startswith("svc:"):
            ids.append(step[4:])
            body += SERVICE_TASK.format(id=step[4:], name=f"Book {step[4:]}")
        else:
            ids.append(step)
            body += USER_TASK.format(id=step, name=f"Step {step}")
    nodes = ["start", *ids, "end"]
    for a, b in zip(nodes, nodes[1:], strict=False):
        body += f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>\n'
    return body + "</bpmn:process>\n</bpmn:definitions>\n"


@pytest.fixture
def deploy_chain():
    def _deploy(key: str, *steps: str, actor: Any = None, comment: str = "test") -> Any:
        result = deploy_files({f"{key}.bpmn": chain(key, *steps).encode()}, source="file",
                              actor_id=actor.id if actor else None, comment=comment)
        db.session.commit()
        return result

    return _deploy


def isolated_wsgi(app: Any) -> Any:
    """The app as a WSGI callable that gives each request an empty `g`, as a real server does (the tests keep
    one app context pushed, and Flask-Login caches the signed-in user in `g`): for clients that call the app
    as WSGI (schemathesis, a generated API client)."""
    from flask import g

    def wsgi(environ: Any, start_response: Any) -> Any:
        saved = dict(g.__dict__)
        g.__dict__.clear()
        try:
            return app(environ, start_response)
        finally:
            g.__dict__.clear()
            g.__dict__.update(saved)

    return wsgi
