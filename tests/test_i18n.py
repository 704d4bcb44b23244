"""Every string the code, the shipped forms and the shipped diagrams show must have a Simplified Chinese
translation, and every translation must compile (its placeholders those of the English)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
METHODS = [("crm/**.py", "python"), ("crm/**/templates/**.html", "jinja2"),
           ("forms/**.json", "crm.workflow.tasks.forms.i18n:extract"), ("processes/**.bpmn", "crm.workflow.i18n:extract")]


def _extracted() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHODS, keywords=KEYWORDS, options_map={"crm/**/templates/**.html": {}}
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, filename)
    return found


def test_every_ui_string_has_a_chinese_translation():
    with open(ROOT / "crm/translations/zh/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh, locale="zh")
    missing = []
    for msgid, filename in sorted(_extracted().items()):
        entry = catalog.get(msgid)
        translated = entry is not None and not entry.fuzzy and (
            all(entry.string) if isinstance(entry.string, (list, tuple)) else bool(entry.string)
        )
        if not translated:
            missing.append(f"{filename}: {msgid!r}")
    assert not missing, "untranslated strings (run `make messages` and translate):\n" + "\n".join(missing[:50]) + (
        f"\n… and {len(missing) - 50} more" if len(missing) > 50 else ""
    )


def test_every_translation_compiles():
    """`pybabel compile` only prints these (make translations goes on): a placeholder missing from the
    translation, or one the English does not have, would fail at run time."""
    with open(ROOT / "crm/translations/zh/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh, locale="zh")
    problems = [f"{message.id!r}: {'; '.join(str(e) for e in errors)}" for message, errors in catalog.check()]
    assert not problems, "\n".join(problems)


def test_one_date_format_in_both_languages(app):
    """ISO dates and 24-hour times whatever length a template asks for, in English and in Chinese (the
    tour found "12/7/26, 10:58 AM" beside two other formats on one page)."""
    from datetime import UTC
    from datetime import date
    from datetime import datetime

    from flask import render_template_string
    from flask_babel import force_locale

    moment = datetime(2026, 12, 7, 14, 58, tzinfo=UTC)  # 22:58 in Asia/Shanghai
    with app.test_request_context("/"):
        for lang in ("en", "zh"):
            with force_locale(lang):
                out = render_template_string(
                    "{{ m|datetimeformat('short') }}|{{ m|datetimeformat }}|{{ m|datetimeformat('full') }}|"
                    "{{ d|dateformat('short') }}|{{ d|dateformat('medium') }}|{{ d|dateformat }}|"
                    "{{ m|timeformat('short') }}", m=moment, d=date(2026, 12, 7))
                assert out == "|".join(["2026-12-07 22:58"] * 3 + ["2026-12-07"] * 3 + ["22:58"]), (lang, out)


def test_the_diagram_legend_has_its_own_words(app):
    """"Active" and "Failed" mean other things elsewhere (an enabled account, an e-mail that failed): the
    diagram legend's are translated in their own context."""
    from flask import render_template_string
    from flask_babel import force_locale

    legend = ("{{ pgettext('diagram element', 'Active') }}|{{ pgettext('diagram element', 'Failed') }}|"
              "{{ _('Active') }}|{{ _('Failed') }}")
    with app.test_request_context("/"), force_locale("zh"):
        active, failed, enabled, not_sent = render_template_string(legend).split("|")
    assert (active, failed) == ("进行中", "出错") and active != enabled and failed != not_sent
    with app.test_request_context("/"), force_locale("en"):
        assert render_template_string(legend) == "Active|Failed|Active|Failed"
    viewer = (ROOT / "crm/processes/templates/processes/_viewer.html").read_text(encoding="utf-8")
    assert "{{ _('Active') }}" not in viewer and "{{ _('Failed') }}" not in viewer
