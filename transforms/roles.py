"""Find role labels (牵头单位:…;责任单位:…) in an item and cut the text into labelled values."""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms import vocab
from transforms.mentions import has_suffix, is_collective, matched_brackets

DELIMITERS = "((〔【[;;,,。.\n 、"
ROLE_CLOSERS = "))〕】]"  # brackets that may close an item's role part
UNIT_ROLES = ("overall_lead", "lead", "co", "co_or_responsible", "responsible")
_UNIT_OPENING = re.compile(r"[省市区县州旗各团“\"]|人行|人民银行|中国|国家|中共")


@dataclass
class LabelledValue:
    label: str  # as printed, e.g. 牵头单位
    role: str  # overall_lead | lead | co | co_or_responsible | leader
    value: str
    start: int  # offsets of `value` in the scanned string (plus base)
    end: int
    inherited: bool = False  # taken from a merged table cell above, or from the row group's lead
    cue: str = "label"  # the evidence for the role: label | verb | bracket | column | group (roles.yaml cue_confidence)


@dataclass
class RolePart:
    start: int  # where the role part begins (the opening bracket, if any)
    end: int  # where it ends (after the closing bracket, if any)
    values: list[LabelledValue]
    inline: bool = False  # a sentence of the item's own text (由X牵头,Y配合), not a part after it


def _prev_char(s: str, i: int) -> str:
    j = i - 1
    while j >= 0 and s[j] == " ":
        j -= 1
    return s[j] if j >= 0 else "\n"


def _next_char(s: str, i: int) -> str:
    j = i
    while j < len(s) and s[j] == " ":
        j += 1
    return s[j] if j < len(s) else ""


def find_labels(s: str) -> list[re.Match]:
    """Role labels that really label something.

    A label followed by a colon always counts. Otherwise it must follow a delimiter and be
    followed by a unit (牵头单位市住建局) or by a stray semicolon (责任单位;长江流域…). This keeps
    names that end in a label word (…工作协调机制牵头单位) and prose (各牵头单位要…) out.
    """
    out = []
    for m in vocab.roles().label_re.finditer(s):
        nxt = _next_char(s, m.end())
        if nxt in "::":
            out.append(m)
            continue
        if _prev_char(s, m.start()) not in DELIMITERS:
            continue
        j = m.end()
        while j < len(s) and s[j] == " ":
            j += 1
        if nxt in ";;" or _UNIT_OPENING.match(s, j):
            out.append(m)
    return out


def labelled_values(s: str, labels: list[re.Match], end: int, base: int = 0) -> list[LabelledValue]:
    """Cut s into one value per label, each running to the next label (or `end`)."""
    roles = vocab.roles().labels
    out = []
    for k, m in enumerate(labels):
        stop = labels[k + 1].start() if k + 1 < len(labels) else end
        a = m.end()
        while a < stop and s[a] in " ::;;":
            a += 1
        b = stop
        while b > a and s[b - 1] in " ;;,,。.\n((":
            b -= 1
        role = roles[m.group(0)]
        if role == "phrase":  # a phrase that does not read names no units (it is prose, not a list)
            out += phrase_values(s, a, b, base) or []
            continue
        if role in UNIT_ROLES:
            b = _cut_first_listed_note(s, a, b)
        b, more = _phrase_after_semicolon(s, a, b, base)
        out.append(LabelledValue(m.group(0), role, s[a:b], base + a, base + b))
        out += more
    return out


def _cut_first_listed_note(s: str, a: int, b: int) -> int:
    """'市发改委、市统计局;首位单位为牵头单位,下同' -> the list ends before the note."""
    m = vocab.roles().first_listed_note_re.search(s, a, b)
    if m is None:
        return b
    return m.start()


_LEVEL_OPENING = re.compile(r"[省市区县州旗各]|国家|国务院|中共|团[省市区县州旗盟]委|人行|人民银行|中国")
_PIECE_SPLIT = re.compile(r"[、,,;;\s]+")
_SEMICOLON = re.compile("[;;]")


def looks_like_units(value: str, strict: bool = False, cued: bool = False) -> bool:
    """Every piece of a list is a unit name: it ends like one (局, 委, 中心…) and either opens like one
    (市…, 区…, 国家…) or names a known function (财政部, 发改局). `strict` asks for the opening.
    `cued`: a role verb follows the list (…徐管委协办), so a piece that only ends like a unit is
    enough, as long as one piece of the list also opens like one."""
    from transforms.units import functions_of

    parts = [p.removesuffix("等") for p in _PIECE_SPLIT.split(value) if p]
    if not parts or any(len(p) > vocab.grammar().max_unit_chars for p in parts):
        return False
    if cued and len(parts) > 1 and all(len(p) >= 2 and (has_suffix(p) or is_collective(p)) for p in parts):
        return any(looks_like_units(p) for p in parts)
    for i, p in enumerate(parts):
        if is_collective(p) and len(p) >= 2:
            continue
        if not has_suffix(p) and _suffix_written_once(p, parts[i + 1:]):
            continue  # 县民政、司法局: 县民政局、县司法局
        if len(p) < 3 or not has_suffix(p):
            return False
        if not _LEVEL_OPENING.match(p) and (strict or not _names_function(p)):
            return False
    return True


