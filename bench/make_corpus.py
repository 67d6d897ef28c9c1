"""A deterministic benchmark corpus of synthetic task-division notices, with the truth for each.

    python bench/make_corpus.py --seed 7 --docs 1000 --out bench/corpus/s7-n1000

writes OUT/raw/*.txt (the notices) and OUT/truth/*.jsonl (per notice: a first line with the
document's metadata, then one line per item in document order, in the format of
tests/expected/*.json: parent_nos, item_no, kind, binding, starts, and per role the mentions after
splitting and expansion, as tests/expected/README.md defines them), plus OUT/manifest.json.

Notice i depends only on (seed, i), so the first 1,000 notices of a 10,000 corpus are the 1,000
corpus. Every notice recombines what the seeds in raw/ contain:

* jurisdictions at every level from the gazetteer the parser uses (transforms/gazetteer.py, the
  GB/T 2260 list shipped with cpca), units named with the jurisdiction's level (市/区/县/州/旗/省…);
* item text: sentences cut from the seeds' own text (prose without role words);
* the layouts of the seeds: parenthesised roles (牵头单位:…;责任单位:…) and unbracketed labels
  after the sentence (潜江 2021), 责任单位 only with or without a "位列第一者为牵头部门" rule
  (丹江口 2021), 责任领导/牵头单位/责任单位 (赤壁 2021), —— groups with 总牵头单位 and a declared
  count (江夏 2023), and labelled lines 牵头单位:… under a project heading (潜江 2021, 四);
* unit-list quirks: a suffix written once (区科经、商务局), a prefix written once for functional
  abbreviations (区总工会、妇联), two names glued (市发改委市自然资源和规划局), bracketed aliases
  (市自然资源规划局〈市林业局〉), 等 (市招商服务中心等市直相关单位), collectives, towns;
* the layouts of tests/fixtures/layouts/ (tests/test_layouts.py), in two more families:
  gwr_phrases mixes, item by item, roles as a phrase after the item ((X牵头,Y、Z按职责分工负责) or
  …配合), 主办:X 协办:Y, (牵头部门:X,配合部门:Y), a ★ before the lead in a 责任单位 list (the rest
  are co), and labelled lines below the item (责任领导/牵头单位/责任单位/配合单位, 责任单位 and
  配合单位 both co); gwr_table is a pipe-delimited table (| 序号 | 重点工作任务 | [责任领导 |]
  牵头单位 | 配合单位 | [完成时限 |]) with a heading row per section, empty co cells and lead cells
  left empty under the row above (the row inherits that lead);
* a share of gwr_phrases notices in traditional characters (OpenCC s2t), only where the parser's
  simplified view gives back the generated text exactly: mentions and leaders stay simplified in the
  truth (the parser stores them so), `starts` is the stored traditional text;
* encodings and line ends: some files GB18030, some CRLF, some with full-width punctuation.

Phrases and 主办/协办 values are plain 、-lists of departments: the parser reads no phrase whose list
writes a suffix once (县民政、司法局按职责分工负责 gives no roles).

The flattened-table layout of 潜江 2023 is not generated: its lead/co boundary is ambiguous by
design (the parser flags those rows), so it cannot be scored against an exact truth.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from transforms import gazetteer  # noqa: E402

GENERATOR_VERSION = "2"
SEED_DIR = ROOT / "raw"
DATA_DIR = ROOT / "transforms" / "data"
MIN_BYTES, MAX_BYTES = 20_000, 60_000

# ---------------------------------------------------------------------------------------------
# Vocabulary. Unit cores are the seeds' units without their level prefix (市发改委 -> 发改委).
# ---------------------------------------------------------------------------------------------

# Departments of a city / county / district government, as the seeds write them.
DEPT_CORES = [
    "发改委", "发改局", "经信局", "科经局", "科信局", "科技局", "科技经信局", "住建局", "自然资源和规划局",
    "自然资源规划局", "农业农村局", "人社局", "商务局", "财政局", "生态环境局", "生态环境分局", "交通运输局",
    "园林和林业局", "教育局", "城管执法局", "文旅局", "文化和旅游局", "水利和湖泊局", "水务和湖泊局", "卫健委",
    "卫健局", "市场监管局", "公安局", "民政局", "应急管理局", "应急局", "乡村振兴局", "政务和大数据局",
    "政务服务和大数据管理局", "国资委", "税务局", "司法局", "行政审批局", "统计局", "审计局", "信访局",
    "气象局", "医保局", "退役军人事务局", "林业局", "金融办", "供销社", "招商服务中心", "融媒体中心",
    "大数据中心", "档案馆", "城发集团", "交投集团", "供电公司", "政府办公室", "消防救援大队",
]
# A province's departments are 厅 and 委.
PROVINCE_CORES = [
    "发展改革委", "教育厅", "科技厅", "经济和信息化厅", "公安厅", "民政厅", "司法厅", "财政厅", "人力资源社会保障厅",
    "自然资源厅", "生态环境厅", "住房城乡建设厅", "交通运输厅", "水利厅", "农业农村厅", "商务厅", "文化和旅游厅",
    "卫生健康委", "应急管理厅", "审计厅", "市场监管局", "统计局", "医保局", "林业局", "地方金融监管局",
]
# Party organs: written prefix + 委 + core (市委组织部).
PARTY_CORES = ["组织部", "宣传部", "政法委", "网信办", "统战部", "编办", "农办"]
# Written after a prefix once, the rest take it implicitly (区总工会、妇联、残联 -> 区妇联, 区残联).
PREFIX_ONCE_GROUPS = [
    ["总工会", "妇联", "残联"], ["总工会", "妇联"], ["法院", "检察院"], ["科投集团", "国控集团"],
    ["融媒体中心", "企业和人才服务中心", "大数据中心"],
]
# Bracketed aliases after a unit: the alias is not part of the mention.
ALIASED = {"自然资源规划局": "〈{p}林业局〉", "财政局": "(金融办)", "城发集团": "({p}高新投公司)"}
TOWN_NAMES = [
    "郑店", "五里界", "金口", "乌龙泉", "纸坊", "山坡", "法泗", "湖泗", "舒安", "安山", "车埠", "赵李桥", "官塘驿",
    "神山", "新店", "茶庵岭", "柳山湖", "黄盖湖", "渔洋", "竹根滩", "龙湾", "高石碑", "王场", "泽口", "泰丰", "杨市",
    "广华寺", "蒲圻", "陆水湖", "赤马港", "中伙铺", "余家桥", "老河口", "石鼓", "凉水河", "浪河", "习家店", "蒿坪",
]
TOWN_SUFFIXES = ["镇", "街道", "街道办事处", "乡", "管理区"]
COLLECTIVES = ["各区镇街道", "各街道办事处", "各乡镇街道", "各相关街道办事处", "各乡镇人民政府", "各镇<办、处、区>",
               "{p}直有关单位", "{p}直各单位", "{p}政府各部门", "{p}直相关部门"]
GROUP_TOPICS = ["全域旅游工作", "优化营商环境", "信访工作", "扫黑除恶专项斗争", "安全生产", "项目建设协调推进",
                "乡村振兴", "城市更新工作", "大气污染防治攻坚战", "根治拖欠农民工工资工作"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏吕丁沈姚卢姜崔钟谭汪范石廖贾夏韦付方白邹孟熊秦邱尹薛闫段雷侯史陶黎贺顾毛郝龚邵万钱严覃戴莫孔向汤饶洪别"
GIVEN = "金虎自斌仕忠飞伟华明军平建志强海波庆红梅丽娟杰俊鹏涛磊超勇毅刚峰辉亮宇浩凯鑫洋晨阳新春秋德兴荣"

CONSTRAINED = [  # binding 约束性
    "单位地区生产总值能源消耗降低完成省下达任务", "单位地区生产总值二氧化碳排放降低完成省下达任务",
    "地表水达到或好于Ⅲ类水体比例完成省下达任务", "城市空气质量优良天数比率完成省下达任务",
    "森林覆盖率达到{p1}%", "粮食综合生产能力大于{n1}亿斤", "常住人口城镇化率达到{p2}%",
    "劳动年龄人口平均受教育年限达到{y}年", "主要污染物排放总量减少完成省下达指标",
]
EXPECTED = [  # binding 预期性
    "地区生产总值年均增长{g}%", "固定资产投资年均增长{g}%", "社会消费品零售总额年均增长{g}%",
    "全员劳动生产率达到{n2}万元/人", "服务业增加值年均增长{g}%", "制造业增加值占GDP比重达到{p3}%",
    "新登记市场主体数量年均增长{g}%", "高新技术产业增加值占GDP比重达到{p3}%", "研发经费占GDP比重达到{r}%",
    "每万人口发明专利拥有量达到{n3}件", "居民人均可支配收入增长与经济增长基本同步", "城镇调查失业率小于{u}%",
    "人均预期寿命达到{age}岁", "基本养老保险参保率达到{p4}%", "每千人口拥有执业助理医师数达到{d}人",
    "每千人口拥有3岁以下婴幼儿托位数达到{d}个", "科技进步贡献率达到{p2}%",
]
TARGETS = [
    "地区生产总值增长{g}%", "全社会固定资产投资增长{g}%", "规上工业增加值增速{g}%", "一般公共预算总收入增长{g}%",
    "社会消费品零售总额增长{g}%", "外贸进出口总额增长{g}%", "城乡居民人均可支配收入与经济增长基本同步",
    "城镇登记失业率控制在{u}%以内", "主要污染物排放持续减少", "粮食产量稳定在{n4}万吨以上",
]
TASK_HEADINGS = [
    "坚持创新第一动力,增强发展新动能。", "发展壮大实体经济,加快构建现代产业体系。", "融入新发展格局,提升对外开放水平。",
    "加快经济社会数字化转型。", "坚持生态优先,建设国家战略水源地。", "强化工业主体,构建现代绿色工业体系。",
    "推进乡村振兴,优先发展农业农村。", "促进消费升级,加速发展现代服务业。", "优化空间布局,推进区域协调发展。",
    "加强社会建设,增强人民群众获得感。", "扩大改革开放,创优高质量发展环境。", "统筹发展和安全,建设更高水平的平安城市。",
    "聚力打造六大产业集群", "维护社会和谐稳定", "坚持依法行政", "坚持务实重行", "坚持廉洁自律", "持续改善民生福祉",
    "深化重点领域改革", "推进城乡融合发展", "加强生态环境保护", "扩大有效投资",
]
GROUP_HEADINGS = [
    "推动主导产业强链集群", "做强园区平台支撑", "加快做大做强创新载体", "强化企业创新主体地位", "全面集聚高端创新人才",
    "聚力营造一流创新生态", "规划建设重点片区", "提升城市功能品质", "全面推进乡村振兴", "扎实推动共同富裕",
    "筑牢绿色安全屏障", "持续深化改革开放", "全力稳住经济大盘", "加快建设交通强区", "办好人民满意教育",
]
PROJECTS = [
    "创新型县(市)建设重大工程", "产业融合重点方向", "高效物流体系建设重点项目", "城市基础设施建设重点项目",
    "综合交通运输重点工程", "水利基础设施重点项目", "能源基础设施重点项目", "新型基础设施重点项目",
    "县城城镇化补短板强弱项重点项目", "乡村振兴重点工程", "全域旅游示范区建设重点项目", "水资源环境治理重大项目",
    "生态文明建设重点工程", "教育事业高质量发展重大工程", "医药卫生重点工程和重点项目", "民生保障重大项目",
]
CN_NUMS = "一二三四五六七八九十"


def cn_number(n: int) -> str:
    if n <= 10:
        return CN_NUMS[n - 1]
    if n < 20:
        return "十" + CN_NUMS[n - 11]
    tens, ones = divmod(n, 10)
    return CN_NUMS[tens - 1] + "十" + (CN_NUMS[ones - 1] if ones else "")


# ---------------------------------------------------------------------------------------------
# What is mined from the seeds and the project's data files.
# ---------------------------------------------------------------------------------------------

# The seeds' own places, replaced in recombined prose by the notice's (a notice about 洛阳市 does
# not talk about 江夏). Longest first.
SEED_PLACES = [("丹江口市", "{J}"), ("潜江市", "{J}"), ("赤壁市", "{J}"), ("江夏区", "{J}"), ("武汉市", "{P}"),
               ("十堰市", "{P}"), ("咸宁市", "{P}"), ("湖北省", "{V}"), ("丹江口", "{S}"), ("潜江", "{S}"),
               ("赤壁", "{S}"), ("江夏", "{S}"), ("武汉", "{P}"), ("十堰", "{P}"), ("咸宁", "{P}"), ("湖北", "{V}")]


@dataclass(frozen=True)
class Mined:
    sentences: tuple[str, ...]  # prose from the seeds, each ending in 。, places as {J} {S} {P} {V}
    preambles: tuple[str, ...]  # the seeds' "一、加强组织领导…" paragraphs, without their number


def _read_seed(p: Path) -> str:
    data = p.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return ""


@lru_cache(maxsize=4)
def mined(seed_dir: Path = SEED_DIR) -> Mined:
    roles = yaml.safe_load((DATA_DIR / "roles.yaml").read_text(encoding="utf-8"))
    outline = yaml.safe_load((DATA_DIR / "outline.yaml").read_text(encoding="utf-8"))
    role_words = set(roles["labels"]) | {"牵头", "责任", "协办", "配合", "主办", "承办"}
    heading_words = [w for ws in outline["item_kinds"].values() for w in ws] + list(outline["binding"])
    bad = re.compile("|".join(map(re.escape, sorted(role_words | set(heading_words), key=len, reverse=True)))
                     + r"|共\s*\d+\s*项|[::|@\n]|附件|附表|\.\.\.|……|http|www")
    first_listed = re.compile("|".join(roles["first_listed_leads"]))
    labelled = re.compile("(?:" + "|".join(map(re.escape, roles["labels"])) + ")[ ]*[::]")
    number_start = re.compile(r"^\s*(?:[((]?\s*[一二三四五六七八九十\d]+\s*[))、..．]|——|\d)")
    sentences: set[str] = set()
    preambles: set[str] = set()
    for p in sorted(seed_dir.glob("*.txt")):
        text = _read_seed(p).replace("\r\n", "\n").replace("{", "(").replace("}", ")")
        for name, token in SEED_PLACES:
            text = text.replace(name, token)
        for line in text.split("\n"):
            line = line.strip()
            m = re.match(r"^[一二三四五六七八九十]、(.{8,30}?。)(.{40,400})$", line)
            if m and not first_listed.search(line) and not labelled.search(line):
                preambles.add(m.group(1) + m.group(2))
            cut = re.search(r"[((]?\s*(?:总?牵头|责任|协办|配合|主办)", line)
            body = line[:cut.start()] if cut else line
            body = re.sub(r"^\s*(?:\d{1,3}|[((][一二三四五六七八九十]+[))]|[一二三四五六七八九十]+、)\s*[..、]?", "", body)
            for s in re.findall(r"[^。!?]{8,90}。", body):
                s = s.strip()
                if (bad.search(s) or number_start.match(s) or not _balanced(s) or not re.match("[\u4e00-\u9fff“《{]", s)
                        or sum("\u4e00" <= c <= "\u9fff" for c in s) < 0.6 * len(s)):
                    continue
                sentences.add(s)
    if len(sentences) < 50:
        raise SystemExit(f"make_corpus: only {len(sentences)} usable sentences in {seed_dir}; need the seed notices")
    return Mined(tuple(sorted(sentences)), tuple(sorted(preambles)))


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        if ch in "((“《〈<[【":
            depth += 1
        elif ch in "))”》〉>]】":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


@lru_cache(maxsize=1)
def jurisdictions() -> tuple[gazetteer.Place, ...]:
    """Every real county-level-and-above government in the gazetteer (placeholders dropped)."""
    junk = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
    return tuple(p for code, p in sorted(gazetteer.places().items())
                 if p.name not in junk and not p.name.endswith(("划", "域", "岛")) and len(p.name) >= 2
                 and code[:2] not in ("71", "81", "82"))  # the mainland


def level_prefix_of(place: gazetteer.Place) -> str:
    """How the place's own units are prefixed: 市发改委, 区商务局, 县教育局, 州财政局, 自治区…"""
    n = place.name
    if n == "神农架林区" or (place.level == "prefecture" and n.endswith("地区")):
        return n[-2:]  # 林区发改局, 地区发展改革委
    if n.endswith("自治区"):
        return "自治区"
    return n[-1] if n[-1] in "省市区县州旗盟" else n[-1]


