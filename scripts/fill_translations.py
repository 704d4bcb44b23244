"""Fill Chinese translations into the catalogue from a Python file defining ZH = {msgid: msgstr}.

    .venv/bin/python scripts/fill_translations.py /path/to/zh.py

Only entries that are empty or fuzzy are filled; prints what is still missing afterwards."""

from __future__ import annotations

import runpy
import sys

from babel.messages.pofile import read_po
from babel.messages.pofile import write_po

PO = "crm/translations/zh/LC_MESSAGES/messages.po"


def _empty(string: object) -> bool:
    """No translation: an empty string, or a plural entry with any empty form (babel reads ("",))."""
    if isinstance(string, (tuple, list)):
        return not string or not all(string)
    return not string


def main(source: str) -> None:
    table = runpy.run_path(source)["ZH"]
    with open(PO, "rb") as fh:
        catalog = read_po(fh, locale="zh")
    for message in catalog:
        key = message.id[0] if isinstance(message.id, tuple) else message.id  # plural entries: (singular, plural)
        if key and key in table and (_empty(message.string) or message.fuzzy):
            value = table[key]
            # Chinese has one plural form: a plural entry takes the translation as its only form.
            message.string = (value,) if isinstance(message.id, tuple) and isinstance(value, str) else value
            message.flags.discard("fuzzy")
    with open(PO, "wb") as fh:
        write_po(fh, catalog, width=120)
    missing = [m.id for m in catalog if m.id and (_empty(m.string) or m.fuzzy)]
    print("still untranslated:", missing or "none")


if __name__ == "__main__":
    main(sys.argv[1])
