"""Resolving mentions to canonical units per jurisdiction, and units to functions."""

import pytest

from transforms.units import Resolver


def uid(jur, mention):
    return Resolver(jur, reviewed={}).resolve(mention).unit_id


@pytest.mark.parametrize("a, b", [
    ("市文旅局", "市文化和旅游局"),
    ("市应急局", "市应急管理局"),
    ("市自然资源规划局", "市自然资源和规划局"),
    ("市政务和大数据局", "市政务服务和大数据管理局"),
    ("市退役军人局", "市退役军人事务局"),
    ("潜江市文旅局", "市文旅局"),
])
def test_spellings_of_one_unit_share_a_unit_id(a, b):
    assert uid("潜江市", a) == uid("潜江市", b)


def test_mention_without_prefix_resolves_in_its_own_jurisdiction():
    assert uid("赤壁市", "退役军人事务局") == uid("赤壁市", "市退役军人事务局") == "赤壁市:市退役军人事务局"


def test_same_name_in_two_cities_is_two_units():
    assert uid("潜江市", "市财政局") != uid("赤壁市", "市财政局")


@pytest.mark.parametrize("a, b", [
    ("市人社局", "市人武部"),
    ("市经信局", "市经管局"),
    ("市科信局", "市科协"),
    ("市委宣传部", "市委组织部"),
    ("市林业局", "市自然资源和规划局"),
    ("市财政局", "市税务局"),
])
def test_must_not_merge(a, b):
    r = Resolver("赤壁市", reviewed={})
    ra, rb = r.resolve(a), r.resolve(b)
    assert ra.unit_id != rb.unit_id
    assert not set(ra.functions) & set(rb.functions)


@pytest.mark.parametrize("jur, mention", [("丹江口市", "市科技经信局"), ("赤壁市", "市科信局"), ("江夏区", "区科经局")])
def test_merged_agency_maps_to_both_functions(jur, mention):
    assert {"science_tech", "industry_it"} <= set(Resolver(jur, reviewed={}).resolve(mention).functions)


@pytest.mark.parametrize("jur, mention", [("潜江市", "市发改委"), ("丹江口市", "市发改局"), ("赤壁市", "市发改局"),
                                          ("江夏区", "区发改局")])
def test_development_and_reform_across_cities(jur, mention):
    assert "development_reform" in Resolver(jur, reviewed={}).resolve(mention).functions


@pytest.mark.parametrize("mention", ["十堰市生态环境局丹江口分局", "区生态环境分局"])
def test_branch_office_maps_to_its_parent_function(mention):
    assert Resolver("丹江口市", reviewed={}).resolve(mention).functions == ("ecology_environment",)


def test_township_is_only_a_township():
    assert Resolver("潜江市", reviewed={}).resolve("园林街道").functions == ("township",)


def test_unknown_name_is_provisional_and_unresolved():
    res = Resolver("潜江市", reviewed={}).resolve("市蓝莓联络站")
    assert (res.resolved, res.source, res.unit_id) == (False, "provisional", "潜江市:市蓝莓联络站")


def test_document_alias_resolves_to_the_named_unit():
    r = Resolver("丹江口市", reviewed={}, document_aliases={"市林业局": "市自然资源规划局"})
    assert r.resolve("市林业局").unit_id == r.resolve("市自然资源和规划局").unit_id


def test_collective_resolves_as_collective():
    res = Resolver("潜江市", reviewed={}).resolve("各区镇街道", "collective")
    assert (res.kind, res.resolved, res.unit_id) == ("collective", True, "潜江市:各区镇街道")


@pytest.mark.parametrize("jur, mention, function", [
    ("青海省", "省住房城乡建设厅", "housing_construction"),  # 住房城乡建设: the common short form, no 和
    ("潜江市", "市住房城乡建设局", "housing_construction"),
    ("鄂托克旗", "团旗委", "youth_league"),  # banners (旗) and autonomous prefectures (州) have them too
    ("恩施土家族苗族自治州", "团州委", "youth_league"),
])
def test_regression_province_and_banner_names_left_provisional_in_the_benchmark(jur, mention, function):
    r = Resolver(jur, reviewed={}).resolve(mention)
    assert (r.resolved, r.functions) == (True, (function,))
