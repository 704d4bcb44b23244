"""Entry point for `flask --app run` and gunicorn (`gunicorn 'run:app'`). No logic here."""

from crm import create_app

app = create_app()
