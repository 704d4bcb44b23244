"""The attack corpus for the diagram sandbox (issue 18, DESIGN §6): known Python sandbox escapes, each
deployed by a process owner through the real deploy path (`POST /api/v1/process-definitions`) and, when
the deployment cannot see it, run by starting the process. None reaches its goal — running a command,
reading the secret key or the environment, exhausting memory — and each ends in a clear error: the
deployment names the element and why the sandbox refuses it, or the instance is in error with a message.

The goal every payload pursues is checked from outside: the marker file a command would create does not
exist, and neither the secret key nor the environment's canary appears in what the instance kept."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow import sandbox
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessInstance
from crm.workflow.runtime import StepFailed
from tests.conftest import grant
from tests.factories import UserFactory

CANARY = "sandbox-canary-7f3a9c"
SECRET = "test-secret"  # the suite's SECRET_KEY (tests/conftest.py)

# Each payload is a script task body; {marker} is a file the command would create, {m} the same path
# quoted for Python. Escapes known from published sandbox breakouts (dunder chains, frames, formatters,
# getattr with built strings, type and reduce tricks, decorators and lambdas, imports, files, eval),
# plus memory and time bombs.
RUN = "system('touch {marker}')"
PAYLOADS: dict[str, str] = {
    "subclasses_wrap_close": "result = [c for c in ().__class__.__base__.__subclasses__() "
                             "if c.__name__ == '_wrap_close'][0].__init__.__globals__['system']('touch {marker}')",
    "subclasses_via_mro": "result = ''.__class__.__mro__[-1].__subclasses__()",
    "builtins_dunder": "result = __builtins__['__import__']('os').system('touch {marker}')",
    "dunder_import": "result = __import__('os').system('touch {marker}')",
    "import_statement": "import os\nos.system('touch {marker}')",
    "import_from": "from os import system\nsystem('touch {marker}')",
    "open_file": "result = open('/proc/self/environ').read()",
    "open_write": "open({m}, 'w').write('x')",
    "eval_call": "result = eval(\"__import__('os').system('touch {marker}')\")",
    "exec_call": "exec(\"import os; os.system('touch {marker}')\")",
    "compile_call": "result = compile('1', 'x', 'eval')",
    "getattr_built_string": "result = getattr((), '__cl' + 'ass__')",
    "type_mro": "result = type(()).mro()",
    "type_three_args": "result = type('X', (), {{}})",
    "function_globals": "result = (lambda: 0).__globals__",
    "helper_globals": "result = now.__globals__['utcnow']",
    "generator_frame": "g = (x for x in [1])\nresult = g.gi_frame.f_globals",
    "generator_code": "g = (x for x in [1])\nresult = g.gi_code",
    "frame_back": "def f():\n    yield 1\nresult = f().gi_frame.f_back.f_globals",
    "traceback_frame": "try:\n    {{}}['x']\nexcept KeyError as e:\n    result = e.__traceback__.tb_frame.f_globals",
    "exception_with_traceback": "try:\n    {{}}['x']\nexcept KeyError as e:\n    result = e.with_traceback",
    "str_format_attribute": "result = '{{0.__class__.__base__.__subclasses__}}'.format(())",
    "str_format_map": "result = '{{x.__class__}}'.format_map({{'x': ()}})",
    "str_format_unbound": "result = str.format('{{0.__class__}}', ())",
    "object_reduce": "result = ().__reduce_ex__(2)",
    "class_of_int": "result = (1).__class__.__bases__",
    "class_attribute_on_type": "result = dict.mro()",
    "exception_class_mro": "result = ValueError.mro()",
    "decorator_escape": "@(lambda f: f.__globals__)\ndef g():\n    pass",
    "lambda_default_globals": "result = (lambda f=now: f.__code__)()",
    "class_definition": "class X:\n    pass\nresult = X.mro()",
    "globals_call": "result = globals()['__builtins__']",
    "vars_call": "result = vars()",
    "sys_modules": "result = sys.modules['os'].environ['{canary}']",
    "datetime_module": "result = datetime.__module__",
    "datetime_class_dict": "result = datetime.now().__class__.__dict__",
    "decimal_context": "result = Decimal.__init__.__globals__",
    "breakpoint_call": "breakpoint()",
    "bare_except_swallow": "try:\n    result = 1\nexcept:\n    pass",
    "finally_block": "try:\n    result = 1\nfinally:\n    result = 2",
    "huge_power": "result = 10 ** 10 ** 10",
    "huge_shift": "result = 1 << 10 ** 10",
    "huge_string": "result = 'x' * 10 ** 10",
    "huge_list": "result = [0] * 10 ** 10",
    "doubling_string": "s = 'x' * 1000\nfor i in range(40):\n    s = s + s\nresult = len(s)",
    "doubling_inplace": "s = 'x' * 1000\nfor i in range(40):\n    s += s\nresult = len(s)",
    "padding_method": "result = len('a'.ljust(10 ** 10))",
    "replace_bomb": "s = 'a' * 1000\nfor i in range(5):\n    s = s.replace('a', s)\nresult = len(s)",
    "join_bomb": "s = 'a' * 1000000\nresult = len(''.join([s, s, s, s, s, s, s, s, s, s, s, s]))",
    "percent_width": "result = len('%*d' % (10 ** 9, 1))",
    "percent_literal_width": "result = len('%999999999d' % 1)",
    "fstring_width": "result = len(f'{{1:>999999999}}')",
    "fstring_computed_width": "w = 999999999\nresult = len(f'{{1:>{{w}}}}')",
    "huge_range": "result = len(list(range(10 ** 10)))",
}


def _script_diagram(key: str, script: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs" '
        'targetNamespace="http://example.org/crm">\n'
        f'<bpmn:process id="{key}" name="Attack" isExecutable="true">\n'
        '<bpmn:startEvent id="start"/>\n'
        f'<bpmn:scriptTask id="attack" name="Attack"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>\n'
        '<bpmn:userTask id="after" name="After"/>\n'
        '<bpmn:endEvent id="end"/>\n'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="attack"/>\n'
        '<bpmn:sequenceFlow id="f2" sourceRef="attack" targetRef="after"/>\n'
        '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>\n'
        '</bpmn:process>\n</bpmn:definitions>\n'
    )


@pytest.fixture
def attacker(org: Any) -> Any:
    """A process owner (process.deploy), not an administrator, with an API token."""
    grant(org.roles["process_owner"], "api.use")
    user = UserFactory(name="Mallory Owner", unit=org.hq, roles=[org.roles["process_owner"]])
    db.session.commit()
    return user


@pytest.fixture
def canary() -> Any:
    os.environ["CRM_SANDBOX_CANARY"] = CANARY
    yield CANARY
    os.environ.pop("CRM_SANDBOX_CANARY", None)


def test_the_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 30


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_no_escape_reaches_its_goal(name: str, call: Any, attacker: Any, canary: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    script = PAYLOADS[name].format(marker=marker, m=repr(str(marker)), canary=canary)
    key = f"attack_{name}"
    resp = call("POST", "/api/v1/process-definitions", attacker,
                json={"xml": _script_diagram(key, script), "comment": "innocent", "key": key})
    if resp.status_code == 422:  # refused where it can be seen: the deployment says where and why
        messages = " ".join(m for ms in resp.get_json()["errors"].values() for m in ms)
        assert "element attack" in messages and "sandbox" in messages, messages
    else:
        assert resp.status_code == 200, resp.get_data(as_text=True)
        with pytest.raises(StepFailed) as failed:
            runtime.start(key, actor_id=attacker.id)
        db.session.commit()
        instance = db.session.get(ProcessInstance, failed.value.instance_id)
        assert instance.status == InstanceStatus.ERROR
        assert instance.last_error and "[attack]" in instance.last_error, instance.last_error
        kept = f"{instance.state} {instance.last_error}"
        assert SECRET not in kept and canary not in kept
    assert not marker.exists()


def test_the_message_of_a_refusal_at_run_time_is_clear(call: Any, attacker: Any) -> None:
    """A diagram deployed before the sandbox existed still cannot run what it refuses."""
    resp = call("POST", "/api/v1/process-definitions", attacker,
                json={"xml": _script_diagram("attack_clear", "result = dict.mro()"), "comment": "x", "key": "attack_clear"})
    assert resp.status_code == 200
    with pytest.raises(StepFailed) as failed:
        runtime.start("attack_clear", actor_id=attacker.id)
    assert "Attributes of dict are not available in diagrams" in failed.value.detail


@pytest.mark.parametrize("expression", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os').system('id')",
    "(x for x in []).gi_frame",
])
def test_expressions_are_refused_at_deployment(expression: str, call: Any, attacker: Any) -> None:
    """Gateway conditions, service parameters and assignee expressions go through the same sandbox."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="http://x">\n'
        '<bpmn:process id="attack_expr" isExecutable="true"><bpmn:startEvent id="start"/>\n'
        '<bpmn:exclusiveGateway id="gw" default="f_no"/>\n'
        '<bpmn:userTask id="yes" name="Yes"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="assignee" value="{escape(expression, {chr(34): "&quot;"})}"/>'
        '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>\n'
        '<bpmn:endEvent id="end"/>\n'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>\n'
        f'<bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="yes"><bpmn:conditionExpression>{escape(expression)}'
        '</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
        '<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end"/>\n'
        '<bpmn:sequenceFlow id="f3" sourceRef="yes" targetRef="end"/>\n'
        '</bpmn:process></bpmn:definitions>\n'
    )
    resp = call("POST", "/api/v1/process-definitions", attacker, json={"xml": xml, "comment": "x", "key": "attack_expr"})
    assert resp.status_code == 422
    messages = " ".join(m for ms in resp.get_json()["errors"].values() for m in ms)
    assert "element gw" in messages and "element yes" in messages and "sandbox" in messages, messages


