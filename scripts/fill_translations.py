"""Fill Chinese translations into the catalogue from a Python file defining ZH = {msgid: msgstr}.

    .venv/bin/python scripts/fill_translations.py /path/to/zh.py

Only entries that are empty or fuzzy are filled; prints what is still missing afterwards."""

from __future__ import annotations

import runpy
import sys

from babel.messages.pofile import read_po
from babel.messages.pofile import write_po

PO = "crm/translations/zh/LC_MESSAGES/messages.po"


def main(source: str) -> None:
    table = runpy.run_path(source)["ZH"]
    with open(PO, "rb") as fh:
        catalog = read_po(fh, locale="zh")
    for message in catalog:
        if message.id and message.id in table and (not message.string or message.fuzzy):
            message.string = table[message.id]
            message.flags.discard("fuzzy")
    with open(PO, "wb") as fh:
        write_po(fh, catalog, width=120)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    print("still untranslated:", missing or "none")


if __name__ == "__main__":
    main(sys.argv[1])
