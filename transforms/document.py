"""One notice in, its stage frames out: the pure core of fengong (no Prefect, no I/O).

    parse_document(data, source_file) -> ParsedDocument (polars frames keyed by table name)

Steps, each a function below: decode -> metadata -> outline -> role parts -> lexicon ->
table cells -> items and sections -> mentions and units -> leaders -> quality.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import polars as pl

from transforms import vocab
from transforms.mentions import Mention, UnitSplitter, has_suffix, standalone_names
from transforms.deadlines import deadline_date
from transforms.indicators import extract_indicators
from transforms.leaders import heading_leader, person_names
from transforms.metadata import Metadata, extract_metadata
from transforms.blocks import Node
from transforms.outline import heading_title, parse_outline
from transforms.quality import QualityIssue, quality_checks
from transforms.roles import (ROLE_OPENERS, UNIT_ROLES, LabelledValue, RolePart, find_role_part, line_role_part,
                              looks_like_units, phrase_role_part)
from transforms.formats import document_text
from transforms import timeout
from transforms.frames import rows_frame
from transforms.text import NoItemsFound, normalise_text, one_line_page, simplified_view, unfolded_view
from transforms.units import Resolver
from transforms import gazetteer


@dataclass
class ItemDraft:
    node: Node
    role: RolePart | None
    text_start: int
    text_end: int
    ambiguous: bool = False
    layout: str = "labelled"


@dataclass
class ParsedDocument:
    doc_id: str
    frames: dict[str, pl.DataFrame]
    review: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        items = self.frames["items"]
        return {k: int((items["item_kind"] == k).sum()) for k in ("indicator", "target", "task", "project")}


TERMINATORS = "。;;!?!?"


def _strip_span(text: str, a: int, b: int, chars: str = " \n") -> tuple[int, int]:
    while a < b and text[a] in chars:
        a += 1
    while b > a and text[b - 1] in chars:
        b -= 1
    return a, b


def _unit_like(s: str, splitter: UnitSplitter) -> bool:
    s = s.strip()
    if not s or re.search(r"[。::,,]", s) or len(s) > 120:
        return False
    ms = splitter.split(s)
    return bool(ms) and all((m.kind == "collective" or has_suffix(m.mention)) and len(m.mention) <= 30 for m in ms)


def table_row_roles(text: str, node: Node, splitter: UnitSplitter) -> ItemDraft:
    """Cells of a table row flattened to text (潜江 2023): the lead cell is glued to the task's
    last sentence, a co cell is glued to the lead cell, further units sit on their own lines."""
    lines: list[tuple[int, int]] = []
    pos = node.body_start
    for raw in text[node.body_start:node.end].split("\n"):
        lines.append((pos, pos + len(raw)))
        pos += len(raw) + 1
    a0, b0 = lines[0]
    first = text[a0:b0]
    cell_start = None
    cut = max(first.rfind(t) for t in TERMINATORS)
    tail = first[cut + 1:] if cut >= 0 else ""
    if cut >= 0 and tail.strip() and _unit_like(tail, splitter):
        cell_start = a0 + cut + 1
    elif cut < 0 or tail.strip():
        for p in range(1, len(first)):
            if _unit_like(first[p:], splitter) and splitter.glue_boundaries(first[p - 1:]) == [1] or (
                first[p] in "市区县省各" and _unit_like(first[p:], splitter)
            ):
                cell_start = a0 + p
                break
    segments: list[tuple[int, int]] = []
    if cell_start is not None:
        segments.append(_strip_span(text, cell_start, b0))
    for a, b in lines[1:]:
        if not text[a:b].strip():
            continue
        if not _unit_like(text[a:b], splitter):
            break
        segments.append(_strip_span(text, a, b))
    text_end = cell_start if cell_start is not None else b0
    ts, te = _strip_span(text, node.body_start, text_end)
    unit_cols = [c for c in node.columns if c in UNIT_ROLES] or ["responsible"]
    if not segments:
        return ItemDraft(node, None, ts, te, layout="table")
    values: list[LabelledValue] = []
    ambiguous = False
    boundary = None
    for a, b in segments:
        cuts = splitter.glue_boundaries(text[a:b])
        if cuts:
            boundary = a + cuts[0]
            break
    end = segments[-1][1]
    if len(unit_cols) == 1:
        values.append(LabelledValue("", _col_role(unit_cols[0]), text[segments[0][0]:end], segments[0][0], end,
                                    cue="column"))
    else:
        if boundary is None:
            boundary = segments[1][0] if len(segments) > 1 else end
            ambiguous = len(segments) > 1
        start = segments[0][0]
        values.append(LabelledValue("", _col_role(unit_cols[0]), text[start:boundary], start, boundary, cue="column"))
        if boundary < end:
            values.append(LabelledValue("", _col_role(unit_cols[1]), text[boundary:end], boundary, end, cue="column"))
    return ItemDraft(node, RolePart(segments[0][0], end, values), ts, te, ambiguous=ambiguous, layout="table")


def grid_row_roles(text: str, node: Node) -> ItemDraft:
    """A row of a table whose cells can be seen (transforms/tables.py): each cell is read under its
    column's role; merged cells and a lead group are inherited; continuation rows add units."""
    spans = {c: sp for c, sp in enumerate(node.cells) if sp is not None}
    first_text = next((c for c, r in enumerate(node.columns) if r == "text"), None)
    ts = te = node.body_start
    if first_text is not None and first_text in spans:  # the task: the text cells next to each other
        c = first_text
        ts, te = spans[c]
        while c + 1 < len(node.columns) and node.columns[c + 1] == "text" and c + 1 in spans:
            c += 1
            te = spans[c][1]
    values: list[LabelledValue] = []
    cells = [(c, sp, c in node.inherited_cols) for c, sp in spans.items()] + [(c, sp, False) for c, sp in node.more_cells]
    for c, (a, b), inherited in cells:
        role = node.columns[c]
        if (role in UNIT_ROLES or role in ("leader", "deadline")) \
                and not any(v.role == role and v.value == text[a:b] for v in values):
            values.append(LabelledValue("", role, text[a:b], a, b, inherited=inherited, cue="column"))
    if node.group_lead and not any(v.role == "lead" for v in values):
        a, b = node.group_lead
        values.insert(0, LabelledValue("", "lead", text[a:b], a, b, inherited=True, cue="group"))
    if not values:
        return ItemDraft(node, None, ts, te, layout="table", ambiguous=node.ambiguous)
    own = [v for v in values if not v.inherited] or [LabelledValue("", "", "", te, te)]
    start = min([v.start for v in own] + [te])
    end = max([v.end for v in own] + [te])
    return ItemDraft(node, RolePart(start, end, values), ts, te, ambiguous=node.ambiguous, layout="table")


