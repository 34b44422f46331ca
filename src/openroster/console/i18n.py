"""The console's two languages: English and Chinese, picked from ``Accept-Language`` or the switch.

The labels are the ones the browser tests find elements by (English) and their Chinese
counterparts, kept in ``texts.toml`` (one line a text: its key, the English, the Chinese).
The switch in the page header sets :data:`LANG_COOKIE`; without it the browser's
``Accept-Language`` decides (the first of ``zh*`` or ``en*`` by weight), and English otherwise.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from importlib.resources import files

from starlette.requests import Request

LANG_COOKIE = "openroster_console_lang"
#: The languages, with the tag each page's ``<html lang>`` carries.
LANGUAGES: dict[str, str] = {"en": "en", "zh": "zh-CN"}
DEFAULT = "en"

#: key: (English, Chinese), from ``texts.toml`` beside this module.
_TEXT: dict[str, tuple[str, str]] = {
    key: (en, zh)
    for key, (en, zh) in tomllib.loads(
        files("openroster.console").joinpath("texts.toml").read_text(encoding="utf-8")
    ).items()
}


class Text(Mapping[str, str]):
    """The labels of one language: ``t["save"]``, ``t.fmt("people_of", tenant=...)`` in templates."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._index = 1 if lang == "zh" else 0

    def __getitem__(self, key: str) -> str:
        return _TEXT[key][self._index]

    def __iter__(self) -> Iterator[str]:
        return iter(_TEXT)

    def __len__(self) -> int:
        return len(_TEXT)

    def fmt(self, key: str, **values: object) -> str:
        return self[key].format(**values)


def language(request: Request) -> str:
    """The page's language: the switch's cookie, else the best of ``Accept-Language``, else English."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    best, best_q = DEFAULT, 0.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and q > best_q:
            best, best_q = base, q
    return best