# ---------------------------------------------------------------------------------------------
# Unit lists: the written string and the mentions a careful reader extracts from it.
# ---------------------------------------------------------------------------------------------

@dataclass
class Units:
    """The unit vocabulary of one notice (a notice reuses its own units)."""
    prefix: str  # 市 / 区 / 县 / 自治区 …
    depts: list[str]  # cores, written after the prefix
    named: list[str]  # full names written without a prefix (丹江口经济开发区管委会)
    towns: list[tuple[str, str]]  # (name, suffix): 郑店 + 街道办事处
    collectives: list[str]
    party: list[str]


@dataclass
class Style:
    """Per-notice writing habits."""
    fullwidth: bool
    suffix_once: float  # chance that a run of …局 / …厅 is written with the suffix once
    glue: float  # chance that two names are written with nothing between them
    alias: float
    co_label: str  # 责任单位 / 协办单位 / 配合单位, next to a lead
    responsible_label: str  # 责任单位 / 责任部门, alone (丹江口 2021)
    lead_label: str  # 牵头单位 / 牵头部门
    blank_lines: bool
    ar_punct: str  # '.' or '、'

    def p(self, s: str) -> str:
        if not self.fullwidth:
            return s
        return s.translate(str.maketrans({"(": "(", ")": ")", ":": ":", ";": ";", ",": ","}))