def _names_function(piece: str) -> bool:
    """财政部, 发改局, 中央农办: a name that opens with a function (or a dictionary alias), possibly after
    a place's name (宁波化工区管委会); not prose that merely contains one (以下简称市发改委)."""
    from transforms.mentions import starts_with_function
    from transforms.units import functions_of

    return starts_with_function(piece) or (bool(functions_of(piece)) and not piece.startswith(vocab.roles().prose_openers))


def _suffix_written_once(piece: str, rest: list[str]) -> bool:
    """A piece with no suffix before a piece that has one, in a group that writes the suffix once
    (县民政、司法局): the piece with that suffix names a known function (民政局), so prose such as
    县城、乡镇卫生院 is not read as units."""
    from transforms.units import functions_of

    nxt = next((q for q in rest if has_suffix(q)), None)
    if nxt is None:
        return False
    opening = _LEVEL_OPENING.match(piece)
    core = piece[opening.end():] if opening else piece
    return len(core) >= 2 and bool(functions_of(core + nxt[-1]))


def _clauses(s: str, a: int, b: int) -> list[tuple[int, int]]:
    out, start = [], a
    for k in range(a, b + 1):
        if k == b or s[k] in ",,;;":
            x, y = start, k
            while x < y and s[x] == " ":
                x += 1
            while y > x and s[y - 1] in " 。.":
                y -= 1
            if y > x:
                out.append((x, y))
            start = k + 1
    return out


def phrase_values(s: str, a: int, b: int, base: int = 0, bare: bool = False) -> list[LabelledValue] | None:
    """Roles written as a phrase: '市发改委牵头,市经信局、市科技局按职责分工负责', '财政部、人民银行等负责',
    '国务院各部门分别负责,年内持续推进'. None unless every clause reads and one names units.
    `bare`: a clause that is only a unit list, with no verb, reads too (in an item's closing bracket)."""
    roles = vocab.roles()
    values: list[LabelledValue] = []
    for x, y in _clauses(s, a, b):
        clause = s[x:y]
        joint = _joint_clause(s, x, y, base)
        if joint:
            values += joint
            continue
        m = roles.phrase_verb_re.search(clause)
        if m:
            ux, uy = x, x + m.start()
            for opener in roles.phrase_openers:
                if s.startswith(opener, ux):
                    ux += len(opener)
            if uy > ux and looks_like_units(s[ux:uy], cued=True):
                role = roles.phrase_verbs[m.group("verb")]
                values.append(LabelledValue("", role, s[ux:uy], base + ux, base + uy, cue="verb"))
                continue
        if roles.deadline_clause_re.search(clause) and values:
            values.append(LabelledValue("", "deadline", clause, base + x, base + y))
            continue
        if bare and looks_like_units(clause):  # no verb: a bare list (市发改委,各县〔市、区〕政府)
            values.append(LabelledValue("", "co_or_responsible", clause, base + x, base + y, cue="bracket"))
            continue
        return None
    return values if any(v.role in UNIT_ROLES for v in values) else None


def _joint_clause(s: str, x: int, y: int, base: int) -> list[LabelledValue]:
    """'X会同Y、Z等部门研究提出意见': X leads, Y and Z are co; the words after the co list are not units."""
    roles = vocab.roles()
    for m in roles.joint_verb_re.finditer(s, x, y):
        ux = x
        for opener in roles.phrase_openers:
            if s.startswith(opener, ux):
                ux += len(opener)
        if not (m.start() > ux and looks_like_units(s[ux:m.start()])):
            continue
        k = _units_prefix_end(s, m.end(), y)
        if k:
            return [LabelledValue("", "lead", s[ux:m.start()], base + ux, base + m.start(), cue="verb"),
                    LabelledValue("", "co", s[m.end():k], base + m.end(), base + k, cue="verb")]
    return []


def _find_all(s: str, word: str):
    k = s.find(word)
    while k >= 0:
        yield k
        k = s.find(word, k + 1)


def _units_prefix_end(s: str, a: int, b: int) -> int | None:
    """The end of the longest unit list that starts at a and is followed by prose (…等部门研究提出)."""
    g = vocab.grammar()
    ends = sorted({a + k + len(sfx) for sfx in g.suffixes for k in _find_all(s[a:b], sfx)}, reverse=True)
    return next((k for k in ends if looks_like_units(s[a:k])), None)


_PAUSE = re.compile("(?:^|(?<=[。;;,,\n ]))")


