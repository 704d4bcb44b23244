"""Approval chains that admins configure (versioned, per store with a company-wide fallback), approver
resolution, approval requests with their snapshot and decisions, and the approval queue. The reusable
`approval` process (processes/approval.bpmn) calls the operators in `bpmn`."""