def make_units(rng: random.Random, place: gazetteer.Place) -> Units:
    prefix = level_prefix_of(place)
    cores = PROVINCE_CORES if place.level == "province" else DEPT_CORES
    depts = rng.sample(cores, k=min(len(cores), rng.randint(18, 32)))
    short = place.short
    named = [f"{short}经济开发区管委会", f"{short}高新区管委会", f"国家统计局{short}调查队", f"人民银行{short}支行"]
    if place.level in ("county", "district") and place.parent.endswith(("市", "州", "盟", "地区")):
        named.append(f"{place.parent}生态环境局{short}分局")
    towns = [(t, rng.choice(TOWN_SUFFIXES)) for t in rng.sample(TOWN_NAMES, k=8)]
    collectives = [c.format(p=prefix) for c in COLLECTIVES]
    collectives += [f"{prefix}{t}领导小组成员单位" for t in rng.sample(GROUP_TOPICS, k=3)]
    party = [f"{prefix}委{c}" for c in PARTY_CORES]
    if len(prefix) == 1:
        party.append(f"团{prefix}委")
    return Units(prefix, depts, named, towns, collectives, party)


def _suffix_once(cores: list[str]) -> bool:
    """区发改、科经、商务局: a run of departments with the same one-character ending (not 分局)."""
    return (len(cores) >= 2 and cores[-1][-1] in "局厅" and all(
        c[-1] == cores[-1][-1] and len(c) >= 3 and not c.endswith("分局") for c in cores))


def _dept_group(rng: random.Random, units: Units, style: Style, cores: list[str]) -> tuple[str, list[str]]:
    """A 、-list of departments, maybe with the suffix once, glue or bracketed aliases."""
    p = units.prefix
    mentions = [p + c for c in cores]
    if _suffix_once(cores) and rng.random() < style.suffix_once:
        return p + "、".join(c[:-1] for c in cores[:-1]) + "、" + cores[-1], mentions
    parts = []
    for c in cores:
        alias = ALIASED.get(c)
        parts.append(p + c + (alias.format(p=p) if alias and rng.random() < style.alias else ""))
    written = parts[0]
    for prev, part in zip(parts, parts[1:]):
        glued = prev[-1] not in "〉)" and rng.random() < style.glue  # 市发改委市自然资源和规划局
        written += ("" if glued else "、") + part
    return written, mentions


