"""Case numbers (案号) of enforcement cases: the 2016 form of 法〔2015〕137号 and the older court-own form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signage.core.rules import RuleViolation
from signage.core.rules.caseno import ENFORCEMENT_TYPES, PROVINCES, normalise_case_number, parse_case_number

YEAR = 2025


def refusal_code(raw: str) -> str:
    with pytest.raises(RuleViolation) as caught:
        parse_case_number(raw, current_year=YEAR)
    return caught.value.finding.code


@pytest.mark.parametrize(
    "raw",
    [
        "（2016）浙0106执1234号",
        "(2016)浙0106执1234号",
        "（2016)浙0106执1234号",
        "（2020）湘执复244号",  # high court: the abbreviation alone
        "（2019）京执12号",
        "（2024）鲁01执5号",  # intermediate court: 2 digits
        "（2024）京73执1号",  # special court (Beijing IP court), 71-74
        "（2020）沪74执12号",
        "（2019）粤71执3号",
        "（2018）苏72执恢4号",
        "（2023）内0102执100号",  # 内 = Inner Mongolia
        "（2023）黔0102执1号",  # 黔 = Guizhou
        "（2023）兵0101执1号",  # XPCC courts
        "（2023）军0101执1号",  # military courts
        "（2022）最高法执监1号",
        "（2022）最高法执复12号",
        "（2021）浙0106执恢1号",
        "（2021）浙0106执保1号",
        "（2021）浙0106执异1号",
        "（2021）浙0106执复1号",
        "（2021）浙0106执监1号",
        "（2021）浙0106执协1号",
        "（2021）浙0106执他1号",
        "（2021）浙0106执1234567号",  # 7 digits
        "（2025）浙0106执1号",  # the current year
        # Before 2016 each court wrote its own abbreviation.
        "（2014）广法执字第00232号",
        "（2013）深中法执恢字第12号",
        "(2012)沪一中执字第5号",
        "（2015）浙杭执异字第1号",
        "（1999）京执字第1号",
    ],
)
def test_accepted_case_numbers_come_out_canonical(raw: str) -> None:
    canonical = raw.replace("(", "（").replace(")", "）")
    assert parse_case_number(raw, current_year=YEAR) == canonical


@pytest.mark.parametrize(
    "spelling",
    [
        "（2025）鲁0102执1234号",
        "(2025)鲁0102执1234号",
        "(2025) 鲁0102执1234号",  # a space after the bracket, as one export writes it
        "（2025） 鲁0102执1234号",
        "（２０２５）鲁０１０２执１２３４号",  # full-width digits
        "（2025）鲁0102执1234",  # 号 dropped
        "〔2025〕鲁0102执1234号",
        "【2025】鲁0102执1234号",
        "[2025]鲁0102执1234号",
        " （2025）鲁 0102 执 1234 号 \n",
    ],
)
def test_every_spelling_of_one_case_number_is_the_same_case(spelling: str) -> None:
    assert normalise_case_number(spelling) == "（2025）鲁0102执1234号"
    assert parse_case_number(spelling, current_year=YEAR) == "（2025）鲁0102执1234号"


def test_a_different_digit_is_a_different_case() -> None:
    assert normalise_case_number("（2025）鲁0102执1235号") != normalise_case_number("(2025)鲁0102执1234号")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("（2016）浙0106民初1234号", "case.format"),  # a civil case, not enforcement
        ("（2016）浙0106刑初1号", "case.format"),
        ("（2016）港0106执1号", "case.format"),  # 港 is no court-code province
        ("（2016）X0106执1号", "case.format"),
        ("（2016）浙1执1号", "case.format"),  # 1 digit
        ("（2016）浙010执1号", "case.format"),  # 3 digits
        ("（2016）浙01067执1号", "case.format"),  # 5 digits
        ("（2016）浙0106执字1号", "case.format"),
        ("（2016）浙0106执号", "case.format"),  # no serial number
        ("（2016）浙0106执12345678号", "case.format"),  # 8 digits
        ("（2016）浙0106执清1号", "case.format"),  # not one of the enforcement types accepted
        ("（16）浙0106执1号", "case.format"),
        ("2016浙0106执1号", "case.format"),
        ("（2016）浙0106执1号 附", "case.format"),
        ("（2016）浙0106执\u202e1号", "case.format"),
        ("（2014）广法民初字第00232号", "case.format"),  # pre-2016 civil case
        ("（2014）执字第1号", "case.format"),  # pre-2016 form without a court abbreviation
        ("（2014）广法执字00232号", "case.format"),  # missing 第
        ("", "case.format"),
        ("（2026）浙0106执1号", "case.year"),  # after the current year
        ("（2099）浙0106执1号", "case.year"),
        ("（1948）浙0106执1号", "case.year"),
        ("（0000）广法执字第1号", "case.year"),
    ],
)
def test_refused_case_numbers(raw: str, code: str) -> None:
    assert refusal_code(raw) == code


def test_refusal_quotes_the_value_and_gives_an_example() -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_case_number("（2016）浙0106民初1号", current_year=YEAR)
    finding = caught.value.finding
    assert "（2016）浙0106民初1号" in finding.zh
    assert "（2016）浙0106执1234号" in finding.fix_zh


def test_every_type_is_listed() -> None:
    assert set(ENFORCEMENT_TYPES) == {"执", "执恢", "执保", "执异", "执复", "执监", "执协", "执他"}
    assert {"京", "沪", "内", "黔", "兵", "军"} <= set(PROVINCES)


@settings(max_examples=200, deadline=None)
@given(
    year=st.integers(min_value=2016, max_value=YEAR),
    open_=st.sampled_from("（("),
    close=st.sampled_from("）)"),
    province=st.sampled_from(PROVINCES),
    court=st.one_of(
        st.just(""),
        st.integers(0, 99).map(lambda n: f"{n:02d}"),
        st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    ),
    kind=st.sampled_from(ENFORCEMENT_TYPES),
    serial=st.integers(min_value=1, max_value=9_999_999),
)
def test_property_every_current_form_is_accepted_in_canonical_spelling(
    year: int, open_: str, close: str, province: str, court: str, kind: str, serial: int
) -> None:
    raw = f"{open_}{year}{close}{province}{court}{kind}{serial}号"
    assert parse_case_number(raw, current_year=YEAR) == f"（{year}）{province}{court}{kind}{serial}号"