def _col_role(role: str) -> str:
    return "co_or_responsible" if role == "co_or_responsible" else role


def labelled_item(text: str, node: Node) -> ItemDraft:
    block = text[node.body_start:node.end]
    role = find_role_part(block, base=node.body_start)
    if role is None or not any(v.role in UNIT_ROLES for v in role.values):
        phrase = phrase_role_part(block, base=node.body_start)  # (完成时限:年底前)(市商务局牵头)
        if phrase is not None and role is not None and phrase.start >= role.end:
            role = RolePart(role.start, phrase.end, role.values + phrase.values)
        elif phrase is not None:
            role = phrase
    if role is None:
        a, b = _strip_span(text, node.body_start, node.end)
        return ItemDraft(node, None, a, b)
    a, b = _strip_span(text, node.body_start, role.end if role.inline else role.start, " \n((")
    return ItemDraft(node, role, a, b)


CLOSERS = "。;;!?!?))】]」』"


def cut_off(text: str, d: ItemDraft) -> bool:
    """Is this (the last) item cut off by the end of the page? It is when
    - it names no unit of its own (none, only empty cells read as merged with the row above, or a
      label with nothing after it) and its text stops without a sentence end;
    - its last unit cell stops after a level character (区);
    - its role part opens a bracket that the page never closes ((牵头单位:市生态环境局;责任单);
    - the page stops at a further role label, written whole or in part (…\n责任单位).
    An item that runs to the end of the page with its units is kept otherwise: a last table row
    ends with a unit name either way."""
    # cells inherited because they were empty (a flattened table) are no evidence the row is whole
    units = [v for v in d.role.values if v.role in UNIT_ROLES and not (v.inherited and d.node.guessed_merge)] \
        if d.role else []
    end = d.role.end if d.role else d.text_end
    last = text[:end].rstrip()[-1:]
    if units and len(re.split(r"[、,,;;\s]+", units[-1].value.strip())[-1]) < 2:
        return True
    if d.role and d.role.start < len(text) and text[d.role.start] in ROLE_OPENERS and not text[end:].strip() \
            and text[end - 1:end] not in CLOSERS:
        return True
    rest = text[end:].strip()
    if rest and len(rest) <= 8 and any(label.startswith(rest) for label in vocab.roles().labels):
        return True  # the page stops at the next role label (责任单位, 责任单), with nothing after it
    return (not units or any(not v.value.strip() for v in units)) and last not in CLOSERS