def _town_group(rng: random.Random, units: Units, k: int) -> tuple[str, list[str]]:
    towns = rng.sample(units.towns, k=k)
    names = [t + sfx for t, sfx in towns]
    if k > 1 and len({sfx for _, sfx in towns}) == 1 and rng.random() < 0.5:  # 郑店、五里界街道办事处
        return "、".join(t for t, _ in towns[:-1]) + "、" + names[-1], names
    return "、".join(names), names


def _other_group(rng: random.Random, units: Units) -> tuple[str, list[str]]:
    """One ','-separated group that is not the department list: a zone, towns, a party organ…"""
    r = rng.random()
    if r < 0.25:
        name = rng.choice(units.named)
        return name, [name]
    if r < 0.40:
        return _town_group(rng, units, rng.randint(1, 3))
    if r < 0.50:
        grp = rng.choice(PREFIX_ONCE_GROUPS)  # 区总工会、妇联 -> 区总工会, 区妇联
        return units.prefix + "、".join(grp), [units.prefix + g for g in grp]
    if r < 0.60:
        name = rng.choice(units.party)
        return name, [name]
    name = rng.choice(units.collectives)
    return name, [name]


def unit_list(rng: random.Random, units: Units, style: Style, n_depts: int, extras: int,
              exclude: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """Departments first (a 、-list), then other kinds of unit, groups separated by ','.
    Returns the written list and its mentions; nothing in `exclude` is mentioned."""
    groups: list[tuple[str, list[str]]] = []
    if n_depts:
        pool = [c for c in units.depts if units.prefix + c not in exclude]
        groups.append(_dept_group(rng, units, style, rng.sample(pool, k=min(n_depts, len(pool)))))
        if extras == 0 and rng.random() < 0.04:  # 等 before a collective: 市招商服务中心等市直相关单位
            coll = f"{units.prefix}直相关单位"
            w, ms = groups[-1]
            groups[-1] = (f"{w}等{coll}", ms + [coll])
    for _ in range(extras):
        groups.append(_other_group(rng, units))
    seen: set[str] = set(exclude)
    written, mentions = [], []
    for w, ms in groups:
        if any(m in seen for m in ms):
            continue
        seen.update(ms)
        written.append(w)
        mentions.extend(ms)
    return style.p(",").join(written), mentions


def leader_names(rng: random.Random, k: int) -> list[str]:
    return [rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))) for _ in range(k)]


# ---------------------------------------------------------------------------------------------
# Notices
# ---------------------------------------------------------------------------------------------

@dataclass
class Item:
    parent_nos: list[str]
    item_no: str
    kind: str
    binding: str | None
    text: str
    roles: dict[str, list[str]] = field(default_factory=dict)
    leaders: list[str] = field(default_factory=list)
    starts: str | None = None  # the first 10 characters as stored, when they differ from text's (traditional)

    def truth(self) -> dict:
        return {"parent_nos": self.parent_nos, "item_no": self.item_no, "kind": self.kind, "binding": self.binding,
                "starts": self.starts if self.starts is not None else self.text[:10],
                **{r: self.roles.get(r, []) for r in ("lead", "co", "responsible", "overall_lead")},
                "leaders": self.leaders}


@dataclass
class Notice:
    family: str
    place: gazetteer.Place
    doc_kind: str
    period: tuple[int, int]
    role_rule: str
    lines: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    size: int = 0

    def add(self, *lines: str) -> None:
        for ln in lines:
            self.lines.append(ln)
            self.size += len(ln.encode("utf-8")) + 1


