"""Quality findings about one parsed notice: quirks of the source are kept as printed and flagged here."""

from __future__ import annotations

import re
from dataclasses import dataclass

import cn2an
import polars as pl

from transforms import timeout, vocab


@dataclass
class QualityIssue:
    doc_id: str
    item_id: str | None
    severity: str  # error | warning
    check_name: str
    message: str

    def as_row(self) -> dict:
        return self.__dict__.copy()


def number_value(no: str | None) -> int | None:
    if not no:
        return None
    if no.isdigit():
        return int(no)
    try:
        return int(cn2an.cn2an(no, "smart"))
    except (ValueError, KeyError):
        return None


def numbering_issues(doc_id: str, groups: list[tuple[str, list[tuple[str | None, str]]]]) -> list[QualityIssue]:
    """groups: (label, [(item_id, printed number)]) per parent, in document order.

    Within a parent numbers run 1..n; duplicates and gaps are warnings. Across parents a notice
    either restarts at 1 or continues; whichever it does more often is its style, and the other
    is flagged (江夏 continues 1..135 across groups, then restarts at 1 in section 三).
    """
    out: list[QualityIssue] = []
    transitions: list[tuple[str, str, str | None]] = []
    prev_last: int | None = None
    for label, members in groups:
        nums = [(iid, number_value(no), no) for iid, no in members]
        values = [v for _, v, _ in nums if v is not None]
        if not values:
            continue
        first = values[0]
        if prev_last is not None:
            kind = "continue" if first == prev_last + 1 else "restart" if first == 1 else "jump"
            transitions.append((kind, label, nums[0][0]))
        elif first != 1:
            out.append(QualityIssue(doc_id, nums[0][0], "warning", "numbering_start",
                                    f"{label}: numbering starts at {nums[0][2]}, not 1"))
        seen: set[int] = set()
        last = None
        for iid, v, no in nums:
            if v is None:
                continue
            if v in seen:
                out.append(QualityIssue(doc_id, iid, "warning", "numbering_duplicate",
                                        f"{label}: number {no} is used twice"))
            elif last is not None and v != last + 1:
                out.append(QualityIssue(doc_id, iid, "warning", "numbering_gap",
                                        f"{label}: number {no} follows {last}"))
            seen.add(v)
            last = v if last is None else max(last, v)
        prev_last = last
    n_cont = sum(1 for k, _, _ in transitions if k == "continue")
    n_rest = sum(1 for k, _, _ in transitions if k == "restart")
    style = "continue" if n_cont > n_rest else "restart"
    for kind, label, iid in transitions:
        if kind != style:
            what = {"continue": "continues from the previous group", "restart": "restarts at 1",
                    "jump": "neither restarts nor continues"}[kind]
            out.append(QualityIssue(doc_id, iid, "warning", f"numbering_{kind}",
                                    f"{label}: numbering {what}, unlike the rest of the notice"))
    return out


def quality_checks(doc_id: str, text: str, meta, frames: dict[str, pl.DataFrame], outline) -> list[QualityIssue]:
    items, asg, sections = frames["items"], frames["assignments"], frames["sections"]
    out: list[QualityIssue] = []
    if meta.jurisdiction is None:
        out.append(QualityIssue(doc_id, None, "warning", "jurisdiction_unknown",
                                "no jurisdiction name from the division code list was found in the notice"))
    if meta.doc_kind is None:
        out.append(QualityIssue(doc_id, None, "warning", "doc_kind_unknown",
                                "the notice names neither a five-year plan nor a government work report"))
    # an item's own units, or units from a merged table cell above it (not a group's overall lead)
    with_units = {iid for iid, role in zip(asg["item_id"].to_list(), asg["role"].to_list())
                  if role is not None and role != "overall_lead"}
    item_rows = items.rows(named=True)
    last_id = items["item_id"][-1] if items.height else None
    def where(row) -> str:  # an unnumbered table row has no item_no: it is named by its row
        return "/".join(row["parent_nos"] + [row["item_no"] or f"(row {row['seq']})"])

    for row in item_rows:
        timeout.check()
        if row["item_id"] not in with_units:
            if row["item_id"] == last_id and not row["text"].rstrip().endswith(("。", ";", ";", ")", ")")):
                out.append(QualityIssue(doc_id, row["item_id"], "error", "truncated",
                                        f"the notice ends inside item {where(row)}, before its units: the file looks truncated"))
            else:
                out.append(QualityIssue(doc_id, row["item_id"], "warning", "item_without_units",
                                        f"item {where(row)} names no responsible unit"))
    seen_text: dict[tuple, str] = {}
    for row in item_rows:
        key = (row["section_id"], row["item_no"], row["text"])
        if key in seen_text:
            out.append(QualityIssue(doc_id, row["item_id"], "error", "duplicated_item",
                                    f"item {where(row)} is printed twice "
                                    "with the same number and text"))
        seen_text[key] = row["item_id"]
    # numbering of items, per parent section, in order; also of section headings per parent
    groups: dict[str | None, list] = {}
    order: list[str | None] = []
    for row in item_rows:
        key = (row["section_id"], row["num_style"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((row["item_id"], row["item_no"]))
    section_rows = sections.rows(named=True)
    titles = {r["section_id"]: "/".join(r["parent_nos"] + [r["item_no"] or "——"]) for r in section_rows}
    by_style: dict[str, list] = {}
    for k in order:  # numbering styles are checked separately: (一)…(十) targets, then 1…114 tasks
        by_style.setdefault(k[1], []).append((f"items under {titles.get(k[0], 'the table')}", groups[k]))
    for style_groups in by_style.values():
        out += numbering_issues(doc_id, style_groups)
    # declared counts: "重点工作(共135项)"
    rx = vocab.outline().declared_count_re
    for row in section_rows:
        timeout.check()
        m = rx.search(row["title"] or "")
        if not m:
            continue
        declared = int(m.group(1))
        inside = sum(1 for it in item_rows if it["char_start"] is not None and it["char_end"] is not None
                     and it["char_start"] >= row["char_start"] and it["char_end"] <= row["char_end"])
        if inside != declared:
            out.append(QualityIssue(doc_id, None, "error", "declared_count",
                                    f"section {row['item_no']} declares {declared} items, {inside} were parsed"))
    return out
