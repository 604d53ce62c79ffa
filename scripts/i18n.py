"""Extract the translatable strings of every module and merge Vietnamese drafts into them.

    .venv/bin/python scripts/i18n.py extract          # update src/dothi/<app>/locale/{vi,en}/.../django.po
    .venv/bin/python scripts/i18n.py merge DRAFT.po…  # fill empty Vietnamese entries from drafts
    .venv/bin/python scripts/i18n.py missing          # list Vietnamese entries still empty or fuzzy

Each app keeps its own catalogue; the strings of the project's top-level modules (settings.py, api.py,
urls.py) go into core's. Vietnamese has one plural form (`nplurals=1`). `make messages` compiles.
Needs gettext (msgfmt, xgettext, msgcat) and polib (`pip install polib`, a developer tool only).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "dothi"
DOTHI = ROOT / ".venv" / "bin" / "dothi"
TOP_LEVEL = ["settings.py", "api.py", "urls.py"]
PLURAL = "nplurals=1; plural=0;"


def apps() -> list[Path]:
    return sorted(p.parent for p in SRC.glob("*/apps.py"))


def catalogue(app: Path, language: str = "vi") -> Path:
    return app / "locale" / language / "LC_MESSAGES" / "django.po"


def extract() -> None:
    import polib

    # Translations already made, in any app: kept when a string moves, reused when it repeats.
    before = _translations([str(catalogue(app)) for app in apps() if catalogue(app).exists()])
    for app in apps():
        (app / "locale").mkdir(exist_ok=True)
        subprocess.run([str(DOTHI), "makemessages", "-l", "vi", "-l", "en", "--no-obsolete"], cwd=app,
                       check=True, capture_output=True)
        if app.name == "core":  # the top-level modules' strings live in core's catalogue
            pot = Path(tempfile.mkdtemp()) / "top-level.pot"
            subprocess.run(["xgettext", "-L", "Python", "--from-code=UTF-8", "-k_", "-kgettext",
                            "-kgettext_lazy", "-o", str(pot), *TOP_LEVEL], cwd=SRC, check=True)
            for language in ("vi", "en"):
                po = catalogue(app, language)
                if pot.exists():
                    subprocess.run(["msgcat", "--use-first", "-o", str(po), str(po), str(pot)], check=True)
        for language in ("vi", "en"):
            po = polib.pofile(str(catalogue(app, language)))
            if language == "vi":
                po.metadata["Plural-Forms"] = PLURAL
                po.metadata["Language"] = "vi"
                for entry in po:
                    if entry.msgid_plural and len(entry.msgstr_plural) > 1:
                        entry.msgstr_plural = {0: entry.msgstr_plural.get(0, "")}
            po.save()
        print(f"{app.name}: {len(polib.pofile(str(catalogue(app))))} strings")
    _fill(before, quiet=True)


def _translations(paths: list[str]) -> dict:
    import polib

    known = {}
    for path in paths:
        for entry in polib.pofile(path):
            if (entry.msgstr or entry.msgstr_plural) and "fuzzy" not in entry.flags:
                known.setdefault((entry.msgctxt or "", entry.msgid), entry)
    return known


def merge(drafts: list[str]) -> None:
    _fill(_translations(drafts))


def _fill(known: dict, quiet: bool = False) -> None:
    import polib

    for app in apps():
        path = catalogue(app)
        if not path.exists():
            continue
        po = polib.pofile(str(path))
        filled = 0
        for entry in po:
            source = known.get((entry.msgctxt or "", entry.msgid))
            if source is None or (entry.translated() and "fuzzy" not in entry.flags):
                continue
            if entry.msgid_plural:
                value = source.msgstr_plural.get(0) or source.msgstr
                if not value:
                    continue
                entry.msgstr_plural = {0: value}
            else:
                if not source.msgstr:
                    continue
                entry.msgstr = source.msgstr
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            filled += 1
        po.save()
        if not quiet:
            print(f"{app.name}: {filled} filled")


def missing() -> int:
    import polib

    count = 0
    for app in apps():
        path = catalogue(app)
        if not path.exists():
            continue
        for entry in polib.pofile(str(path)):
            if not entry.translated() or "fuzzy" in entry.flags:
                count += 1
                print(f"{app.name}: {entry.msgid[:100]!r}")
    return count


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "extract":
        extract()
    elif command == "merge":
        merge(sys.argv[2:])
    elif command == "missing":
        sys.exit(1 if missing() else 0)
    else:
        print(__doc__)
        sys.exit(2)