def test_templated_titles_stay_in_jinja_s_sandbox() -> None:
    from crm.workflow.inbox_sync import render

    assert render("{{ ''.__class__.__mro__ }}", {}) == "{{ ''.__class__.__mro__ }}"
    assert render("{{ 'x' * 10 ** 9 }}", {}) == "{{ 'x' * 10 ** 9 }}"
    assert render("{{ 'a'.ljust(10 ** 9) }}", {}) == "{{ 'a'.ljust(10 ** 9) }}"
    assert render("{{ 'a' | center(1000000000) }}", {}) == "{{ 'a' | center(1000000000) }}"
    assert render("Order {{ number }} × {{ n * 2 }}", {"number": "SO1", "n": 3}) == "Order SO1 × 6"


@pytest.mark.parametrize("source, value", [
    ("step.get('auto')", True),
    ("min_rate < 0.90", True),
    ("sorted(x for x in items)[-1]", 3),
    ("f'{total:.2f}'", "12.50"),
    ("(now() - timedelta(days=1)).date() < date.today() + timedelta(days=1)", True),
    ("Decimal('1.10') * 3", sandbox.Decimal("3.30")),
    ("'%s-%05d' % ('SO', 42)", "SO-00042"),
    ("', '.join(str(i) for i in range(3))", "0, 1, 2"),
    ("{k: v for k, v in step.items()}['auto']", True),
    ("[a for a, b in pairs]", [1, 2]),
])
def test_what_the_processes_need_still_works(source: str, value: Any, app: Any) -> None:
    from crm.workflow.engine import script_engine

    context = {"step": {"auto": True}, "min_rate": 0.85, "items": [3, 1, 2], "total": 12.5, "pairs": [(1, 2), (2, 3)]}
    assert script_engine().environment.evaluate(source, context) == value


