"""Deployment through the one validation pipeline: real-world diagrams (the BPMN MIWG reference suite)
either deploy or are refused with specific problems, never another exception, and a refusal changes
nothing; every run-time-only mistake of a diagram is listed at once with its element; versions by
content hash (running instances keep theirs); hostile XML (XXE, billion laughs) is refused unread."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.deploy import DeploymentRejected
from crm.workflow.deploy import current_definitions
from crm.workflow.deploy import deploy_directory
from crm.workflow.deploy import deploy_files
from crm.workflow.models import InstanceStatus
from tests.workflow.conftest import DATA
from tests.workflow.conftest import data
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload

MIWG = Path(os.environ.get("CRM_BPMN_CORPUS", "/work/shared/bpmn-corpus")) / "miwg"
MIWG_FILES = sorted(MIWG.glob("*.bpmn")) if MIWG.is_dir() else []


def versions():
    return {k: (d.version, d.sha256, d.id) for k, d in current_definitions().items()}


@pytest.fixture
def baseline(deploy):
    """Something deployed already, so "unchanged after a refusal" means something."""
    deploy("gateways")
    deploy("callact")
    before = versions()
    assert set(before) == {"wf_gateways", "wf_parent", "wf_child"}
    return before


def check_problems(exc: DeploymentRejected, files: dict[str, bytes]) -> None:
    assert exc.problems, "a refusal names at least one problem"
    for p in exc.problems:
        assert p.file in files
        assert isinstance(p.message, str) and len(p.message.strip()) > 10, p
        assert "Traceback" not in p.message
        if p.element_id is not None:
            assert f'id="{p.element_id}"'.encode() in files[p.file], p
        if p.line is not None:
            assert 1 <= p.line <= files[p.file].count(b"\n") + 1, p
        assert str(p).startswith(p.file)
    assert set(exc.errors) <= set(files)


# The MIWG reference diagrams ------------------------------------------------------------------------------
@pytest.mark.skipif(not MIWG_FILES, reason=f"the BPMN MIWG corpus is not at {MIWG}")
@pytest.mark.parametrize("path", MIWG_FILES, ids=lambda p: p.name)
def test_miwg_diagram_deploys_or_is_refused_with_specific_problems(path, baseline):
    files = {path.name: path.read_bytes()}
    try:
        result = deploy_files(files, source="editor", actor_id=None)
    except DeploymentRejected as exc:
        check_problems(exc, files)
        assert versions() == baseline
    else:
        assert result.created or result.unchanged
        assert {k: v for k, v in versions().items() if k in baseline} == baseline


@pytest.mark.skipif(not MIWG_FILES, reason=f"the BPMN MIWG corpus is not at {MIWG}")
def test_the_whole_corpus_at_once_is_refused_file_by_file(baseline):
    files = {p.name: p.read_bytes() for p in MIWG_FILES}
    with pytest.raises(DeploymentRejected) as err:
        deploy_files(files, source="editor")
    check_problems(err.value, files)
    assert len({p.file for p in err.value.problems}) > 1
    assert versions() == baseline


def test_a_refused_set_deploys_none_of_its_files(baseline):
    good = (DATA / "versions" / "wf_versioned.bpmn").read_bytes()
    files = {"wf_versioned.bpmn": good, "wf_broken.bpmn": b"<bpmn:definitions"}
    with pytest.raises(DeploymentRejected) as err:
        deploy_files(files, source="editor")
    [problem] = err.value.problems
    assert problem.file == "wf_broken.bpmn" and problem.message.startswith("XML syntax error") and problem.line == 1
    assert versions() == baseline


# Every problem at once ----------------------------------------------------------------------------------
def test_every_problem_of_a_diagram_is_listed_with_its_element(baseline):
    content = (DATA / "invalid" / "wf_invalid.bpmn").read_bytes()
    files = {"wf_invalid.bpmn": content}
    with pytest.raises(DeploymentRejected) as err:
        deploy_files(files, source="editor", actor_id=None)
    check_problems(err.value, files)
    found = {p.element_id: p.message for p in err.value.problems}
    assert set(found) == {"timer_unquoted", "timer_invalid", "gw", "svc", "fill_in"}
    assert 'write "PT72H" with quotes' in found["timer_unquoted"]
    assert "'P72H' is not a valid ISO 8601" in found["timer_invalid"]
    assert "condition is not valid Python" in found["gw"] and "approved ==" in found["gw"]
    assert "test.no_such_operator" in found["svc"]
    assert "wf_invalid.no-such-form.schema.json" in found["fill_in"]
    lines = content.decode().splitlines()
    for p in err.value.problems:  # the line is the element's own
        assert f'id="{p.element_id}"' in lines[p.line - 1]
    assert list(err.value.errors) == ["wf_invalid.bpmn"] and len(err.value.errors["wf_invalid.bpmn"]) == 5
    assert versions() == baseline


def test_form_files_must_exist_next_to_the_diagram(tmp_path):
    from crm.workflow import registry

    source = DATA / "gateways"
    folder = tmp_path / "gateways"
    folder.mkdir()
    for f in source.iterdir():
        if f.name != "wf_gateways.approve.schema.json":
            (folder / f.name).write_bytes(f.read_bytes())
    # Only the copy's folder holds forms: hide the scenario folders other tests registered.
    saved = list(registry._forms_dirs)
    registry._forms_dirs[:] = [folder]
    try:
        with pytest.raises(DeploymentRejected) as err:
            deploy_directory(folder)
    finally:
        registry._forms_dirs[:] = saved
    assert {(p.element_id, p.message) for p in err.value.problems} == {
        (task, "The form file 'wf_gateways.approve.schema.json' does not exist in forms/.")
        for task in ("big_approval", "check_stock", "check_credit")
    }
    assert versions() == {}


# Versions by content hash ----------------------------------------------------------------------------
V1 = (DATA / "versions" / "wf_versioned.bpmn").read_bytes()
V2 = V1.replace(b"VERSION_ONE", b"VERSION_TWO")


def test_same_content_is_no_new_version(deploy, org):
    first = deploy("gateways")
    assert [(d.key, d.version, d.source) for d in first.created] == [("wf_gateways", 1, "file:processes/wf_gateways.bpmn")]
    again = deploy("gateways")
    assert again.created == [] and again.unchanged == ["wf_gateways"]
    same = deploy_files({"wf_gateways.bpmn": (DATA / "gateways" / "wf_gateways.bpmn").read_bytes()},
                        source="editor", actor_id=org.hq_admin.id)
    assert same.created == [] and same.unchanged == ["wf_gateways"]
    assert versions()["wf_gateways"][0] == 1


def test_changed_content_is_the_next_version_and_running_instances_keep_theirs(org):
    deploy_files({"wf_versioned.bpmn": V1}, source="editor", actor_id=org.hq_admin.id)
    db.session.commit()
    old = runtime.start("wf_versioned", actor_id=org.a_rep1.id)
    db.session.commit()

    result = deploy_files({"wf_versioned.bpmn": V2}, source="editor", actor_id=org.hq_admin.id, comment="v2")
    db.session.commit()
    [v2] = result.created
    assert (v2.key, v2.version, v2.source, v2.deployed_by_id, v2.comment) == (
        "wf_versioned", 2, "editor", org.hq_admin.id, "v2")
    new = runtime.start("wf_versioned", actor_id=org.a_rep1.id)
    db.session.commit()
    assert old.definition.version == 1 and new.definition.version == 2
    assert one_task(old, "step").title == "Step of VERSION_ONE"
    assert one_task(new, "step").title == "Step of VERSION_TWO"

    for instance in (old, new):
        runtime.complete_task(one_task(instance, "step").id, {}, actor_id=org.a_rep1.id)
        db.session.commit()
        assert reload(instance).status == InstanceStatus.COMPLETED
    assert data(old)["finished_on"] == "VERSION_ONE"  # started on v1, finished on v1
    assert data(new)["finished_on"] == "VERSION_TWO"
    # Going back to the first content is a new version too (versions only grow).
    back = deploy_files({"wf_versioned.bpmn": V1}, source="editor")
    assert [d.version for d in back.created] == [3]


def test_only_the_changed_file_of_a_set_gets_a_new_version(deploy):
    deploy("callact")
    child = (DATA / "callact" / "wf_child.bpmn").read_bytes().replace(b"REVIEW_V1", b"REVIEW_V9")
    parent = (DATA / "callact" / "wf_parent.bpmn").read_bytes()
    result = deploy_files({"wf_parent.bpmn": parent, "wf_child.bpmn": child}, source="editor")
    assert [(d.key, d.version) for d in result.created] == [("wf_child", 2)]
    assert result.unchanged == ["wf_parent"]


# Hostile XML ------------------------------------------------------------------------------------------------
BODY = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://x">
  <bpmn:process id="wf_evil" isExecutable="true">
    <bpmn:documentation>{doc}</bpmn:documentation>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="task" name="Task">
      <bpmn:extensionElements>
        <spiffworkflow:instructionsForEndUser>{doc}</spiffworkflow:instructionsForEndUser>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def xxe(target: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file://{target}">]>\n'
            + BODY.format(doc="&xxe;")).encode()


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (f'<?xml version="1.0"?>\n<!DOCTYPE bpmn:definitions [{"".join(entities)}]>\n'
            + BODY.format(doc="&lol9;")).encode()


def test_the_plain_body_deploys():
    """The hostile variants below differ from this one only by their DOCTYPE."""
    assert [d.key for d in deploy_files({"wf_evil.bpmn": BODY.format(doc="fine").encode()}, source="editor").created] == ["wf_evil"]


@pytest.mark.parametrize("content", [
    xxe("/etc/passwd"),
    billion_laughs(),
    b'<?xml version="1.0"?>\n<!DOCTYPE bpmn:definitions SYSTEM "file:///etc/passwd">\n' + BODY.format(doc="x").encode(),
], ids=["xxe", "billion-laughs", "external-dtd"])
def test_hostile_xml_is_refused(content, baseline):
    files = {"wf_evil.bpmn": content}
    with pytest.raises(DeploymentRejected) as err:
        deploy_files(files, source="editor")
    check_problems(err.value, files)
    for p in err.value.problems:
        assert "root:" not in p.message and "lollol" not in p.message
    assert versions() == baseline


def test_an_entity_in_a_dmn_file_is_refused_too(baseline):
    dmn = (b'<?xml version="1.0"?>\n<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
           b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="http://x">'
           b'<decision id="dec" name="d"><decisionTable id="t"><input id="i" label="x">'
           b'<inputExpression id="ie" typeRef="string"><text>x&xxe;</text></inputExpression></input>'
           b'<output id="o" name="y" typeRef="string"/></decisionTable></decision></definitions>')
    with pytest.raises(DeploymentRejected) as err:
        deploy_files({"evil.dmn": dmn}, source="editor")
    [problem] = err.value.problems
    assert "DOCTYPE" in problem.message and problem.line == 2
    assert versions() == baseline


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_an_external_entity_is_never_opened(tmp_path):
    """The entity names a FIFO whose writer only gets past open() when someone opens it for reading:
    had the parser read the entity, the writer would have been released before deploy_files returned."""
    fifo = tmp_path / "secret"
    os.mkfifo(fifo)
    released = threading.Event()

    def writer() -> None:
        fd = os.open(fifo, os.O_WRONLY)  # blocks until a reader opens the pipe
        released.set()
        try:
            os.write(fd, b"root:x:0:0:SECRET")
        except OSError:
            pass
        finally:
            os.close(fd)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        with pytest.raises(DeploymentRejected):
            deploy_files({"wf_evil.bpmn": xxe(str(fifo))}, source="editor")
        opened_by_the_parser = released.is_set()
    finally:
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # let the writer go
        thread.join()
        os.close(reader)
    assert not opened_by_the_parser


def _shape(spec, subprocess_specs):
    """A spec as a comparable value: every task spec's name and where it leads, subprocesses included."""
    def one(s):
        return {name: sorted(out.name for out in ts.outputs) for name, ts in s.task_specs.items()}
    return one(spec), {name: one(s) for name, s in subprocess_specs.items()}


