"""The grounds for listing (SPC provisions on the list of dishonest judgment debtors, 2017, Art. 1).

The export's 失信被执行人行为具体情形 column names the conduct in the provisions' own words, often
several at once ("违反财产报告制度,违反限制消费令"). The ground decides the listing term (Art. 2):
ground (1) has no fixed term (the debtor stays until a deletion ground of Art. 10 applies); grounds
(2)-(6) give two years, extendable by one to three.
"""

from __future__ import annotations

import enum
import unicodedata


class Ground(enum.IntEnum):
    """Art. 1's six grounds, numbered as the article numbers them."""

    ABLE_BUT_REFUSES = 1  # 有履行能力而拒不履行生效法律文书确定义务
    OBSTRUCTS = 2  # 以伪造证据、暴力、威胁等方法妨碍、抗拒执行
    EVADES = 3  # 以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行
    BREACHES_PROPERTY_REPORTING = 4  # 违反财产报告制度
    BREACHES_CONSUMPTION_BAN = 5  # 违反限制消费令
    BREAKS_SETTLEMENT = 6  # 无正当理由拒不履行执行和解协议


# Key phrases of each ground, as the provisions and court systems write them.
_PHRASES: dict[Ground, tuple[str, ...]] = {
    Ground.ABLE_BUT_REFUSES: ("有履行能力而拒不履行", "有能力履行而拒不履行", "拒不履行生效法律文书"),
    Ground.OBSTRUCTS: ("伪造证据", "暴力", "威胁", "妨碍", "抗拒执行"),
    Ground.EVADES: ("虚假诉讼", "虚假仲裁", "隐匿", "转移财产", "规避执行"),
    Ground.BREACHES_PROPERTY_REPORTING: ("财产报告",),
    Ground.BREACHES_CONSUMPTION_BAN: ("限制消费", "限制高消费", "限高"),
    Ground.BREAKS_SETTLEMENT: ("和解协议",),
}


def grounds_of(conduct: str) -> frozenset[Ground]:
    """The grounds a conduct text names; empty when it names none that is recognised."""
    text = "".join(unicodedata.normalize("NFKC", conduct).split())
    return frozenset(ground for ground, phrases in _PHRASES.items() if any(p in text for p in phrases))
