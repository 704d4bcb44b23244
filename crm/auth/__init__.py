"""Log-in, roles, function permissions, data scopes and API tokens. Sits on `org` and `core`."""
