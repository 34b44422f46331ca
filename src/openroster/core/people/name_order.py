"""People in the order of their names' pinyin (拼音), as DingTalk sorts a contact list.

A Chinese character counts as its pinyin without tones (``张`` is ``zhang``); other characters
count as they are, ASCII case ignored; people with the same key are in userId order. A character
with several readings takes its most common one (``pypinyin``'s choice).

``pypinyin`` is imported by the first sort, not with the module: its dictionaries are the largest
import of ``openroster serve`` (about 0.2 s of CPU, a quarter of the app's imports), paid at every
server start for one endpoint (the v1.0 contact list sorted by name); the first such list a process
serves pays it instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from openroster.model.entities import User


def pinyin_key(name: str) -> tuple[str, ...]:
    """The sort key of a name: each syllable (or run of other characters) in lower case."""
    from pypinyin import Style, lazy_pinyin

    return tuple(part.lower() for part in lazy_pinyin(name, style=Style.NORMAL))


def by_name(people: Iterable[User], *, descending: bool = False) -> list[User]:
    """``people`` by the pinyin of their names (then userId), ascending unless ``descending``."""
    return sorted(people, key=lambda u: (pinyin_key(u.user_name), u.id), reverse=descending)
