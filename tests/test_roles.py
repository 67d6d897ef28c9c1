"""Role labels: which occurrences of 牵头单位/责任单位 really label units."""

from transforms.roles import find_labels, find_role_part


def labels(s):
    return [m.group(0) for m in find_labels(s)]


def test_label_with_colon():
    assert labels("(牵头单位:市科技局;责任单位:市财政局)") == ["牵头单位", "责任单位"]


def test_label_without_colon_after_a_sentence():
    assert labels("城镇化率达到63%。牵头单位市住建局") == ["牵头单位"]


def test_label_with_stray_semicolon():
    assert labels("牵头单位:市农业农村局;责任单位;长江流域重点水域禁捕退捕领导小组成员单位") == ["牵头单位", "责任单位"]


def test_label_word_at_the_end_of_a_name_is_not_a_label():
    assert labels("(牵头单位:区委国安办,区国家安全重点领域工作协调机制牵头单位;责任单位:区直各单位)") == ["牵头单位", "责任单位"]


def test_prose_is_not_a_label():
    assert labels("各牵头单位要切实履行牵头责任,各责任单位要密切配合支持") == []
    assert labels("责任单位中位列第一者为牵头部门,要切实负起责任") == []


def test_longest_label_wins():
    assert labels("(总牵头单位:区发改局)") == ["总牵头单位"]


def test_role_part_ends_at_its_closing_bracket():
    block = "推进改革。(牵头单位:区财政局(金融办);责任单位:各街道办事处)\n附表1"
    part = find_role_part(block)
    assert block[part.start:part.end] == "(牵头单位:区财政局(金融办);责任单位:各街道办事处)"
    assert [(v.role, v.value) for v in part.values] == [("lead", "区财政局(金融办)"),
                                                       ("co_or_responsible", "各街道办事处")]


def test_unclosed_bracket_ends_at_the_line_end():
    block = "提高效率。(牵头单位:市财政局、市市场监管局,各区镇街道\n\n"
    part = find_role_part(block)
    assert [(v.role, v.value) for v in part.values] == [("lead", "市财政局、市市场监管局,各区镇街道")]


def test_missing_semicolon_before_second_label():
    part = find_role_part("(牵头单位:市文旅局、市委宣传部责任单位:各区镇街道")
    assert [v.value for v in part.values] == ["市文旅局、市委宣传部", "各区镇街道"]


def test_comma_between_roles():
    part = find_role_part("(牵头单位:区农业农村局,责任单位:区自然资源和规划局,各相关街道办事处)")
    assert [v.value for v in part.values] == ["区农业农村局", "区自然资源和规划局,各相关街道办事处"]


def test_labelled_lines_after_the_item():
    block = "建设数字政府。\n牵头单位:市政务服务和大数据管理局\n配合单位:市财政局\n下一段正文"
    part = find_role_part(block)
    assert [(v.role, v.value) for v in part.values] == [("lead", "市政务服务和大数据管理局"), ("co", "市财政局")]
