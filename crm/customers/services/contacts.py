"""Contacts of a customer (many per customer, one primary)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.validation import check_email
from crm.core.validation import check_text
from crm.core.validation import normalise_mobile
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.services.profile import _MOBILE_RE
from crm.customers.services.profile import Errors
from crm.customers.services.profile import check_edit
from crm.customers.services.profile import flush
from crm.extensions import db
from crm.org.models import User


# Contacts -----------------------------------------------------------------------------------------------
def _clean_contact(data: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    out = {
        "name": check_text(data.get("name"), errors, "name", max_length=80),
        "position": check_text(data.get("position"), errors, "position", max_length=80, required=False) or None,
        "remarks": check_text(data.get("remarks"), errors, "remarks", max_length=500, required=False) or None,
        "email": check_email(data.get("email"), errors, "email"),
        "is_primary": str(data.get("is_primary", "")).lower() in ("1", "true", "on", "yes"),
    }
    raw = check_text(data.get("mobile"), errors, "mobile", max_length=32, required=False)
    if raw and not _MOBILE_RE.match(normalise_mobile(raw)):
        errors["mobile"] = str(_l("Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."))
    out["mobile"] = normalise_mobile(raw) or None
    chat = check_text(data.get("chat_id"), errors, "chat_id", max_length=64, required=False)
    out["chat_id"] = chat or None
    if errors:
        raise ValidationFailed(errors)
    return out


def add_contact(customer: Customer, data: dict[str, Any], *, actor: User) -> Contact:
    check_edit(customer, actor)
    contact = Contact(store_id=customer.store_id, customer_id=customer.id, owner_id=customer.owner_id,
                      **_clean_contact(data))
    db.session.add(contact)
    if contact.is_primary:
        _only_primary(customer, contact)
    flush()
    return contact


def _only_primary(customer: Customer, contact: Contact) -> None:
    db.session.flush()
    for other in db.session.scalars(select(Contact).where(Contact.customer_id == customer.id, Contact.id != contact.id,
                                                          Contact.is_primary)):
        other.is_primary = False


def get_contact(customer: Customer, contact_id: Any) -> Contact:
    try:
        key = int(contact_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    contact = db.session.get(Contact, key) if 0 < key < 2**31 else None
    if contact is None or contact.customer_id != customer.id:
        raise NotFound()
    return contact


def update_contact(customer: Customer, contact: Contact, data: dict[str, Any], *, actor: User) -> Contact:
    check_edit(customer, actor)
    for key, value in _clean_contact(data).items():
        setattr(contact, key, value)
    if contact.is_primary:
        _only_primary(customer, contact)
    flush()
    return contact


def delete_contact(customer: Customer, contact: Contact, *, actor: User) -> None:
    check_edit(customer, actor)
    db.session.delete(contact)
    flush()
