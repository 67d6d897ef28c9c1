"""Person names in a leader list: 钱 宇 is one name; 钱宇李明华 is two."""

from __future__ import annotations

import re
from functools import lru_cache

from transforms import vocab

_SEPARATORS = re.compile(r"[、,,;;/]+|\s{2,}")


@lru_cache(maxsize=1)
def _surnames() -> tuple[frozenset[str], tuple[str, ...]]:
    d = vocab.data_yaml("person_names.yaml")
    return frozenset(d["surnames"]), tuple(d["compound_surnames"])


def _starts_name(s: str, i: int) -> bool:
    single, compound = _surnames()
    return s[i] in single or any(s.startswith(c, i) for c in compound)


def cut_run_together(token: str) -> list[str] | None:
    """王建国李明华 -> [王建国, 李明华]; None when the cut is ambiguous (钱宇李明华: 钱宇 + 李明华 or
    钱宇李 + 明华, since 明 is a surname too)."""
    n = len(token)
    if n <= 3:
        return [token]
    cuts = [k for k in (2, 3) if 2 <= n - k <= 3 and _starts_name(token, k)] if n <= 6 else []
    return [token[:cuts[0]], token[cuts[0]:]] if len(cuts) == 1 else None


def person_names(text: str, start: int, end: int) -> list[tuple[str, int, int, bool]]:
    """(name, char_start, char_end, ambiguous) for each person named in text[start:end]; the span
    covers the name as written (钱 宇), the name has no padding (钱宇)."""
    out = []
    pos = start
    for part in _SEPARATORS.split(text[start:end]):
        if not part:
            continue
        a = text.find(part, pos, end)
        pos = a + len(part)
        # single characters separated by spaces belong together: 钱 宇, 王 小 明
        tokens = [(a + m.start(), a + m.end()) for m in re.finditer(r"\S+", part)]
        groups: list[list[tuple[int, int]]] = []
        for ta, tb in tokens:
            if groups and tb - ta == 1 and all(y - x == 1 for x, y in groups[-1]):
                groups[-1].append((ta, tb))
            else:
                groups.append([(ta, tb)])
        for g in groups:
            chars = [k for x, y in g for k in range(x, y)]  # where each character of the name is written
            name = "".join(text[k] for k in chars)
            name = _strip_title(name)
            offset = "".join(text[k] for k in chars).find(name)
            chars = chars[offset:offset + len(name)]
            pieces = cut_run_together(name)
            if pieces is None:
                out.append((name, chars[0], chars[-1] + 1, True))
                continue
            k = 0
            for p in pieces:
                out.append((p, chars[k], chars[k + len(p) - 1] + 1, False))
                k += len(p)
    return out


def _strip_title(name: str) -> str:
    """市长王小明 / 王小明副市长 -> 王小明 (titles in person_names.yaml); what is left must open with a
    surname, so a post written instead of a name (市政府常务副市长) stays whole."""
    titles = _titles()
    if not name.startswith(titles) and not name.endswith(titles):
        return name  # cheap test first: most names carry no title
    for t in titles:
        if name.startswith(t) and len(name) - len(t) >= 2 and _starts_name(name, len(t)):
            return name[len(t):]
        if name.endswith(t) and len(name) - len(t) >= 2 and _starts_name(name, 0):
            return name[: -len(t)]
    return name  # a post, not a person (市政府常务副市长): kept as written


@lru_cache(maxsize=1)
def _titles() -> tuple[str, ...]:
    return tuple(sorted(vocab.data_yaml("person_names.yaml")["titles"], key=len, reverse=True))


@lru_cache(maxsize=1)
def _heading_res() -> tuple[re.Pattern, re.Pattern]:
    d = vocab.data_yaml("person_names.yaml")
    post = d["heading_post_owners"] + "(?:" + "|".join(sorted(d["heading_posts"], key=len, reverse=True)) + ")"
    verb = "(?:同志)?(?:" + "|".join(d["heading_verbs"]) + ")"
    name = r"(?P<name>[\u4e00-\u9fff]{2,3}?)"
    return re.compile(f"^{name}{post}{verb}"), re.compile(f"^{post}{name}{verb}")


def heading_leader(text: str, start: int, end: int) -> tuple[str, int, int] | None:
    """(name, char_start, char_end) of the leader a heading names (一、杨松县长牵头重点工作), else None."""
    title = text[start:end]
    for rx in _heading_res():
        m = rx.match(title)
        if m and _starts_name(m.group("name"), 0):
            return m.group("name"), start + m.start("name"), start + m.end("name")
    return None
