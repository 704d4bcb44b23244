"""Process admin test support: users holding the process roles, diagrams built from a list of steps, and
a failing operator to repair."""

from __future__ import annotations

from typing import Any

import pytest

from crm.extensions import db
from crm.workflow import registry
from crm.workflow.deploy import deploy_files
from tests.factories import UserFactory

BROKEN: set[str] = set()


@registry.operator("test.ledger")
def ledger(ctx: registry.OperatorContext, label: str) -> dict[str, Any]:
    """Fails while `label` is in BROKEN, as if the system behind it were down."""
    if label in BROKEN:
        raise RuntimeError(f"the ledger is offline ({label})")
    return {"booked": label}


@pytest.fixture
def broken():
    BROKEN.clear()
    yield BROKEN
    BROKEN.clear()


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