class Writer:
    """Writes one notice of a given family; `target` is its size in bytes."""

    def __init__(self, rng: random.Random, place: gazetteer.Place, family: str, target: int, seed_dir: Path):
        self.rng, self.place, self.family, self.target = rng, place, family, target
        self.m = mined(seed_dir)
        self.units = make_units(rng, place)
        self.style = Style(
            fullwidth=rng.random() < 0.3, suffix_once=rng.choice([0.0, 0.3, 0.6]),
            glue=rng.choice([0.0, 0.0, 0.03, 0.08]), alias=rng.choice([0.0, 0.2]),
            co_label=rng.choices(["责任单位", "协办单位", "配合单位"], weights=[8, 1, 1])[0],
            responsible_label=rng.choices(["责任单位", "责任部门"], weights=[9, 1])[0],
            lead_label=rng.choices(["牵头单位", "牵头部门"], weights=[9, 1])[0],
            blank_lines=rng.random() < 0.5, ar_punct=rng.choices([".", "、"], weights=[4, 1])[0],
        )
        self.notice: Notice

    # -- pieces --------------------------------------------------------------------------------
    def localise(self, text: str) -> str:
        """The seeds' places in recombined prose become this notice's own."""
        p = self.place
        parent = p.parent if p.parent not in ("", "市辖区", "县") else p.province
        for token, name in (("{J}", p.name), ("{S}", p.short), ("{P}", parent), ("{V}", p.province)):
            text = text.replace(token, name)
        return text

    def sentences(self, k: int | None = None) -> str:
        return self.localise("".join(self.rng.sample(self.m.sentences, k=k or self.rng.randint(1, 4))))

    def fill(self, template: str) -> str:
        r = self.rng
        vals = {"g": f"{r.choice([5, 6, 6.5, 7, 7.5, 8, 9, 10, 10.7, 11, 12])}", "p1": f"{r.uniform(8, 70):.2f}",
                "p2": f"{r.randint(45, 75)}", "p3": f"{r.randint(10, 45)}", "p4": f"{r.randint(95, 99)}",
                "n1": f"{r.randint(5, 30)}", "n2": f"{r.randint(12, 30)}", "n3": f"{r.randint(2, 20)}",
                "n4": f"{r.randint(10, 80)}", "y": f"{r.uniform(9.5, 14.5):.1f}", "r": f"{r.uniform(1.2, 3.0):.1f}",
                "u": f"{r.uniform(3.5, 6.0):.1f}", "age": f"{r.uniform(75, 82):.1f}", "d": f"{r.uniform(2.5, 4.5):.1f}"}
        return template.format(**vals)

    def lead_and_co(self, co_extras: int | None = None, other_lead: float = 0.08):
        """(lead written, lead mentions, co written, co mentions). Sometimes a town or zone leads."""
        r, u, s = self.rng, self.units, self.style
        if r.random() < other_lead:
            lead_w, lead_m = (_town_group(r, u, 1) if r.random() < 0.5 else (lambda n: (n, [n]))(r.choice(u.named)))
        else:
            lead_w, lead_m = unit_list(r, u, s, r.choices([1, 2, 3], weights=[7, 2, 1])[0], 0)
        co_n = r.choices([0, 1, 2, 3, 4, 6], weights=[2, 3, 3, 2, 2, 1])[0]
        extras = co_extras if co_extras is not None else r.choices([0, 1, 2], weights=[4, 3, 1])[0]
        co_w, co_m = unit_list(r, u, s, co_n, extras, exclude=frozenset(lead_m)) if co_n or extras else ("", [])
        return lead_w, lead_m, co_w, co_m

    def sep(self) -> None:
        if self.style.blank_lines:
            self.notice.add("")

    def item_line(self, no: str, text: str) -> str:
        return f"{no}{self.style.ar_punct}{text}"

    def roles_in_brackets(self, labelled: list[tuple[str, str]]) -> str:
        """(责任领导:…;牵头单位:…;责任单位:…), labels with empty values left out."""
        return self.style.p("(" + ";".join(f"{label}:{w}" for label, w in labelled if w) + ")")

    def assign_responsible(self, item: Item, mentions: list[str]) -> None:
        if self.notice.role_rule == "first_listed_leads":
            item.roles = {"lead": mentions[:1], "co": mentions[1:]}
        else:
            item.roles = {"responsible": mentions}

    # -- headers -------------------------------------------------------------------------------
    def issuer(self) -> str:
        p = self.place
        office = "人民政府办公厅" if p.level == "province" else "人民政府办公室"
        parent = p.parent if p.level in ("county", "district") else ""
        if parent in ("市辖区", "县"):  # districts and counties of 北京/上海/天津/重庆
            parent = p.province
        return f"{parent}{p.name}{office}"

    def header(self, title: str, published: str) -> None:
        n, r = self.notice, self.rng
        issuer = self.issuer()
        index_no = f"{r.randint(10**8, 10**9 - 1):09d}/{published[:4]}-{r.randint(10000, 99999)}"
        kind = r.randrange(3)
        if kind == 0:  # 潜江
            n.add(title, "", f"索 引 号: {index_no} 主题分类: 其他 发布机构: {issuer} 发文日期: {published} 10:00:00 "
                             f"文  号:无 效力状态: 有效 发布日期: {published} 10:00:00 名  称: {title}", "")
        elif kind == 1:  # 丹江口
            n.add("政府信息公开", "", title, "", "索引号", index_no, "主题分类", "其他", "发文日期", published,
                  "发布机构", issuer, "")
        else:  # 赤壁 with 潜江 2023's web noise
            n.add("今天是:", "", "繁體   |  登录  |   注册", "", title, f"索引号 : {index_no} 文       号 : 无",
                  f"主题分类: 政务督查 发布机构: {issuer}", f"名       称: {title} 发布日期: {published}", "有效性: 有效")

    # -- sections shared by the families -------------------------------------------------------
    def plan_intro(self, responsible: bool) -> None:
        r = self.rng
        plan_no = r.choice([13, 14])
        start = 1966 + 5 * (plan_no - 3)
        plan = f"{self.place.name}国民经济和社会发展第{cn_number(plan_no)}个五年规划和二〇三五年远景目标纲要"
        rule = responsible and r.random() < 0.7
        self.notice = Notice(self.family, self.place, "fyp", (start, start + 4),
                             "first_listed_leads" if rule else "as_labelled")
        self.header(f"关于印发{plan}任务分工方案的通知", f"{start + 1}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}")
        p = self.units.prefix
        self.notice.add(
            "", f"各{p}直有关单位:", "", f"《{plan}任务分工方案》已经{p}人民政府同意,现印发给你们,请结合实际,认真组织实施。",
            "", f"                                {start + 1}年{r.randint(1, 12)}月{r.randint(1, 28)}日", "",
            f"{plan}任务分工方案", "", f"《{plan}》经{p}人民代表大会批准,并已全文发布。为确保《纲要》有效实施,制定本方案。",
            "", "一、总体要求", "", self.sentences(6), "")

    def indicators(self, responsible_only: bool) -> None:
        n, r, s = self.notice, self.rng, self.style
        n.add("二、主要指标分工")
        self.sep()
        for k, (binding, pool) in enumerate((("约束性", CONSTRAINED), ("预期性", EXPECTED)), 1):
            n.add(f"({cn_number(k)}){binding}指标。")
            self.sep()
            for j, tmpl in enumerate(r.sample(pool, k=r.randint(4, min(len(pool), 12))), 1):
                text = self.fill(tmpl) + "。"
                item = Item(["二", cn_number(k)], str(j), "indicator", binding, text)
                if responsible_only:
                    w, ms = unit_list(r, self.units, s, r.choice([1, 1, 2]), 0)
                    n.add(self.item_line(str(j), text + self.roles_in_brackets([(s.responsible_label, w)])))
                    self.assign_responsible(item, ms)
                else:  # 潜江 2021: labels without a colon, straight after the sentence
                    lead_w, lead_m, co_w, co_m = self.lead_and_co(co_extras=0, other_lead=0)
                    co = s.p(";") + s.co_label + co_w if co_m else ""
                    n.add(self.item_line(str(j), f"{text}{s.lead_label}{lead_w}{co}"))
                    item.roles = {"lead": lead_m, "co": co_m}
                n.items.append(item)
                self.sep()

    def task_item(self, parents: list[str], no: str, responsible_only: bool, leaders: bool,
                  overall: list[str] | None = None) -> Item:
        r, s = self.rng, self.style
        text = self.sentences()
        item = Item(parents, no, "task", None, text)
        if responsible_only:
            w, ms = unit_list(r, self.units, s, r.choice([1, 2, 2, 3, 4]), r.choice([0, 0, 1]))
            self.notice.add(self.item_line(no, text + self.roles_in_brackets([(s.responsible_label, w)])))
            self.assign_responsible(item, ms)
        else:
            lead_w, lead_m, co_w, co_m = self.lead_and_co()
            if leaders:
                item.leaders = leader_names(r, r.choices([1, 2, 3], weights=[6, 3, 1])[0])
            role = self.roles_in_brackets([("责任领导", "、".join(item.leaders)), (s.lead_label, lead_w),
                                           (s.co_label, co_w)])
            if r.random() < 0.03 and role[-2] not in "))":  # the closing bracket lost at the end of the
                role = role[:-1]  # line (潜江 2021); not after an alias's bracket, where no reader could tell
            self.notice.add(self.item_line(no, text + role))
            item.roles = {"lead": lead_m, "co": co_m}
        if overall:
            item.roles["overall_lead"] = overall
        return item

    def task_sections(self, top_no: str, responsible_only: bool, restart: bool, leaders: bool,
                      budget: int, first_no: int = 1) -> int:
        """(一)…(N) headings with numbered items until the notice reaches `budget` bytes.
        Returns the last item number written."""
        n, r = self.notice, self.rng
        no = first_no - 1
        for k, heading in enumerate(r.sample(TASK_HEADINGS, k=len(TASK_HEADINGS)), 1):
            if n.size >= budget:
                break
            n.add(f"({cn_number(k)}){heading}")
            self.sep()
            if restart:
                no = 0
            for j in range(r.randint(3, 9)):
                if j and n.size >= budget:
                    break
                no += 1
                n.items.append(self.task_item([top_no, cn_number(k)], str(no), responsible_only, leaders))
                self.sep()
        return no

    def projects(self, top_no: str) -> None:
        """潜江 2021 四: each project heading is the item, its labels on the line(s) below."""
        n, r, s = self.notice, self.rng, self.style
        n.add(f"{top_no}、重大工程项目分工")
        self.sep()
        for k, title in enumerate(r.sample(PROJECTS, k=r.randint(4, 10)), 1):
            heading = f"{title}(专栏{k + 2})"
            n.add(f"({cn_number(k)}){heading}")
            self.sep()
            lead_w, lead_m, co_w, co_m = self.lead_and_co(co_extras=0, other_lead=0)
            if co_m and r.random() < 0.5:  # each label on a line of its own
                n.add(s.p(f"{s.lead_label}:{lead_w}"), s.p(f"{s.co_label}:{co_w}"))
            else:
                n.add(s.p(f"{s.lead_label}:{lead_w}" + (f";{s.co_label}:{co_w}" if co_m else "")) + "。")
            n.items.append(Item([top_no], cn_number(k), "project", None, heading, {"lead": lead_m, "co": co_m}))
            self.sep()

    def requirements(self, top_no: str, rule: bool) -> None:
        n = self.notice
        n.add(f"{top_no}、工作要求")
        self.sep()
        n.add("(一)制定计划,细化任务。" + self.sentences(2))
        self.sep()
        rule_text = ("责任单位中位列第一者为牵头部门,要切实负起责任,加强统筹协调;其他责任部门要按照各自职能分工,积极参与。"
                     if rule else "")
        n.add("(二)加强协调,密切配合。" + self.sentences(1) + rule_text)
        self.sep()
        n.add("(三)跟踪落实,确保实效。" + self.sentences(2))

    def report_intro(self, title: str | None) -> tuple[int, str]:
        """A work-report notice: its year and the date it was signed; writes the header."""
        r = self.rng
        year = r.randint(2016, 2025)
        self.notice = Notice(self.family, self.place, "gwr", (year, year), "as_labelled")
        published = f"{year}-{r.randint(1, 4):02d}-{r.randint(1, 28):02d}"
        if title:
            self.header(title.format(year=year), published)
        return year, published

    def preamble(self) -> None:
        for k, para in enumerate(self.rng.sample(self.m.preambles, k=min(3, len(self.m.preambles))), 1):
            self.notice.add(f"{cn_number(k)}、{self.localise(para)}")

    # -- families ------------------------------------------------------------------------------
    def write(self) -> Notice:
        return getattr(self, "write_" + self.family)()

    def write_plan(self, responsible_only: bool) -> Notice:
        """A five-year-plan division. 潜江 2021: indicators with bare labels, tasks with
        (牵头单位:…;责任单位:…), projects with label lines. 丹江口 2021: (责任单位:…) only; most such
        notices say the first listed unit leads."""
        self.plan_intro(responsible=responsible_only)
        self.indicators(responsible_only=responsible_only)
        self.notice.add("三、主要任务分工")
        self.sep()
        self.task_sections("三", responsible_only, restart=True, leaders=False,
                           budget=self.target - (900 if responsible_only else 2500))
        if not responsible_only:
            self.projects("四")
        self.requirements("四" if responsible_only else "五", rule=self.notice.role_rule == "first_listed_leads")
        return self.notice

    def write_fyp_labelled(self) -> Notice:
        return self.write_plan(responsible_only=False)

    def write_fyp_responsible(self) -> Notice:
        return self.write_plan(responsible_only=True)

    def write_gwr_leaders(self) -> Notice:
        """赤壁 2021: a preamble, an attachment with targets (一)…, then numbered tasks with 责任领导."""
        r, s = self.rng, self.style
        year, _ = self.report_intro("关于《政府工作报告》确定的{year}年重点工作责任分解的通知")
        n, p = self.notice, self.units.prefix
        n.add(f"各乡镇人民政府、街道,{p}政府各部门:", f"经{p}政府同意,现将《政府工作报告》确定的工作任务进行责任分解,请认真贯彻执行。")
        self.preamble()
        n.add(f"附件:《政府工作报告》确定的{year}年重点工作责任分解", self.issuer(), f"{year}年{r.randint(1, 3)}月{r.randint(1, 28)}日",
              "附件", f"《政府工作报告》确定的{year}年重点工作责任分解", f"一、{year}年经济社会发展主要预期目标")
        for k, tmpl in enumerate(r.sample(TARGETS, k=r.randint(5, len(TARGETS))), 1):
            text = self.fill(tmpl) + "。"
            leaders = leader_names(r, r.choices([1, 2], weights=[3, 1])[0])
            lead_w, lead_m = unit_list(r, self.units, s, r.choice([1, 1, 2]), 0)
            n.add(s.p(f"({cn_number(k)})") + text + self.roles_in_brackets([("责任领导", "、".join(leaders)),
                                                                            (s.lead_label, lead_w)]))
            n.items.append(Item(["一"], cn_number(k), "target", None, text, {"lead": lead_m}, leaders))
        no = 0
        for top in range(2, 12):
            if n.size >= self.target - 300:
                break
            n.add(f"{cn_number(top)}、{r.choice(TASK_HEADINGS).rstrip('。')}")
            budget = min(self.target - 300, n.size + r.randint(3000, 9000))
            no = self.task_sections(cn_number(top), False, restart=False, leaders=True, budget=budget, first_no=no + 1)
        return n

    def write_gwr_groups(self) -> Notice:
        """江夏 2023: —— groups with 总牵头单位, items numbered across groups, a declared count."""
        r, s = self.rng, self.style
        year, published = self.report_intro(None)
        n, p = self.notice, self.units.prefix
        n.add(f"{p}人民政府办公室关于印发{year}年{p}《政府工作报告》确定的主要目标任务责任分解方案的通知",
              f"发布日期:{published} 16:05 文章来源:{self.issuer()}" + self.sentences(2))
        self.preamble()
        n.add(self.issuer(), f"{year}年{p}《政府工作报告》主要目标任务", "责任分解方案",
              f"一、{year}年经济社会发展主要目标(以上级下达目标为参照)")
        count_at = len(n.lines)
        n.add("二、重点工作(共{count}项)")
        no = 0
        for k, heading in enumerate(r.sample(TASK_HEADINGS, k=len(TASK_HEADINGS)), 1):
            if n.size >= self.target - 1500:
                break
            n.add(f"({cn_number(k)}){heading}")
            for g in range(r.randint(1, 3)):
                if g and n.size >= self.target - 1500:
                    break
                overall_w, overall_m = unit_list(r, self.units, s, r.choice([1, 1, 2]), 0)
                n.add("——" + r.choice(GROUP_HEADINGS) + s.p(f"(总牵头单位:{overall_w})"))
                for _ in range(r.randint(2, 7)):
                    no += 1
                    n.items.append(self.task_item(["二", cn_number(k)], str(no), False, False, overall=overall_m))
        n.lines[count_at] = n.lines[count_at].format(count=no)
        n.add("三、全力建设人民满意政府")
        for k, heading in enumerate(["筑牢政治信仰", "坚持依法行政", "做到务实高效", "打造清廉政府"], 1):
            n.add(f"({cn_number(k)}){heading}")
            no += 1
            n.items.append(self.task_item(["三", cn_number(k)], str(no), False, False))
        return n

    # -- layouts from other provinces (tests/fixtures/layouts/) ----------------------------------
    def dept_list(self, k: int, exclude: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
        """k departments as a plain 、-list: what a phrase or a 主办/协办 value holds, where a ','
        would end the clause. No suffix written once: the parser does not read a phrase whose unit
        list is written so (市发改、商务局按职责分工负责 gives no roles at all)."""
        u = self.units
        pool = [c for c in u.depts if u.prefix + c not in exclude]
        plain = Style(**{**self.style.__dict__, "suffix_once": 0.0, "glue": 0.0, "alias": 0.0})
        return _dept_group(self.rng, u, plain, self.rng.sample(pool, k=min(k, len(pool))))

    def phrase_item(self, parents: list[str], no: str) -> Item:
        """One item of a 政府工作报告 division written the ways tests/test_layouts.py reads:
        (X牵头,Y、Z按职责分工负责); 主办:X 协办:Y; (牵头部门:X,配合部门:Y); ★ before the lead in a
        责任单位 list; labelled lines (牵头单位:/责任单位:/配合单位:) below the item."""
        r, s, n = self.rng, self.style, self.notice
        text = self.sentences(r.randint(1, 3))
        item = Item(parents, no, "task", None, text)
        layout = r.choices(["phrase", "zhuban", "dept_labels", "star", "lines"], weights=[3, 1, 1, 2, 2])[0]
        co_k = r.choices([0, 1, 2, 3], weights=[1, 3, 2, 1])[0]
        if layout == "phrase":
            lead_w, lead_m = self.dept_list(1)
            co_w, co_m = self.dept_list(co_k, frozenset(lead_m)) if co_k else ("", [])
            verb = r.choice(["按职责分工负责", "配合"])
            n.add(self.item_line(no, text + s.p("(" + lead_w + "牵头" + (f",{co_w}{verb}" if co_m else "") + ")")))
        elif layout == "zhuban":
            lead_w, lead_m = self.dept_list(1)
            co_w, co_m = self.dept_list(max(co_k, 1), frozenset(lead_m))
            n.add(self.item_line(no, text + s.p(f"主办:{lead_w} 协办:{co_w}")))
        elif layout == "dept_labels":
            lead_w, lead_m = self.dept_list(1)
            co_w, co_m = self.dept_list(co_k, frozenset(lead_m)) if co_k else ("", [])
            n.add(self.item_line(no, text + s.p(f"(牵头部门:{lead_w}" + (f",配合部门:{co_w}" if co_m else "") + ")")))
        elif layout == "star":  # ★ before one unit of a 责任单位 list: it leads, the rest are co
            cores = r.sample(self.units.depts, k=max(co_k, 1) + 1)
            at = r.randrange(len(cores))
            p = self.units.prefix
            written = "、".join(("★" if j == at else "") + p + c for j, c in enumerate(cores))
            lead_m, co_m = [p + cores[at]], [p + c for j, c in enumerate(cores) if j != at]
            n.add(self.item_line(no, text + self.roles_in_brackets([(s.responsible_label, written)])))
        else:  # labelled lines under the item, 配合单位 after 责任单位
            n.add(self.item_line(no, text))
            if r.random() < 0.3:
                item.leaders = leader_names(r, 1)
                n.add(s.p(f"{r.choice(['责任领导', '牵头领导'])}:{item.leaders[0]}"))
            lead_w, lead_m = unit_list(r, self.units, s, r.choices([1, 2], weights=[4, 1])[0], 0)
            n.add(s.p(f"{s.lead_label}:{lead_w}"))
            co_m = []
            for label in ("责任单位", "配合单位"):
                if r.random() < 0.6:
                    w, ms = unit_list(r, self.units, s, r.randint(1, 3), r.choice([0, 0, 1]),
                                      exclude=frozenset(lead_m + co_m))
                    if ms:
                        n.add(s.p(f"{label}:{w}"))
                        co_m += ms
        item.roles = {"lead": lead_m, "co": co_m}
        return item

    def write_gwr_phrases(self) -> Notice:
        """A 政府工作报告 division whose items carry their roles as phrases, 主办/协办, 牵头部门/配合部门,
        a ★ lead marker or labelled lines below them, mixed within the notice (items numbered 1. under
        一、 headings, restarting per heading or not)."""
        r = self.rng
        year, _ = self.report_intro("关于印发{year}年《政府工作报告》重点工作任务分工方案的通知")
        n, p = self.notice, self.units.prefix
        n.add(f"各乡镇人民政府、街道,{p}政府各部门:", f"现将《{year}年〈政府工作报告〉重点工作任务分工方案》印发给你们,请认真贯彻落实。")
        restart, no, top = r.random() < 0.5, 0, 0
        for top, heading in enumerate(r.sample(TASK_HEADINGS, k=len(TASK_HEADINGS)), 1):
            if n.size >= self.target - 600:
                break
            n.add(f"{cn_number(top)}、{heading.rstrip('。')}")
            self.sep()
            no = 0 if restart else no
            for j in range(r.randint(4, 14)):
                if j and n.size >= self.target - 600:
                    break
                no += 1
                n.items.append(self.phrase_item([cn_number(top)], str(no)))
                self.sep()
        n.add(f"{cn_number(top + 1)}、工作要求", self.sentences(2))
        return n

    def write_gwr_table(self) -> Notice:
        """An attachment that is a pipe-delimited table (tests/fixtures/layouts/pipe_table.txt):
        | 序号 | 重点工作任务 | [责任领导 |] 牵头单位 | 配合单位 | [完成时限 |], a heading row per section
        (| 一、… | | |), items numbered across sections, some co cells empty, some lead cells left
        empty under the row above (a merged cell: the row inherits its lead)."""
        r, s = self.rng, self.style
        year, _ = self.report_intro("关于印发{year}年《政府工作报告》重点工作任务分解表的通知")
        n, p = self.notice, self.units.prefix
        n.add(f"各乡镇人民政府、街道,{p}政府各部门:", f"现将《{year}年〈政府工作报告〉重点工作任务分解表》印发给你们,请认真贯彻落实。",
              "附件", f"{year}年《政府工作报告》重点工作任务分解表")
        with_leader, with_deadline = r.random() < 0.5, r.random() < 0.6
        cols = ["序号", "重点工作任务"] + (["责任领导"] if with_leader else []) + ["牵头单位", "配合单位"] + \
            (["完成时限"] if with_deadline else [])
        row = lambda cells: "| " + " | ".join(cells) + " |"  # noqa: E731
        n.add(row(cols))
        no = 0
        for top, heading in enumerate(r.sample(TASK_HEADINGS, k=len(TASK_HEADINGS)), 1):
            if n.size >= self.target - 300:
                break
            n.add("| " + f"{cn_number(top)}、{heading.rstrip('。')}" + " |" + " |" * (len(cols) - 1))
            prev_lead: list[str] = []
            for j in range(r.randint(3, 12)):
                if j and n.size >= self.target - 300:
                    break
                no += 1
                text = self.sentences(r.randint(1, 2))
                item = Item([cn_number(top)], str(no), "task", None, text)
                if prev_lead and r.random() < 0.1:  # merged with the lead cell above
                    lead_w, lead_m = "", prev_lead
                else:
                    lead_w, lead_m = unit_list(r, self.units, s, r.choices([1, 2], weights=[5, 1])[0], 0)
                co_n = r.choices([0, 1, 2, 3], weights=[1, 3, 2, 1])[0]
                co_w, co_m = (unit_list(r, self.units, s, co_n, r.choice([0, 0, 1]), exclude=frozenset(lead_m))
                              if co_n else ("", []))
                cells = [str(no), text]
                if with_leader:
                    item.leaders = leader_names(r, r.choices([1, 2], weights=[4, 1])[0])
                    cells.append("、".join(item.leaders))
                cells += [lead_w, co_w]
                if with_deadline:
                    cells.append(r.choice(["年内持续推进", "6月底前", "12月底前", f"{year}年12月31日", "长期坚持"]))
                n.add(row(cells))
                item.roles = {"lead": lead_m, "co": co_m}
                n.items.append(item)
                prev_lead = lead_m
        return n


FAMILIES = ["fyp_labelled", "fyp_responsible", "gwr_leaders", "gwr_groups", "gwr_phrases", "gwr_table"]
FAMILY_WEIGHTS = [1, 1, 2, 2, 1, 1]  # a plan every five years, a work report every year
TRADITIONAL_SHARE = 0.3  # of gwr_phrases notices, written in traditional characters


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    try:
        return opencc.OpenCC("s2t")
    except Exception:  # opencc-python-reimplemented names configs with .json
        return opencc.OpenCC("s2t.json")


def to_traditional(notice: Notice, text: str) -> str | None:
    """The notice in traditional characters, or None when the parser's simplified view of it
    (transforms.text.simplified_view) would not give back exactly `text`: then offsets, mentions and
    leaders in the truth would not be exact. Items' `starts` become the stored (traditional) characters;
    mentions stay simplified, as the parser stores them."""
    from transforms.text import simplified_view

    trad = _s2t().convert(text)
    if len(trad) != len(text) or simplified_view(trad) != text:
        return None
    at = 0
    for it in notice.items:
        at = text.index(it.text, at)
        it.starts = trad[at:at + len(it.text)][:10]
        at += 1
    return trad


def make_notice(seed: int, i: int, seed_dir: Path = SEED_DIR) -> tuple[str, str, bytes, dict, list[dict]]:
    """(file stem, family, bytes, document truth, item truths) for notice i of corpus `seed`."""
    rng = random.Random(f"fengong-bench:{seed}:{i}")
    place = rng.choice(jurisdictions())
    family = rng.choices(FAMILIES, weights=FAMILY_WEIGHTS)[0]
    target = rng.randint(MIN_BYTES + 1500, MAX_BYTES - 2500)
    notice = Writer(rng, place, family, target, seed_dir).write()
    text = "\n".join(notice.lines) + "\n"
    script = "simplified"
    if family == "gwr_phrases" and rng.random() < TRADITIONAL_SHARE:
        trad = to_traditional(notice, text)
        if trad is not None:
            text, script = trad, "traditional"
    if rng.random() < 0.1:
        text = text.replace("\n", "\r\n")
    encoding = "gb18030" if rng.random() < 0.05 else "utf-8"
    data = text.encode(encoding)
    doc = {"jurisdiction": place.name, "jurisdiction_code": place.code, "province": place.province,
           "admin_level": place.level, "doc_kind": notice.doc_kind, "period_start": notice.period[0],
           "period_end": notice.period[1], "role_rule": notice.role_rule, "family": family, "encoding": encoding,
           "script": script}
    stem = f"{i:06d}_{place.code}_{notice.doc_kind}{notice.period[0]}"
    return stem, family, data, doc, [it.truth() for it in notice.items]


def make_corpus(seed: int, docs: int, out: Path, seed_dir: Path = SEED_DIR, quiet: bool = False) -> dict:
    """Write the corpus; returns the manifest (also written to OUT/manifest.json)."""
    raw, truth = out / "raw", out / "truth"
    raw.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    total = items = 0
    families: dict[str, int] = {}
    for i in range(docs):
        stem, family, data, doc, item_truths = make_notice(seed, i, seed_dir)
        (raw / f"{stem}.txt").write_bytes(data)
        lines = [json.dumps({"doc": {**doc, "source_file": f"{stem}.txt", "bytes": len(data)}}, ensure_ascii=False)]
        lines += [json.dumps(t, ensure_ascii=False) for t in item_truths]
        (truth / f"{stem}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        total += len(data)
        items += len(item_truths)
        families[family] = families.get(family, 0) + 1
        if not quiet and (i + 1) % 1000 == 0:
            print(f"make_corpus: {i + 1}/{docs} notices ({total / 1e6:.0f} MB, {time.perf_counter() - t0:.0f}s)", flush=True)
    manifest = {"generator_version": GENERATOR_VERSION, "seed": seed, "docs": docs, "bytes": total, "items": items,
                "families": families, "seconds": round(time.perf_counter() - t0, 1)}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seeds-dir", type=Path, default=SEED_DIR, help="the seed notices whose text is recombined")
    args = ap.parse_args(argv)
    m = make_corpus(args.seed, args.docs, args.out, args.seeds_dir)
    print(f"make_corpus: {m['docs']} notices, {m['items']} items, {m['bytes'] / 1e6:.1f} MB in {args.out} "
          f"({m['seconds']}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
