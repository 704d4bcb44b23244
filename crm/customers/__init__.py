"""Customers: profiles, contacts, team members, follow-ups, saved list views, import/export and merge.

`models` (tables), `services` (state changes: dedup, transfer, lock, team, follow-ups, merge), `queries`
(lists with filters, keyset pages and capped counts), `imports` (CSV/XLSX import jobs and export), `jobs`
(scheduled: follow-up reminders, import runner), `views/` (pages), `schemas` (API)."""
