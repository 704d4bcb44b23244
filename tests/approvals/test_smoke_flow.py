from crm.approvals.models import RequestStatus
from tests.approvals.conftest import step
from tests.approvals.helpers import decide
from tests.approvals.helpers import open_tasks
from tests.approvals.helpers import request_of
from tests.approvals.helpers import status


def test_supervisor_approves(org, chain, submit):
    chain([step("supervisor")])
    instance = submit(org.a_rep1)
    assert list(open_tasks(instance)) == [org.a_sup.id]
    decide(instance, org.a_sup)
    assert status(instance) == "completed"
    assert request_of(instance).status == RequestStatus.APPROVED