def mention_roles(text: str, labelled: list[tuple[LabelledValue, list[Mention]]], first_leads: bool,
                  starred_text: bool = True):
    """(value, mention, role, cue, rule) for every unit an item names. A value read with its role
    (a label, a verb, a column) keeps it (rule as_written); a list whose role the text leaves open
    (责任单位, a bare bracket) is settled by the notice-level rules, in this order: a ★ before a unit
    (star), a lead named elsewhere in the item (lead_elsewhere: the rest are co), a stated
    first-listed-leads rule (first_listed_leads), a single unit in a bare bracket (single_unit: it
    leads; 责任单位:X and X负责 stay responsible, as written), otherwise every unit is responsible (none)."""
    markers = vocab.roles().lead_markers if starred_text else ""
    starred = (lambda m: m.start > 0 and text[m.start - 1] in markers) if markers else (lambda m: False)  # noqa: E731
    open_roles = ("co_or_responsible", "responsible")
    any_star = bool(markers) and any(starred(m) for v, ms in labelled if v.role in open_roles for m in ms)
    has_lead = any_star or any(v.role == "lead" and ms for v, ms in labelled)
    out = []
    for v, ms in labelled:
        if v.role not in open_roles or (v.role == "responsible" and not any_star):
            out += [(v, m, v.role, v.cue, "as_written") for m in ms]
        elif any_star and any(starred(m) for m in ms):
            out += [(v, m, "lead" if starred(m) else "co", "star", "star") for m in ms]
        elif v.role == "responsible":
            out += [(v, m, "responsible", v.cue, "as_written") for m in ms]
        elif has_lead:
            out += [(v, m, "co", v.cue, "lead_elsewhere") for m in ms]
        elif first_leads and ms:
            out += [(v, m, "lead" if k == 0 else "co", v.cue, "first_listed_leads") for k, m in enumerate(ms)]
            has_lead = True
        elif len(ms) == 1 and v.cue == "bracket" and sum(len(x) for _, x in labelled) == 1:
            out.append((v, ms[0], "lead", v.cue, "single_unit"))  # a bare (市发改局): no word says it shares the work
        else:
            out += [(v, m, "responsible", v.cue, "none") for m in ms]
    return out


def item_confidence(cues: list[str], ambiguous: bool) -> float:
    """How sure the item's roles are: the weakest cue behind them (roles.yaml cue_confidence), halved
    when a table row's cell boundary could not be seen; 0 for an item that names no unit."""
    if not cues:
        return 0.0
    weights = vocab.roles().cue_confidence
    weakest = min(weights.get(c, 0.5) for c in set(cues))
    return round(weakest * 0.5, 2) if ambiguous else weakest


def _subtree_end(node: Node) -> int:
    end = node.end
    for c in node.children:
        end = max(end, _subtree_end(c))
    return end


def _title_for_kind(text: str, node: Node) -> str:
    t = heading_title(text, node)
    return re.sub(r"[((][^))]*[))]", "", t).strip(" 。.")


def with_paragraph_items(text: str, nodes: list[Node]) -> list[Node]:
    """A numbered heading whose paragraphs each end with their own role part (山东 2015: '(一)推动经济
    …。' then paragraphs '…。(省发展改革委、省财政厅等负责)') holds unnumbered items: each such
    paragraph becomes an item (no number) under the heading. Two paragraphs at least, and the heading
    line itself names no unit: one item's text wrapped over two lines is not split."""
    out: list[Node] = []
    for n in nodes:
        out.append(n)
        if not n.is_leaf or n.style in ("row", "group"):
            continue
        line_end = text.find("\n", n.body_start)
        if line_end < 0 or line_end >= n.end or "\n" not in text[line_end:n.end].strip() \
                or line_role_part(text, n.body_start, line_end):
            continue  # fewer than two paragraphs under the heading line, or the line has roles itself
        paras, pos = [], line_end + 1
        for line in text[line_end + 1:n.end].split("\n"):
            if line.strip():
                a = pos + len(line) - len(line.lstrip())
                paras.append((a, pos + len(line.rstrip()), line_role_part(text, a, pos + len(line))))
            pos += len(line) + 1
        if sum(1 for *_, role in paras if role) < 2 or not paras[-1][2] and sum(1 for *_, r in paras if not r) > 1:
            continue
        for a, b, role in paras:
            if role:
                child = Node("para", "", a, a, end=b, run=n.run, parent=n)
                n.children.append(child)
                out.append(child)
    return out


