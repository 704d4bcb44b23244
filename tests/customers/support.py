"""Helpers for the customer tests."""

from __future__ import annotations

from itertools import count
from typing import Any

from crm.customers import services
from crm.customers.models import Customer

_seq = count(1)


def mobile() -> str:
    return f"137{next(_seq):08d}"


def make_customer(actor: Any, **fields: Any) -> Customer:
    data = {"name": f"Customer {next(_seq)}", "mobile": mobile()}
    data.update(fields)
    return services.create_customer(data, actor=actor)
