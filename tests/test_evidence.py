"""The evidence behind each assignment (assignments.cue, assignments.rule) and the item's confidence."""

from transforms.document import parse_text

HEAD = "关于印发2024年某市政府工作报告重点工作分工方案的通知\n一、重点工作\n"


def evidence(body: str) -> list[tuple]:
    doc = parse_text(HEAD + body, "evidence.txt")
    asg = doc.frames["assignments"].sort("item_id", "role", "ord")
    conf = dict(doc.frames["items"].select("item_id", "confidence").iter_rows())
    return [(r["mention"], r["role"], r["cue"], r["rule"], conf[r["item_id"]]) for r in asg.iter_rows(named=True)]


def test_labels_are_the_strongest_cue_and_a_responsible_list_beside_a_lead_is_co():
    assert evidence("1.优化营商环境。(牵头单位:市发改委;责任单位:市财政局)\n") == [
        ("市财政局", "co", "label", "lead_elsewhere", 1.0),
        ("市发改委", "lead", "label", "as_written", 1.0),
    ]


def test_a_role_sentence_is_read_from_its_verbs():
    assert evidence("1.编制交通规划。由市发改委牵头,市交通局配合。\n") == [
        ("市交通局", "co", "verb", "as_written", 0.9),
        ("市发改委", "lead", "verb", "as_written", 0.9),
    ]


def test_a_single_unit_in_a_bare_bracket_leads():
    assert evidence("1.地区生产总值增长6%。(市发改委)\n") == [("市发改委", "lead", "bracket", "single_unit", 0.8)]


def test_a_bare_list_of_several_units_is_responsible():
    assert evidence("1.地区生产总值增长6%。(市发改委,市统计局)\n") == [
        ("市发改委", "responsible", "bracket", "none", 0.8),
        ("市统计局", "responsible", "bracket", "none", 0.8),
    ]


def test_a_stated_first_listed_rule_makes_the_first_of_a_bare_list_lead():
    body = "责任单位中排序第一单位为牵头单位。\n1.地区生产总值增长6%。(市发改委、市统计局)\n"
    assert evidence(body) == [
        ("市统计局", "co", "bracket", "first_listed_leads", 0.8),
        ("市发改委", "lead", "bracket", "first_listed_leads", 0.8),
    ]


def test_a_heading_that_names_a_lead_gives_it_to_the_task_beneath():
    body = "(一)市监察局牵头的工作\n加强行政监察工作。\n(二)市审计局牵头的工作\n全面加强审计工作。\n协同单位:市直各部门。\n"
    assert evidence(body) == [
        ("市监察局", "lead", "group", "as_written", 0.9),
        ("市直各部门", "co", "label", "as_written", 0.9),
        ("市审计局", "lead", "group", "as_written", 0.9),
    ]


def test_paragraphs_that_end_with_their_own_units_are_unnumbered_items():
    body = ("(一)推动经济稳定健康发展,必须发挥消费、投资、出口的作用。\n\n"
            "认真落实积极的财政政策。(市发改委、市财政局等负责)\n\n"
            "发挥投资的关键作用。(市发改委、市交通局等负责)\n")
    doc = parse_text(HEAD + body, "paragraphs.txt")
    items = doc.frames["items"].select("item_no", "parent_nos", "text").rows()
    assert items == [(None, ["一", "一"], "认真落实积极的财政政策。"), (None, ["一", "一"], "发挥投资的关键作用。")]
    # 负责 leaves the roles open (no lead is named): every unit is responsible
    assert evidence(body) == [
        ("市发改委", "responsible", "verb", "none", 0.9),
        ("市财政局", "responsible", "verb", "none", 0.9),
        ("市发改委", "responsible", "verb", "none", 0.9),
        ("市交通局", "responsible", "verb", "none", 0.9),
    ]


def test_regression_prose_in_a_bracket_that_mentions_a_unit_is_not_a_unit_list():
    # 以下简称… / 具体由… name a function but open like prose: not a bare list of units
    body = "1.设立城市更新办公室。(以下简称市更新办)\n2.完善财政制度。(具体由市财政局)\n3.推进城市更新。(市住建局)\n"
    assert evidence(body) == [("市住建局", "lead", "bracket", "single_unit", 0.8)]


def test_units_named_as_the_lead_or_co_units_by_wei():
    assert evidence("1.推进城市更新。(市住建局为牵头单位,市财政局、市自然资源局为配合单位)\n") == [
        ("市财政局", "co", "verb", "as_written", 0.9),
        ("市自然资源局", "co", "verb", "as_written", 0.9),
        ("市住建局", "lead", "verb", "as_written", 0.9),
    ]


def test_regression_a_clause_that_names_a_role_is_not_a_unit():
    # 市住建局为牵头单位 ended like a unit (单位) and was read as one unit of a bare list
    from transforms.roles import looks_like_units

    assert not looks_like_units("市住建局为牵头单位")
    assert looks_like_units("各牵头单位")


def test_regression_a_page_that_stops_at_a_bare_label_drops_its_last_item_with_or_without_a_line_break():
    body = "1.推进城市更新。\n牵头单位:市住建局\n责任单位:市财政局\n2.完善财政制度。\n牵头单位:市发改委\n责任单位"
    for end in ("", "\n"):
        doc = parse_text(HEAD + body + end, "cut.txt")
        assert doc.frames["items"]["item_no"].to_list() == ["1"], repr(end)
        assert doc.frames["documents"]["incomplete"][0] is True