def group_lead(text: str, node: Node) -> LabelledValue | None:
    """The lead unit a heading names for everything beneath it (省监察厅牵头的工作), as an inherited
    lead with the cue `group`; None for any other heading."""
    line_end = text.find("\n", node.body_start, node.body_start + 80)
    if node.style == "row" or not any(w in text[node.body_start:line_end if line_end > 0 else node.body_start + 80]
                                      for w in ("牵头", "负责")):
        return None  # cheap test first: every heading is asked
    title = heading_title(text, node)
    m = vocab.roles().group_lead_heading_re.match(title)
    if not m or not looks_like_units(m.group("units")):
        return None
    a = text.find(title, node.body_start) + m.start("units")
    return LabelledValue("", "lead", m.group("units"), a, a + len(m.group("units")), inherited=True, cue="group")


def item_kind_and_binding(text: str, node: Node) -> tuple[str, str | None]:
    cfg = vocab.outline()
    kind, binding = "task", None
    found_kind = False
    for anc in node.ancestors():
        title = _title_for_kind(text, anc)
        if binding is None:
            binding = next((b for b in cfg.binding if b in title), None)
        if not found_kind and len(title) <= cfg.max_heading_chars:
            for k, words in cfg.item_kinds.items():
                if any(w in title for w in words):
                    kind, found_kind = k, True
                    break
    return kind, binding


