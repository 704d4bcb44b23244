"""Normalisers and field checks shared by services."""

from __future__ import annotations

import re
from pathlib import Path

import marshmallow as ma
import pytest
from flask import Flask
from flask_babel import refresh
from marshmallow import fields

from crm.core.validation import Parsed
from crm.core.validation import check_email
from crm.core.validation import check_mobile
from crm.core.validation import check_text
from crm.core.validation import load_input
from crm.core.validation import normalise_mobile
from crm.core.validation import raising


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("(138) 0013.8000", "13800138000"),
        ("（138）00138000", "13800138000"),  # full-width brackets
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("１３８ ００１３ ８０００", "13800138000"),
        ("\u3000138\u300000138000 ", "13800138000"),  # ideographic spaces
        ("+86 138 0013 8000", "13800138000"),
        ("+86-138-0013-8000", "13800138000"),
        ("＋８６１３８００１３８０００", "13800138000"),  # full-width plus and digits
        ("0086 13800138000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("86 138 0013 8000", "13800138000"),
        ("", ""),
        (None, ""),
        ("   ", ""),
    ],
)
def test_normalise_mobile(raw: str | None, expected: str) -> None:
    assert normalise_mobile(raw) == expected


def test_normalise_mobile_keeps_numbers_it_does_not_understand() -> None:
    # Not a mainland mobile: left for check_mobile to refuse, never silently turned into one.
    assert normalise_mobile("86123") == "86123"
    assert normalise_mobile("+1 415 555 0100") == "+14155550100"
    assert normalise_mobile("abc") == "abc"


@pytest.mark.parametrize(
    ("raw", "required", "value", "error"),
    [
        ("+86 138-0013-8000", True, "13800138000", None),
        ("１３９１２３４５６７８", True, "13912345678", None),
        ("", True, "", "Enter a mobile number."),
        ("", False, "", None),
        ("1380013800", True, "1380013800", "Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."),
        ("12800138000", True, "12800138000", "Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."),
        ("138001380001", True, "138001380001", "Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."),
        ("138OO138OOO", True, "138OO138OOO", "Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."),
        ("٣١٣٨٠٠١٣٨٠٠", True, "٣١٣٨٠٠١٣٨٠٠", "Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."),
        # Other scripts' digits are digits to Python's \d, but no mobile number.
        ("13٨٠٠١٣٨٠٠٠", True, "13٨٠٠١٣٨٠٠٠", "Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."),
        ("13८००१३८०००", True, "13८००१३८०००", "Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."),
    ],
)
def test_check_mobile(app: Flask, raw: str, required: bool, value: str, error: str | None) -> None:
    errors: dict[str, str] = {}
    with app.test_request_context():
        assert check_mobile(raw, errors, "phone", required=required) == value
    assert errors == ({"phone": error} if error else {})


@pytest.mark.parametrize(
    ("raw", "value", "error"),
    [
        ("  Wang.Fang@Example.COM ", "wang.fang@example.com", None),
        ("", None, None),
        ("not-an-address", None, "Enter a valid e-mail address, e.g. name@example.com."),
        ("a@b", None, "Enter a valid e-mail address, e.g. name@example.com."),
        ("王芳@例子.中国", "王芳@例子.中国", None),
    ],
)
def test_check_email(app: Flask, raw: str, value: str | None, error: str | None) -> None:
    errors: dict[str, str] = {}
    with app.test_request_context():
        assert check_email(raw, errors) == value
    assert errors == ({"email": error} if error else {})


def test_check_email_required(app: Flask) -> None:
    errors: dict[str, str] = {}
    with app.test_request_context():
        assert check_email("  ", errors, required=True) is None
    assert errors == {"email": "Enter an e-mail address."}


def test_check_text(app: Flask) -> None:
    errors: dict[str, str] = {}
    with app.test_request_context():
        assert check_text("  padded  ", errors, "name", max_length=10) == "padded"
        assert check_text("   ", errors, "title", max_length=10) == ""
        assert check_text(None, errors, "note", max_length=10, required=False) == ""
        assert check_text("x" * 11, errors, "code", max_length=10) == "x" * 11
        assert check_text("x" * 10, errors, "ok", max_length=10) == "x" * 10
    assert errors == {"title": "This field is required.", "code": "Use at most 10 characters."}


@pytest.mark.parametrize("raw", ["a\x00b", "\x00", "bell\x07", "esc\x1b[0m", "del\x7f"])
def test_check_text_refuses_control_characters(app: Flask, raw: str) -> None:
    errors: dict[str, str] = {}
    with app.test_request_context():
        check_text(raw, errors, "name", max_length=50)
    assert errors == {"name": "Remove the invisible control characters from this text."}


def test_check_text_keeps_line_breaks_and_tabs(app: Flask) -> None:
    errors: dict[str, str] = {}
    with app.test_request_context():
        assert check_text("line one\r\nline\ttwo", errors, "note", max_length=50) == "line one\r\nline\ttwo"
    assert errors == {}


def test_messages_follow_the_request_language(app: Flask) -> None:
    """Messages are lazy: the language of the request that shows them decides, not import time."""
    catalog = Path(app.root_path) / "translations" / "zh" / "LC_MESSAGES" / "messages.mo"
    if not catalog.exists():
        pytest.skip("the Chinese catalog is not compiled (make compiles it)")
    errors: dict[str, str] = {}
    with app.test_request_context(headers={"Accept-Language": "zh-CN,zh;q=0.9"}):
        refresh()  # the suite's long-lived app context caches the locale in g
        check_mobile("", errors)
        check_text("x" * 3, errors, "name", max_length=2)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        check_mobile("", errors, "english")
    assert errors["english"] == "Enter a mobile number."
    assert errors["mobile"] != "Enter a mobile number."
    assert re.search(r"[\u4e00-\u9fff]", errors["mobile"])
    assert re.search(r"[\u4e00-\u9fff]", errors["name"])


# Input schemas ----------------------------------------------------------------------------------------------
def _qty(raw: object) -> int:
    if not str(raw).isdigit():
        raise ma.ValidationError("Enter a whole number.")
    return int(str(raw))


class _Line(ma.Schema):
    qty = Parsed(_qty)


class _Order(ma.Schema):
    name = Parsed(raising(check_text, max_length=5))
    lines = fields.List(fields.Nested(_Line))


def test_load_input_keeps_what_passed_and_names_each_message(app: Flask) -> None:
    with app.test_request_context():
        loaded = load_input(_Order(), {"name": None, "lines": [{"qty": "2"}, {"qty": "x"}, 5]})
    # None reaches the parser; a nested message is named with dots, a nested schema's own by its place.
    assert loaded.errors == {"name": "This field is required.", "lines.1.qty": "Enter a whole number.",
                             "lines.2": "Invalid input type."}
    assert loaded.values == {"lines": [{"qty": 2}, {}, {}]}
    with app.test_request_context():
        loaded = load_input(_Order(), {"name": " ab ", "lines": [{"qty": "2"}]})
    assert loaded.values == {"name": "ab", "lines": [{"qty": 2}]} and loaded.errors == {}
    assert load_input(_Order(), loaded) is loaded  # what the page or the API loaded goes through as it is