def test_threads_of_one_process_get_whole_specs_from_a_cold_catalogue(monkeypatch):
    """SpiffWorkflow parses a process on its first `get_spec()` and publishes the spec before adding its
    tasks. The threads of one server process (`flask crm serve`, gthread workers, the scheduler's jobs)
    share the catalogue: each must get the whole spec, never a half-built one or two parses interleaved
    (which stored a broken spec part, and every later step of those instances failed)."""
    import sys

    from crm.workflow import deploy

    deploy_directory()  # the product's processes/
    db.session.commit()
    definitions = current_definitions()  # with their XML: the threads must not use this test's session
    keys = sorted(k for k in definitions if not k.endswith(".dmn"))
    assert "order_pipeline" in keys
    expected = {key: _shape(*deploy.fresh_spec_for(key)[1:]) for key in keys}
    monkeypatch.setattr(deploy, "current_definitions", lambda without_xml=False: definitions)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so the parses overlap
    try:
        for _attempt in range(5):
            deploy._catalogue.clear()
            barrier = threading.Barrier(8)
            got: list[tuple[str, object]] = []
            failed: list[BaseException] = []

            def start(key: str, barrier=barrier, got=got, failed=failed) -> None:
                barrier.wait()
                try:
                    got.append((key, _shape(*deploy.spec_for(key)[1:])))
                except BaseException as exc:  # noqa: BLE001 — reported by the assertion below
                    failed.append(exc)

            threads = [threading.Thread(target=start, args=(keys[i % len(keys)],)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not failed
            assert len(got) == 8
            for key, shape in got:
                assert shape == expected[key], f"{key}: a thread got a spec that is not the whole diagram"
    finally:
        sys.setswitchinterval(interval)
        deploy._catalogue.clear()



def test_a_deep_diagram_is_refused_with_a_clear_message_or_deploys_and_runs(org: Any) -> None:
    """A 6,000-task chain (about 1.8 MB, under the 2 MB limit) used to fail deployment with the parser's
    internal RecursionError. The parser now has the room it needs; the engine, which predicts the task
    tree recursively on every start, cannot run it, so the deployment says so. A long chain it can run
    (400 tasks) deploys, starts and moves on."""
    from crm.workflow.admin.definitions import MAX_DIAGRAM_BYTES
    from tests.conftest import chain

    xml = chain("wf_deep", *(f"s{i}" for i in range(6000))).encode()
    assert len(xml) < MAX_DIAGRAM_BYTES
    with pytest.raises(DeploymentRejected) as refused:
        deploy_files({"wf_deep.bpmn": xml}, source="file")
    assert [p.message for p in refused.value.problems] == [
        "The process is too deep for the engine: too many of its 6005 elements follow one another in a row. "
        "Split it into called processes (call activities)."]
    result = deploy_files({"wf_long.bpmn": chain("wf_long", *(f"s{i}" for i in range(400))).encode()}, source="file")
    db.session.commit()
    assert [d.key for d in result.created] == ["wf_long"]
    instance = runtime.start("wf_long", actor_id=org.a_rep1.id)
    db.session.commit()
    for step in ("s0", "s1"):
        runtime.complete_task(one_task(instance, step).id, {}, actor_id=org.a_rep1.id)
        db.session.commit()
    assert one_task(instance, "s2")