def test_task_data_cannot_replace_the_guards(app: Any) -> None:
    from crm.workflow.engine import script_engine

    context = {"_getattr_": "nope", "__builtins__": {"getattr": getattr}, "x": ()}
    with pytest.raises(sandbox.SandboxViolation):
        script_engine().environment.evaluate("x.count.mro", context)


def test_a_diagram_cannot_decide_another_instance_s_approval(call: Any, attacker: Any, org: Any) -> None:
    """Operators that take a record's id from the diagram check that the record is the instance's own:
    a process owner's diagram cannot approve someone else's request by naming its id."""
    from crm.approvals.models import ApprovalRequest
    from crm.approvals.models import RequestStatus

    other = ApprovalRequest(store_id=org.store_b.id, chain_key="discount_audit", status=RequestStatus.PENDING,
                            snapshot={"steps": []})
    db.session.add(other)
    db.session.commit()
    xml = _script_diagram("attack_operator", "result = 1").replace(
        '<bpmn:scriptTask id="attack" name="Attack"><bpmn:script>result = 1</bpmn:script></bpmn:scriptTask>',
        '<bpmn:serviceTask id="attack" name="Attack"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="approvals.close_request" resultVariable="closed">'
        '<spiffworkflow:parameters>'
        f'<spiffworkflow:parameter id="request_id" type="int" value="{other.id}"/>'
        '<spiffworkflow:parameter id="step_results" type="any" value="[]"/>'
        '</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>')
    resp = call("POST", "/api/v1/process-definitions", attacker,
                json={"xml": xml, "comment": "x", "key": "attack_operator"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with pytest.raises(StepFailed) as failed:
        runtime.start("attack_operator", actor_id=attacker.id)
    assert "does not belong to this process instance" in failed.value.detail
    db.session.refresh(other)
    assert other.status == RequestStatus.PENDING