def phrase_role_part(block: str, base: int = 0) -> RolePart | None:
    """An item whose roles are a phrase, not labels, at the end of one of its paragraphs (the
    first that has one): a closing bracket (市发改委牵头,市财政局配合) or (市发改委,各县政府); or its
    last sentence from a pause on (…。由省发改委牵头,省交通厅等单位配合。 / …,区科技局主办,各街道协办),
    which stays part of the item text (inline)."""
    pos = 0
    for line in block.split("\n"):
        found = _line_phrase(block, pos, pos + len(line), base)
        if found:
            return found
        pos += len(line) + 1
    for rx in vocab.roles().sentence_res:
        for m in rx.finditer(block):
            if block[m.end():].strip(" \n。.;;"):
                continue  # only as the item's last sentence: the text after it would be lost
            values = phrase_values(block, m.start("units"), m.end("verb"), base)
            if values:
                stop = m.end() + (1 if block[m.end():m.end() + 1] in ("。", ".") else 0)
                return RolePart(base + m.start(), base + stop, values, inline=True)
    return None


def line_role_part(text: str, a: int, b: int) -> RolePart | None:
    """The role phrase that ends the line text[a:b], if any (offsets into text)."""
    return _line_phrase(text, a, b, 0)


def _line_phrase(block: str, a: int, b: int, base: int) -> RolePart | None:
    end = a + len(block[a:b].rstrip(" 。.;;"))
    if end <= a:
        return None
    closed = block[end - 1] in ROLE_CLOSERS
    if not closed and not vocab.roles().phrase_verb_re.search(block, max(a, end - 12), end) \
            and not vocab.roles().joint_verb_re.search(block, a, end):
        return None  # a role phrase ends with a bracket or a verb (…牵头 / …负责完成), or joins (X会同Y…)
    if closed:
        opener = next((o for o, c in matched_brackets(block[a:end]).items() if c == end - 1 - a), None)
        if opener is not None:
            values = phrase_values(block, a + opener + 1, end - 1, base, bare=True)
            if values:
                return RolePart(base + a + opener, base + end, values)
    sentence = max(block.rfind(t, a, end) for t in "。;;") + 1 or a
    sentence = max(sentence, a)
    starts = sorted({m.end() for m in _PAUSE.finditer(block, sentence, end)}
                    | {sentence + k + 1 for k, ch in enumerate(block[sentence:end]) if ch == "由"})
    for k in starts:
        clause_end = min([j for j in (block.find(c, k, end) for c in ",,") if j >= 0] or [end])
        if "由" in block[k:clause_end]:
            continue  # 这项工作由X负责: the units begin after 由
        values = phrase_values(block, k, end, base)
        if values:
            stop = end + (1 if block[end:end + 1] in ("。", ".") else 0)
            return RolePart(base + k, base + stop, values, inline=True)
    return None


def _phrase_after_semicolon(s: str, a: int, b: int, base: int) -> tuple[int, list[LabelledValue]]:
    """'张 伟;市发改委牵头,市财政局配合' after 责任领导: the value ends at ';' and a phrase follows."""
    for semicolon in _SEMICOLON.finditer(s, a, b):
        k = semicolon.start()
        values = phrase_values(s, k + 1, b, base)
        if values:
            end = k
            while end > a and s[end - 1] == " ":
                end -= 1
            return end, values
    return b, []


def find_role_part(block: str, base: int = 0) -> RolePart | None:
    """The labelled role part of an item block, or None when the block has no labels.

    It starts at the first label (or the bracket just before it). It ends at the bracket that
    closes that one, or, with no bracket, at the end of the line; following lines that start
    with a label belong to it too (labelled-line layouts).
    """
    labels = find_labels(block)
    if not labels:
        return None
    first = labels[0]
    start = first.start()
    j = start - 1
    while j >= 0 and block[j] == " ":
        j -= 1
    before: list[LabelledValue] = []
    if j >= 0 and block[j] in "((":
        start = j
        closer = matched_brackets(block[j:]).get(0)
        end = j + closer + 1 if closer is not None else _line_end(block, first.start())
    else:
        end = _line_end(block, first.start())
        # a phrase before the first label in the same bracket: (市发改委牵头,市财政局配合;完成时限:6月底前)
        line_start = block.rfind("\n", 0, first.start()) + 1
        for o, c in matched_brackets(block).items():
            if line_start <= o < first.start() < c and block[o] in "((":
                k = first.start()
                while k > o + 1 and block[k - 1] in " ;;,,":
                    k -= 1
                before = phrase_values(block, o + 1, k, base) or []
                if before:
                    start, end = o, c + 1
                break
    # following lines that begin with a label continue the role part
    while end < len(block):
        nxt = block.find("\n", end)
        line_start = end if nxt == -1 else nxt + 1
        while line_start < len(block) and block[line_start] in " \n":
            line_start += 1
        m = next((lm for lm in labels if lm.start() == line_start), None)
        if m is None:
            break
        end = _line_end(block, line_start)
    inside = [lm for lm in labels if start <= lm.start() < end]
    value_end = end - 1 if block[end - 1 : end] in ("))") and start < len(block) and block[start] in "((" else end
    return RolePart(base + start, base + end, before + labelled_values(block, inside, value_end, base))


def _line_end(s: str, i: int) -> int:
    n = s.find("\n", i)
    return len(s) if n == -1 else n