def document_id(data: bytes) -> tuple[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    return sha[:16], sha


def parse_document(data: bytes, source_file: str, reviewed=None, time_limit_s: float | None = None) -> ParsedDocument:
    """Read and parse one notice file. Raises UnreadableDocument (the file cannot be read as a
    notice), NoItemsFound, or ParseTimeout (a NoItemsFound) when it takes more than `time_limit_s`
    seconds of CPU time (default timeout.DEFAULT_SECONDS; <= 0: no limit)."""
    with timeout.time_limit(timeout.DEFAULT_SECONDS if time_limit_s is None else time_limit_s):
        decoded = document_text(data, source_file)
        text = normalise_text(decoded.text)
        return parse_text(text, source_file, data=data, encoding=decoded.encoding, reviewed=reviewed)


def parse_text(text: str, source_file: str, data: bytes | None = None, encoding: str = "utf-8",
               reviewed=None) -> ParsedDocument:
    data = data if data is not None else text.encode("utf-8")
    doc_id, sha = document_id(data)
    sview = simplified_view(text)
    one_line = one_line_page(sview) is not None
    sview = unfolded_view(sview)
    meta = extract_metadata(sview)
    outline = parse_outline(sview, one_line)
    nodes = outline.nodes

    nodes = with_paragraph_items(sview, nodes)
    drafts: dict[int, ItemDraft] = {}
    for n in nodes:
        timeout.check()
        if n.style != "row":
            drafts[id(n)] = labelled_item(sview, n)
    values = [v.value for d in drafts.values() if d.role for v in d.role.values if v.role in UNIT_ROLES]
    short_lines = [ln.strip() for ln in sview[: outline.text_end].split("\n") if 2 < len(ln.strip()) <= 16]
    lexicon = standalone_names(values) | {s for s in short_lines if has_suffix(s) and not re.search(r"[。::,,]", s)}
    splitter = UnitSplitter(lexicon)
    for n in nodes:
        timeout.check()
        if n.style == "row":
            drafts[id(n)] = grid_row_roles(sview, n) if n.cells else table_row_roles(sview, n, splitter)

    heading_leads = {id(n): g for n in nodes if not n.is_leaf and (g := group_lead(sview, n))}
    for n in nodes:  # the lead a heading names for the work beneath it: (一)省监察厅牵头的工作
        if not n.is_leaf or n.style == "row":
            continue
        group = group_lead(sview, n)
        if group is None and heading_leads:
            group = next((heading_leads[id(a)] for a in n.ancestors() if id(a) in heading_leads), None)
        if group is not None:
            d = drafts[id(n)]
            if d.role is None:
                d.role = RolePart(d.text_end, d.text_end, [group])
            elif not any(v.role == "lead" for v in d.role.values):
                d.role.values.insert(0, group)

    # which leaves are items: those with roles, and their role-less siblings (a cut-off item)
    def bears_roles(n: Node) -> bool:
        d = drafts[id(n)]
        return d.role is not None and any(v.role in UNIT_ROLES for v in d.role.values)

    siblings: dict[int, list[Node]] = {}
    for n in nodes:
        siblings.setdefault(id(n.parent) if n.parent else -n.run - 1, []).append(n)
    item_nodes: list[Node] = []
    for n in nodes:
        if not n.is_leaf or n.style == "group":
            continue
        sibs = siblings[id(n.parent) if n.parent else -n.run - 1]
        if bears_roles(n) or any(s.is_leaf and bears_roles(s) for s in sibs):
            item_nodes.append(n)
    dropped = item_nodes.pop() if item_nodes and cut_off(sview, drafts[id(item_nodes[-1])]) else None
    if dropped is None and item_nodes:  # the page stops in a leaf after the last item (a new sub-heading's first item)
        tail = next((n for n in reversed(nodes) if n.is_leaf and n.run == item_nodes[-1].run), None)
        if tail is not None and tail.start > item_nodes[-1].start and not sview[tail.end:].strip() \
                and cut_off(sview, drafts[id(tail)]):
            dropped = tail
    if not item_nodes:
        raise NoItemsFound(
            "no numbered items with responsible units (牵头单位/责任单位 or a unit table) were found"
        )
    kept_runs = {n.run for n in item_nodes}
    item_ids = {id(n) for n in item_nodes}
    section_nodes = [n for n in nodes if n.run in kept_runs and id(n) not in item_ids]

    # first-listed-leads rules: outside any item they hold for the whole notice, inside one from there on
    rule_from: int | None = None
    spans = [(n.start, drafts[id(n)].role.end if drafts[id(n)].role else n.end, k) for k, n in enumerate(item_nodes)]
    for m in vocab.roles().first_listed_re.finditer(sview):
        k = next((k for a, b, k in spans if a <= m.start() < b), None)
        rule_from = 0 if k is None else (k if rule_from is None else min(rule_from, k))
    role_rule = "first_listed_leads" if rule_from is not None else "as_labelled"

    place = gazetteer.place_by_name(meta.jurisdiction) if meta.jurisdiction else None
    resolver = Resolver(meta.jurisdiction, place.parent if place and place.level != "prefecture" else None, reviewed)

    # sections
    sec_rows, sec_id_of = [], {}
    for k, n in enumerate(section_nodes):
        sid = f"{doc_id}-s{k + 1:03d}"
        sec_id_of[id(n)] = sid
        a, b = _strip_span(sview, n.start, _subtree_end(n))
        sec_rows.append({
            "doc_id": doc_id, "section_id": sid, "seq": k + 1, "style": n.style, "item_no": n.no,
            "parent_nos": [x.no for x in n.numbered_ancestors()],
            "parent_section_id": sec_id_of.get(id(n.parent)) if n.parent else None,
            "title": heading_title(sview, n), "char_start": a, "char_end": b,
        })

    item_rows, asg_rows, leader_rows, issues = [], [], [], []
    starred_text = any(m in sview for m in vocab.roles().lead_markers)
    kind_under: dict[int, tuple[str, str | None]] = {}
    if dropped is not None:
        where = "/".join([x.no for x in dropped.numbered_ancestors()] + [dropped.no or "(unnumbered)"])
        issues.append(QualityIssue(doc_id, None, "warning", "truncated_item_dropped",
                                   f"the notice ends inside item {where} ({sview[dropped.body_start:dropped.body_start + 20].strip()}…): "
                                   "the item was dropped, the items before it are loaded"))
    mentions_for_review: list[tuple[str, Mention, str]] = []
    doc_aliases: dict[str, str] = {}
    item_mentions: list[tuple[str, str, int, Mention, bool, str, str]] = []  # item_id, role, ord, mention, inherited, cue, rule
    confidence: dict[str, float] = {}
    leader_of: dict[int, tuple[str, int, int] | None] = {}  # the leader each heading names, once per heading

    overall_of: dict[int, list[Mention]] = {}
    for n in section_nodes:
        d = drafts.get(id(n))
        if d and d.role:
            for v in d.role.values:
                if v.role == "overall_lead":
                    overall_of[id(n)] = splitter.split(v.value, v.start)
                elif v.role in UNIT_ROLES:
                    issues.append(QualityIssue(doc_id, None, "warning", "roles_on_heading",
                                               f"heading {n.no or '——'} carries {v.label}: {v.value[:40]}"))

    for k, n in enumerate(item_nodes):
        timeout.check()
        d = drafts[id(n)]
        item_id = f"{doc_id}-{k + 1:04d}"
        if id(n.parent) not in kind_under:  # it depends on the headings above only: once per parent
            kind_under[id(n.parent)] = item_kind_and_binding(sview, n)
        kind, binding = kind_under[id(n.parent)]
        end = d.role.end if d.role else d.text_end
        parent_sid = next((sec_id_of[id(a)] for a in n.ancestors() if id(a) in sec_id_of), None)
        item_rows.append({
            "doc_id": doc_id, "item_id": item_id, "seq": k + 1, "section_id": parent_sid,
            "item_kind": kind, "binding": binding, "item_no": n.no or None,  # None: an unnumbered row
            "parent_nos": [x.no for x in n.numbered_ancestors()],
            "text": text[d.text_start:d.text_end], "char_start": n.start, "char_end": end,
            "text_start": d.text_start, "text_end": d.text_end, "layout": d.layout, "num_style": n.style,
            **_deadline(sview, d, meta.period_start if meta.doc_kind == "gwr" else None),
        })
        if d.ambiguous:
            issues.append(QualityIssue(doc_id, item_id, "warning", "ambiguous_cell_boundary",
                                       f"row {n.no}: no glue between the lead and co cells; took the first unit as lead"))
        # overall leads inherited from group headings
        inherited_here = [(item_id, "overall_lead", o, m, True, "group", "as_written")
                          for anc in n.ancestors() for o, m in enumerate(overall_of.get(id(anc), []), 1)]
        item_mentions += inherited_here
        if d.role is None:
            continue
        labelled = [(v, splitter.split(v.value, v.start)) for v in d.role.values if v.role in UNIT_ROLES]
        for v, ms in labelled:
            if not ms:
                issues.append(QualityIssue(doc_id, item_id, "error", "units_cut_off",
                                           f"item {'/'.join([x.no for x in n.numbered_ancestors()] + [n.no])}: "
                                           f"{v.label or v.role} is followed by no unit (the list is cut off)"))
        for v, ms in labelled:
            for m in ms:
                for al in m.aliases:
                    doc_aliases[al] = m.mention
        counters: dict[str, int] = {}
        cues = [cue for *_, cue, _ in inherited_here]
        for v, m, r, cue, rule in mention_roles(sview, labelled, rule_from is not None and k >= rule_from, starred_text):
            counters[r] = counters.get(r, 0) + 1
            item_mentions.append((item_id, r, counters[r], m, v.inherited, cue, rule))
            cues.append(cue)
        confidence[item_id] = item_confidence(cues, d.ambiguous)
        o = 0
        if not any(v.role == "leader" for v in d.role.values):  # the leader a heading above names
            for anc in n.ancestors():
                if id(anc) not in leader_of:
                    leader_of[id(anc)] = heading_leader(sview, anc.body_start,
                                                        anc.body_start + len(heading_title(sview, anc)) + 1)
                found = leader_of[id(anc)]
                if found:
                    o += 1
                    leader_rows.append({"doc_id": doc_id, "item_id": item_id, "ord": o, "name": found[0],
                                        "char_start": found[1], "char_end": found[2]})
                    break
        for v in d.role.values:
            if v.role == "leader":
                for name, a, b, ambiguous_name in person_names(sview, v.start, v.end):
                    o += 1
                    leader_rows.append({"doc_id": doc_id, "item_id": item_id, "ord": o, "name": name,
                                        "char_start": a, "char_end": b})
                    if ambiguous_name:
                        issues.append(QualityIssue(doc_id, item_id, "warning", "ambiguous_person_names",
                                                   f"leader names run together: {name}"))

    resolver.document_aliases = doc_aliases
    units: dict[str, dict] = {}
    alias_rows: dict[tuple[str, str], dict] = {}
    for item_id, role, o, m, inherited, cue, rule in item_mentions:
        timeout.check()
        res = resolver.resolve(m.mention, m.kind)
        if res.unit_id not in units:  # the first mention of a unit (or alias) makes its row
            units[res.unit_id] = {
                "doc_id": doc_id, "unit_id": res.unit_id, "jurisdiction": resolver.jurisdiction, "name": res.name,
                "kind": res.kind, "functions": list(res.functions), "resolved": res.resolved, "source": res.source,
            }
        if (resolver.jurisdiction, m.mention) not in alias_rows:
            alias_rows[(resolver.jurisdiction, m.mention)] = {
                "doc_id": doc_id, "jurisdiction": resolver.jurisdiction, "alias": m.mention, "unit_id": res.unit_id,
                "source": res.source,
            }
        for al in m.aliases:
            if (resolver.jurisdiction, al) not in alias_rows:
                alias_rows[(resolver.jurisdiction, al)] = {
                    "doc_id": doc_id, "jurisdiction": resolver.jurisdiction, "alias": al, "unit_id": res.unit_id,
                    "source": "document",
                }
        asg_rows.append({
            "doc_id": doc_id, "item_id": item_id, "role": role, "ord": o, "mention": m.mention,
            "written": text[m.start:m.end], "mention_kind": m.kind, "unit_id": res.unit_id,
            "resolved": res.resolved, "inherited": inherited, "char_start": m.start, "char_end": m.end,
            "cue": cue, "rule": rule,
        })
        if not res.resolved and not inherited:
            mentions_for_review.append((item_id, m, res.unit_id))

    low = vocab.roles().low_confidence
    for row in item_rows:
        row["confidence"] = confidence.get(row["item_id"], 0.0)
        if row["confidence"] < low:
            issues.append(QualityIssue(doc_id, row["item_id"], "warning", "low_confidence",
                                       f"item {'/'.join(row['parent_nos'] + [row['item_no'] or '(row)'])}: its roles rest on "
                                       f"weak evidence (confidence {row['confidence']:.2f}); check them"))
    frames = {
        "documents": _documents_frame(doc_id, sha, source_file, meta, role_rule, encoding, len(text),
                                      incomplete=dropped is not None),
        "document_texts": rows_frame([{"doc_id": doc_id, "text": text}], TEXTS_SCHEMA),
        "sections": rows_frame(sec_rows, SCHEMAS["sections"]),
        "items": rows_frame(item_rows, SCHEMAS["items"]),
        "assignments": rows_frame(asg_rows, SCHEMAS["assignments"]),
        "leaders": rows_frame(leader_rows, SCHEMAS["leaders"]),
        "units": rows_frame(list(units.values()), SCHEMAS["units"]),
        "unit_aliases": rows_frame(list(alias_rows.values()), SCHEMAS["unit_aliases"]),
    }
    frames["indicators"], mismatches = extract_indicators(doc_id, sview, frames["items"], meta.doc_kind,
                                                          (meta.period_start, meta.period_end))
    issues += [QualityIssue(doc_id, m["item_id"], "warning", "metric_unit_mismatch", m["message"]) for m in mismatches]
    issues += quality_checks(doc_id, sview, meta, frames, outline)
    review = []
    for item_id, m, unit_id in mentions_for_review:
        issues.append(QualityIssue(doc_id, item_id, "warning", "unresolved_unit",
                                   f"{m.mention} is not in the alias dictionary and matches no function"))
        review.append({"jurisdiction": resolver.jurisdiction, "mention": m.mention, "doc_id": doc_id,
                       "source_file": source_file, "item_id": item_id,
                       "context": text[max(0, m.start - 30):m.end + 10].replace("\n", " ")})
    frames["quality_issues"] = rows_frame([i.as_row() for i in issues], SCHEMAS["quality_issues"])
    return ParsedDocument(doc_id, frames, review)


def _deadline(text: str, d: ItemDraft, year: int | None) -> dict:
    v = next((v for v in d.role.values if v.role == "deadline"), None) if d.role else None
    if v is None:
        return {"deadline_text": None, "deadline_date": None}
    written = text[v.start:v.end].strip()
    return {"deadline_text": written or None, "deadline_date": deadline_date(written, year)}


def _documents_frame(doc_id, sha, source_file, meta: Metadata, role_rule, encoding, n_chars,
                     incomplete: bool = False) -> pl.DataFrame:
    row = {
        "doc_id": doc_id, "source_file": source_file, "sha256": sha, "title": meta.title, "issuer": meta.issuer,
        "jurisdiction": meta.jurisdiction, "jurisdiction_code": meta.jurisdiction_code,
        "province": meta.province, "admin_level": meta.admin_level, "doc_kind": meta.doc_kind,
        "period_start": meta.period_start, "period_end": meta.period_end, "period_year": meta.period_start,
        "published_on": meta.published_on, "issued_on": meta.issued_on, "doc_number": meta.doc_number,
        "index_no": meta.index_no, "role_rule": role_rule, "encoding": encoding, "n_chars": n_chars,
        "parser_version": vocab.parser_version(), "incomplete": incomplete,
    }
    return rows_frame([row], SCHEMAS["documents"])


TEXTS_SCHEMA = {"doc_id": pl.Utf8, "text": pl.Utf8}

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "documents": {
        "doc_id": pl.Utf8, "source_file": pl.Utf8, "sha256": pl.Utf8, "title": pl.Utf8, "issuer": pl.Utf8,
        "jurisdiction": pl.Utf8, "jurisdiction_code": pl.Utf8, "province": pl.Utf8, "admin_level": pl.Utf8,
        "doc_kind": pl.Utf8, "period_start": pl.Int64, "period_end": pl.Int64, "period_year": pl.Int64,
        "published_on": pl.Date, "issued_on": pl.Date, "doc_number": pl.Utf8, "index_no": pl.Utf8,
        "role_rule": pl.Utf8, "encoding": pl.Utf8, "n_chars": pl.Int64, "parser_version": pl.Utf8,
        "incomplete": pl.Boolean,
    },
    "sections": {
        "doc_id": pl.Utf8, "section_id": pl.Utf8, "seq": pl.Int64, "style": pl.Utf8, "item_no": pl.Utf8,
        "parent_nos": pl.List(pl.Utf8), "parent_section_id": pl.Utf8, "title": pl.Utf8,
        "char_start": pl.Int64, "char_end": pl.Int64,
    },
    "items": {
        "doc_id": pl.Utf8, "item_id": pl.Utf8, "seq": pl.Int64, "section_id": pl.Utf8, "item_kind": pl.Utf8,
        "binding": pl.Utf8, "item_no": pl.Utf8, "parent_nos": pl.List(pl.Utf8), "text": pl.Utf8,
        "char_start": pl.Int64, "char_end": pl.Int64, "text_start": pl.Int64, "text_end": pl.Int64,
        "layout": pl.Utf8, "num_style": pl.Utf8, "deadline_text": pl.Utf8, "deadline_date": pl.Date,
        "confidence": pl.Float64,
    },
    "assignments": {
        "doc_id": pl.Utf8, "item_id": pl.Utf8, "role": pl.Utf8, "ord": pl.Int64, "mention": pl.Utf8,
        "written": pl.Utf8, "mention_kind": pl.Utf8, "unit_id": pl.Utf8, "resolved": pl.Boolean,
        "inherited": pl.Boolean, "char_start": pl.Int64, "char_end": pl.Int64, "cue": pl.Utf8, "rule": pl.Utf8,
    },
    "leaders": {
        "doc_id": pl.Utf8, "item_id": pl.Utf8, "ord": pl.Int64, "name": pl.Utf8,
        "char_start": pl.Int64, "char_end": pl.Int64,
    },
    "units": {
        "doc_id": pl.Utf8, "unit_id": pl.Utf8, "jurisdiction": pl.Utf8, "name": pl.Utf8, "kind": pl.Utf8,
        "functions": pl.List(pl.Utf8), "resolved": pl.Boolean, "source": pl.Utf8,
    },
    "unit_aliases": {"doc_id": pl.Utf8, "jurisdiction": pl.Utf8, "alias": pl.Utf8, "unit_id": pl.Utf8, "source": pl.Utf8},
    "quality_issues": {
        "doc_id": pl.Utf8, "item_id": pl.Utf8, "severity": pl.Utf8, "check_name": pl.Utf8, "message": pl.Utf8,
    },
}
