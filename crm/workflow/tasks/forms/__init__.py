"""JSON-Schema forms of user tasks (DESIGN §6), rendered server-side with RJSF conventions.

- `load_form(task, data)` reads `<schema>.json` and the optional uiSchema (registry.find_form) and builds
  a tree of `Field`s: string → text, `ui:widget: textarea`, number, integer, money (`format: money` or
  `ui:widget: money`: a decimal with 2 places, kept as the string "123.45", never a float), boolean →
  checkbox (or radio / select), enum → select or radio (`enumNames`, or `oneOf` with const + title),
  array of enums → checkboxes, `format: date` / `date-time`, arrays of objects → a table of rows,
  nested objects → a group, `format: data-url` / `ui:widget: file` → an upload stored as a task
  attachment (its id goes into the data), `readOnly` / `ui:readonly` → shown, never taken from the
  submission, `ui:widget: hidden`. `ui:order`, `ui:help`, `ui:placeholder`, `ui:title`, `ui:options`
  (rows, accept). Titles and descriptions may use {{ }} over the task data (sandboxed Jinja).
- `initial_values(form, data, draft)`: what the form shows first (task data, then the draft, then defaults).
- `parse_form(form, multidict, ...)` (a posted HTML form: strings) and `parse_json(form, body, ...)` (the
  API) coerce values to the schema's types, then validate with jsonschema; errors come back per field
  (`lines.0.quantity`) in the request's language, naming the field.

Only the web edge reads the request: views hand in the posted values and a callback that stores files."""

from crm.workflow.tasks.forms.fields import Field
from crm.workflow.tasks.forms.fields import Form
from crm.workflow.tasks.forms.fields import FormUnavailable
from crm.workflow.tasks.forms.fields import display_values
from crm.workflow.tasks.forms.fields import initial_values
from crm.workflow.tasks.forms.fields import load_form
from crm.workflow.tasks.forms.fields import walk
from crm.workflow.tasks.forms.submit import Posted
from crm.workflow.tasks.forms.submit import draft_values
from crm.workflow.tasks.forms.submit import parse_form
from crm.workflow.tasks.forms.submit import parse_json
from crm.workflow.tasks.forms.submit import submitted_values
from crm.workflow.tasks.forms.submit import validate

__all__ = [
    "Field", "Form", "FormUnavailable", "Posted", "display_values", "draft_values", "initial_values", "load_form",
    "parse_form", "parse_json", "submitted_values", "validate", "walk",
]
