"""Chinese name comparison (DOMAIN.md case 12 and the name notes)."""

from __future__ import annotations

import pytest

from idgraph.domain.names import compare_names, parse_name


@pytest.mark.parametrize(("left", "right", "level"), [
    ("張偉", "张伟", "exact"),  # traditional = simplified
    ("张伟", "张 伟", "exact"),
    ("Zhang Wei", "wei zhang", "exact"),  # romanized, either order
    ("张伟", "张玮", "pinyin"),  # homophone typo
    ("张伟", "张炜", "pinyin"),
    ("王静", "王婧", "pinyin"),
    ("王芳", "王芬", "similar"),  # near sound: fang / fen
    ("张林", "张玲", "similar"),  # lin / ling
    ("周志明", "周子明", "similar"),  # zhi / zi: retroflex and flat
    ("张伟", "张敏", "disagree"),  # the shared surname does not make given names alike
    ("张伟", "张文", "disagree"),  # wei / wen
    ("李娜", "李静", "disagree"),
    ("王建国", "王建华", "disagree"),  # one syllable of two differs: another person
    ("客户0", "客户1", ""),  # a placeholder with digits is no name
    ("晴天", "张伟", ""),  # WeChat nicknames are no basis for comparison
    ("阳光", "阳明", ""),  # a word, though 阳 is a surname
    ("平安是福", "平安", ""),  # four characters after a one-character surname: a motto
    ("欧阳娜娜", "欧阳娜", "disagree"),  # a compound surname takes two given characters
    ("晨曦", "陈曦", ""),  # a listed word, though 晨 sounds like the surname 陈
    ("翠梅", "崔梅", "pinyin"),  # 翠 for 崔: a surname's homophone is a typo
    ("俊俊", "陈少俊", ""),
    ("阿英", "李英", ""),
    ("小王", "王伟", ""),
    ("Kevin", "Zhang Wei", ""),
    ("张伟😊", "张伟", ""),
    ("朋凤静", "彭凤静", "pinyin"),  # a surname homophone typo is still a name
    ("王芳", "李芬", "disagree"),  # near sound, but another surname
    ("王芳", "王方", "pinyin"),
    ("李娜", "李那", "pinyin"),
    ("张伟", "Zhang Wei", "pinyin"),
    ("张伟", "Wei Zhang", "pinyin"),
    ("曾伟", "Zeng Wei", "pinyin"),  # surname read as a surname, not céng
    ("单伟", "Shan Wei", "pinyin"),
    ("解明", "Xie Ming", "pinyin"),
    ("查明", "Zha Ming", "pinyin"),
    ("仇明", "Qiu Ming", "pinyin"),
    ("区明", "Ou Ming", "pinyin"),
    ("朴明", "Piao Ming", "pinyin"),
    ("翟明", "Zhai Ming", "pinyin"),
    ("Zhang Wei", "Zhang Wie", "similar"),  # romanized typo
    ("张先生", "张伟", "surname"),  # media lead: surname and gender only
    ("王女士", "王芳", "surname"),
    ("张先生", "王伟", "disagree"),
    ("张先生", "张女士", "disagree"),  # different gender
    ("张伟", "王芳", "disagree"),
    ("张伟", "张伟伟", "disagree"),
    ("", "张伟", ""),
])
def test_compare_names(left: str, right: str, level: str) -> None:
    assert compare_names(left, right) == level
    assert compare_names(right, left) == level


def test_honorific_lead_keeps_only_surname_and_gender() -> None:
    parsed = parse_name("欧阳女士")
    assert (parsed.full, parsed.surname, parsed.honorific_gender) == ("", "欧阳", "F")


def test_compound_surname() -> None:
    assert parse_name("司马光").surname == "司马"


@pytest.mark.parametrize(("name", "hint"), [
    ("张晓丽", "F"), ("于雪萍", "F"), ("王建国", "M"), ("周强", "M"), ("刘欣鑫", ""),
    ("张明", ""),  # 明: either gender
    ("李丽军", ""),  # one character each way: no hint
    ("张先生", ""),  # a surname lead says its gender by honorific, not by a given name
    ("Zhang Wei", ""), ("晴天", ""),
])
def test_a_given_name_hints_a_gender_only_when_it_leans_one_way(name: str, hint: str) -> None:
    from idgraph.domain.names import gender_hint

    assert gender_hint(name) == hint
