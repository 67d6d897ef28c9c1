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
    """钱宇李明华 -> [钱宇, 李明华]; None when the cut is ambiguous or there is nothing to cut."""
    n = len(token)
    if n <= 3:
        return [token]
    cuts = [k for k in (2, 3) if 2 <= n - k <= 3 and _starts_name(token, k)] if n <= 6 else []
    return [token[:cuts[0]], token[cuts[0]:]] if len(cuts) == 1 else None


def person_names(text: str, start: int, end: int) -> list[tuple[str, int, int, bool]]:
    """(name, char_start, char_end, ambiguous) for each person named in text[start:end]."""
    out = []
    pos = start
    for part in _SEPARATORS.split(text[start:end]) + [""]:
        if not part:
            continue
        a = text.find(part, pos, end)
        pos = a + len(part)
        # single characters separated by one space belong together: 钱 宇
        tokens = [(m.group(), a + m.start()) for m in re.finditer(r"\S+", part)]
        merged: list[tuple[str, int, int]] = []
        for tok, ta in tokens:
            if merged and len(tok) == 1 and len(merged[-1][0]) == 1:
                merged[-1] = (merged[-1][0] + tok, merged[-1][1], ta + 1)
            else:
                merged.append((tok, ta, ta + len(tok)))
        for tok, ta, tb in merged:
            pieces = cut_run_together(tok)
            if pieces is None:
                out.append((tok, ta, tb, True))
                continue
            k = ta
            for p in pieces:
                out.append((p, k, k + len(p), False))
                k += len(p)
    return out
