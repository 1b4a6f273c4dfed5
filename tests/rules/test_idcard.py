"""Resident ID numbers: check digit, birth date, lawful masks, the minors rule and report redaction.

Every full number here is built by :func:`make_id` from a region code, a birth date and a sequence, with
the check digit computed by python-stdnum; none is hard-coded, so none can be a real person's number.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from signage.core.rules import RuleViolation
from signage.core.rules.idcard import (
    MaskPolicy,
    could_be_minor,
    is_lawful_mask,
    normalise_id_text,
    parse_resident_id,
    redact_for_report,
    visible_birth_year,
)

TODAY = dt.date(2025, 6, 15)
SPC = MaskPolicy.SPC
HIDE = MaskPolicy.HIDE_BIRTH_YEAR
# 370102 is 历下区, Jinan; python-stdnum records it as existing from 1983 only.
LIXIA = "370102"
# No region has this code, so numbers built with it belong to no one.
NOWHERE = "999999"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def make_id(region: str, birth: str, sequence: str = "123") -> str:
    """A fictional 18-character ID with a correct GB 11643 check digit; ``birth`` is YYYYMMDD."""
    body = region + birth + sequence
    # calc_check_digit() reads the first 17 characters of an 18-character number.
    return body + ric.calc_check_digit(body + "0")


def wrong_check(number: str) -> str:
    """The same number with a check digit that is certainly wrong."""
    return number[:17] + next(char for char in "0123456789X" if char != number[17])


def with_x_check(region: str, birth: str) -> str:
    """A fictional ID whose check digit is X (for the lower-case x normalisation)."""
    for sequence in range(1000):
        number = make_id(region, birth, f"{sequence:03d}")
        if number.endswith("X"):
            return number
    raise AssertionError("no sequence gives check digit X")  # pragma: no cover


def parse(raw: str, policy: MaskPolicy = SPC, today: dt.date = TODAY):
    return parse_resident_id(raw, policy=policy, today=today)


def refusal_code(raw: str, policy: MaskPolicy = SPC, today: dt.date = TODAY) -> str:
    with pytest.raises(RuleViolation) as caught:
        parse(raw, policy, today)
    return caught.value.finding.code


# --- full 18-character numbers -------------------------------------------------------------------------


def test_region_younger_than_holder_is_accepted_without_warning() -> None:
    """The stdnum trap: 370102 dates from 1983, yet people born there in 1980 hold 370102 numbers."""
    number = make_id(LIXIA, "19800101")
    # Guard: the fixture must really be one that ric.validate() refuses, or this test proves nothing.
    assert not ric.is_valid(number)
    parsed = parse(number)
    assert parsed.masked == number[:10] + "****" + number[14:]
    assert parsed.youngest_birth == dt.date(1980, 1, 1)
    assert parsed.warnings == ()


def test_unknown_region_is_accepted_with_a_warning() -> None:
    parsed = parse(make_id(NOWHERE, "19800101"))
    assert [finding.code for finding in parsed.warnings] == ["id.region_unknown"]
    assert "999999" in parsed.warnings[0].en and "999999" in parsed.warnings[0].zh


@pytest.mark.parametrize(
    ("region", "birth", "expected_birth"),
    [
        (LIXIA, "19900615", dt.date(1990, 6, 15)),
        (LIXIA, "20000229", dt.date(2000, 2, 29)),
        (NOWHERE, "19000101", dt.date(1900, 1, 1)),
        (NOWHERE, "20250615", TODAY),  # born today: a possible date (the minors rule refuses it elsewhere)
        ("110101", "19751231", dt.date(1975, 12, 31)),
    ],
)
def test_valid_full_number(region: str, birth: str, expected_birth: dt.date) -> None:
    number = make_id(region, birth)
    parsed = parse(number)
    assert parsed.youngest_birth == expected_birth
    assert parsed.masked == number[:10] + "****" + number[14:]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (SPC, "3701021980****{tail}"),
        (HIDE, "370102********{tail}"),
    ],
)
def test_mask_18(policy: MaskPolicy, expected: str) -> None:
    number = make_id(LIXIA, "19800101", "123")
    masked = parse(number, policy).masked
    assert masked == expected.format(tail=number[14:])
    assert len(masked) == 18
    assert is_lawful_mask(masked)


def test_spc_mask_has_the_published_shape() -> None:
    # 3423011964****3224: first 10, four stars, last 4.
    masked = parse(make_id(NOWHERE, "19640101", "322")).masked
    assert masked[:10] == "9999991964"
    assert masked[10:14] == "****"
    assert masked[14:17] == "322"


def test_bad_check_digit_is_refused() -> None:
    assert refusal_code(wrong_check(make_id(LIXIA, "19800101"))) == "id.check_digit"


@pytest.mark.parametrize(
    "birth",
    [
        "19801301",  # month 13
        "19800001",  # month 0
        "19800230",  # 30 February
        "19810229",  # 29 February in a common year
        "19800132",  # day 32
        "19800100",  # day 0
        "20250616",  # the day after TODAY
        "20990101",  # far future
        "18991231",  # before 1900
    ],
)
def test_impossible_birth_date_is_refused(birth: str) -> None:
    assert refusal_code(make_id(LIXIA, birth)) == "id.birth_date"


def test_bad_check_digit_is_reported_before_birth_date() -> None:
    assert refusal_code(wrong_check(make_id(LIXIA, "19801301"))) == "id.check_digit"


# --- legacy 15-digit numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (SPC, "37010280****123"),
        (HIDE, "370102******123"),
    ],
)
def test_mask_15(policy: MaskPolicy, expected: str) -> None:
    parsed = parse("370102800101123", policy)
    assert parsed.masked == expected
    assert parsed.youngest_birth == dt.date(1980, 1, 1)
    assert parsed.warnings == ()
    assert is_lawful_mask(parsed.masked)


@pytest.mark.parametrize(
    "number", ["370102801301123", "370102800230123", "370102810229123", "370102800100123"]
)
def test_legacy_impossible_birth_date_is_refused(number: str) -> None:
    assert refusal_code(number) == "id.birth_date"


def test_legacy_unknown_region_warns() -> None:
    assert [f.code for f in parse("999999800101123").warnings] == ["id.region_unknown"]


# --- already-masked input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "policy", "masked", "youngest"),
    [
        ("3701021980****1237", SPC, "3701021980****1237", dt.date(1980, 12, 31)),
        ("3701021980****123X", SPC, "3701021980****123X", dt.date(1980, 12, 31)),
        ("3701021980****123x", SPC, "3701021980****123X", dt.date(1980, 12, 31)),
        ("3701021980****1237", HIDE, "370102********1237", dt.date(1980, 12, 31)),
        ("37010280****123", SPC, "37010280****123", dt.date(1980, 12, 31)),
        ("37010280****123", HIDE, "370102******123", dt.date(1980, 12, 31)),
        ("３７０１０２１９８０＊＊＊＊１２３７", SPC, "3701021980****1237", dt.date(1980, 12, 31)),
    ],
)
def test_masked_input_in_spc_shape(raw: str, policy: MaskPolicy, masked: str, youngest: dt.date) -> None:
    parsed = parse(raw, policy)
    assert parsed.masked == masked
    assert parsed.youngest_birth == youngest


@pytest.mark.parametrize("raw", ["3701021899****1237", "3701022026****1237", "3701029999****1237"])
def test_masked_input_with_impossible_year(raw: str) -> None:
    assert refusal_code(raw) == "id.birth_year"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("370102198001**1237", "id.mask_shape"),  # only 2 stars: reveals the month
        ("37010219800101**37", "id.mask_shape"),  # stars in the wrong place
        ("3701021980***11237", "id.mask_shape"),  # 3 stars
        ("3701021980*****237", "id.mask_shape"),  # 5 stars, wrong length of tail
        ("370102********1237", "id.mask_shape"),  # stricter shape: not an accepted input shape
        ("****021980****1237", "id.mask_shape"),
        ("3701021980****12*7", "id.mask_shape"),
        ("3701021980****", "id.mask_shape"),
        ("370102800****123", "id.mask_shape"),  # 15 digits, stars one place late
        ("3701028****01123", "id.mask_shape"),
        ("370102******123", "id.mask_shape"),  # stricter 15-digit shape: not accepted as input
        ("3701021980xxxx1237", "id.format"),
        ("37010219800101123", "id.format"),  # 17 characters
        ("3701021980010112345", "id.format"),  # 19 characters
        ("37010219800101123Y", "id.format"),
        ("X70102198001011237", "id.format"),
        ("3701021980010", "id.format"),
        ("", "id.format"),
        ("张三", "id.format"),
        # Arabic-Indic digits are digits to Python's \d but not ID numbers.
        ("٣٧٠١٠٢١٩٨٠٠١٠١١٢٣٧", "id.format"),
        ("٣٧٠١٠٢١٩٨٠****١٢٣٧", "id.mask_shape"),
    ],
)
def test_unknown_or_revealing_shapes_are_refused(raw: str, code: str) -> None:
    assert refusal_code(raw) == code


def test_refusal_message_is_bilingual_and_says_how_to_fix() -> None:
    with pytest.raises(RuleViolation) as caught:
        parse("370102198001**1237")
    finding = caught.value.finding
    assert all((finding.zh, finding.en, finding.fix_zh, finding.fix_en))
    assert "****" in finding.fix_zh and "****" in finding.fix_en


# --- normalisation -------------------------------------------------------------------------------------


def test_full_width_digits_and_lower_case_x_are_normalised() -> None:
    number = with_x_check(LIXIA, "19800101")
    raw = number[:17].translate(FULL_WIDTH) + "x"
    parsed = parse(raw)
    assert parsed.masked == number[:10] + "****" + number[14:]
    assert parsed.masked.endswith("X")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("３７０１０２", "370102"),
        (" 3701 0219 8001 0112 3x ", "37010219800101123X"),
        ("370102\u300019800101", "37010219800101"),  # ideographic space
        ("370102\u00a019800101", "37010219800101"),  # no-break space
    ],
)
def test_normalise_id_text(raw: str, expected: str) -> None:
    assert normalise_id_text(raw) == expected


def test_spaced_number_is_accepted() -> None:
    number = make_id(LIXIA, "19800101")
    assert parse(f"{number[:6]} {number[6:14]} {number[14:]}").masked == number[:10] + "****" + number[14:]


# --- is_lawful_mask and visible_birth_year -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lawful"),
    [
        ("3701021980****1237", True),
        ("3701021980****123X", True),
        ("370102********1237", True),
        ("37010280****123", True),
        ("370102******123", True),
        ("370102198001011237", False),  # a full number
        ("370102800101123", False),
        ("370102198001**1237", False),
        ("3701021980*****237", False),
        ("3701021980***11237", False),
        ("37010219800****237", False),
        ("370102*******01237", False),
        ("3701021980****123x", False),  # normalisation is the importer's job, not the screen's
        ("3701021980****1237 ", False),
        ("３７０１０２１９８０****１２３７", False),
        ("٣٧٠١٠٢١٩٨٠****١٢٣٧", False),
        ("37010280***1123", False),
        ("******************", False),
        ("", False),
    ],
)
def test_is_lawful_mask(text: str, lawful: bool) -> None:
    assert is_lawful_mask(text) is lawful


@pytest.mark.parametrize(
    ("masked", "year"),
    [
        ("3701021980****1237", 1980),
        ("3701022007****1237", 2007),
        ("370102********1237", None),
        ("37010280****123", 1980),
        ("370102******123", None),
        ("not a number", None),
        ("370102²980****1237", None),  # isdigit() but not a number int() reads
        ("370102١٩٨٠****1237", None),
    ],
)
def test_visible_birth_year(masked: str, year: int | None) -> None:
    assert visible_birth_year(masked) == year


# --- minors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("youngest_birth", "on", "minor"),
    [
        (dt.date(2007, 6, 15), dt.date(2025, 6, 14), True),  # the day before the 18th birthday
        (dt.date(2007, 6, 15), dt.date(2025, 6, 15), False),  # the 18th birthday
        (dt.date(2007, 6, 15), dt.date(2030, 1, 1), False),
        (dt.date(2008, 2, 29), dt.date(2026, 2, 28), True),  # no 29 February in 2026: adult on 1 March
        (dt.date(2008, 2, 29), dt.date(2026, 3, 1), False),
        (dt.date(2000, 2, 29), dt.date(2018, 2, 28), True),
        (dt.date(2000, 2, 29), dt.date(2018, 3, 1), False),
        (dt.date(1996, 2, 29), dt.date(2014, 3, 1), False),
        (dt.date(2007, 12, 31), dt.date(2025, 12, 30), True),  # masked input: 31 December of the year
        (dt.date(2007, 12, 31), dt.date(2025, 12, 31), False),
        (dt.date(2025, 6, 15), dt.date(2025, 6, 15), True),
    ],
)
def test_could_be_minor(youngest_birth: dt.date, on: dt.date, minor: bool) -> None:
    assert could_be_minor(youngest_birth, on) is minor


@pytest.mark.parametrize(
    ("raw", "listed_on", "today", "refused"),
    [
        # Adult on both dates.
        (make_id(LIXIA, "19800101"), dt.date(2024, 1, 1), TODAY, False),
        # 18 on 2024-07-01: a minor on the listing date, an adult today: still refused.
        (make_id(NOWHERE, "20060701"), dt.date(2024, 1, 1), TODAY, True),
        # A minor today.
        (make_id(NOWHERE, "20080101"), dt.date(2025, 1, 1), TODAY, True),
        # 18 exactly on the listing date.
        (make_id(NOWHERE, "20060101"), dt.date(2024, 1, 1), TODAY, False),
        # Masked: born some day in 2006, so possibly on 31 December 2006; under 18 until then.
        ("9999992006****1237", dt.date(2024, 12, 31), dt.date(2025, 1, 1), False),
        ("9999992006****1237", dt.date(2024, 12, 30), dt.date(2025, 1, 1), True),
        ("9999992007****1237", dt.date(2025, 6, 1), TODAY, True),
        # Legacy 15-digit numbers are all 19xx.
        ("99999900****123", dt.date(2018, 1, 1), TODAY, False),
        ("99999907****123", dt.date(2025, 6, 1), TODAY, False),
    ],
)
def test_minors_rule_on_listing_date_and_today(
    raw: str, listed_on: dt.date, today: dt.date, refused: bool
) -> None:
    """The importer refuses a person who could be under 18 on the listing date or on the import day."""
    youngest = parse(raw, today=today).youngest_birth
    assert (could_be_minor(youngest, listed_on) or could_be_minor(youngest, today)) is refused


# --- redaction for reports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("370102198001011237", "370102**********37"),
        ("３７０１０２１９８００１０１１２３ｘ", "370102**********3X"),
        ("370102800101123", "370102*******23"),
        ("370102198001**1237", "370102**********37"),
        ("12345678", "********"),
        ("123", "***"),
        ("", ""),
        ("123456789", "123456***"),  # not 15 or 18 long: no tail, it could be hidden digits
        ("37010219800101123", "370102***********"),
    ],
)
def test_redact_for_report(raw: str, expected: str) -> None:
    assert redact_for_report(raw) == expected


# --- properties ----------------------------------------------------------------------------------------

# Characters whose NFKC form is one character, so positions in the raw text and the normalised text agree.
_ONE_TO_ONE = "0123456789Xx*０１２３４５６７８９ｘ＊-#A中é٣"
_REGIONS = st.sampled_from([LIXIA, NOWHERE, "110101", "440305", "650102", "000000"])
_BIRTHS = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
_SEQUENCES = st.integers(min_value=0, max_value=999).map(lambda n: f"{n:03d}")
_VALID_IDS = st.builds(lambda r, b, s: make_id(r, b.strftime("%Y%m%d"), s), _REGIONS, _BIRTHS, _SEQUENCES)
_POLICIES = st.sampled_from(list(MaskPolicy))


@st.composite
def _mutated_ids(draw: st.DrawFn) -> str:
    """A valid ID, or its SPC mask, with up to three characters replaced (still 18 characters)."""
    number = draw(_VALID_IDS)
    if draw(st.booleans()):
        number = number[:10] + "****" + number[14:]
    chars = list(number)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        chars[draw(st.integers(min_value=0, max_value=17))] = draw(st.sampled_from(_ONE_TO_ONE))
    return "".join(chars)


_EIGHTEEN = st.one_of(
    _VALID_IDS,
    _VALID_IDS.map(lambda n: n[:10] + "****" + n[14:]),
    _VALID_IDS.map(lambda n: n[:17].translate(FULL_WIDTH) + n[17].lower()),
    _mutated_ids(),
    st.text(alphabet=_ONE_TO_ONE, min_size=18, max_size=18),
)


@settings(max_examples=400, deadline=None)
@given(raw=_EIGHTEEN, policy=_POLICIES)
def test_property_masker_never_reveals_positions_11_to_14(raw: str, policy: MaskPolicy) -> None:
    normalised = normalise_id_text(raw)
    assert len(normalised) == 18
    try:
        parsed = parse(raw, policy)
    except RuleViolation:
        return
    masked = parsed.masked
    assert len(masked) == 18
    assert masked[10:14] == "****"
    for position in range(10, 14):
        assert normalised[position] == "*" or masked[position] != normalised[position]
    assert is_lawful_mask(masked)
    assert masked.isascii()
    if policy is MaskPolicy.HIDE_BIRTH_YEAR:
        assert masked[6:14] == "********"


@settings(max_examples=200, deadline=None)
@given(raw=st.text(min_size=0, max_size=24), policy=_POLICIES)
def test_property_anything_accepted_is_a_lawful_mask(raw: str, policy: MaskPolicy) -> None:
    """Arbitrary text, whitespace and all: what comes out is a lawful mask or nothing."""
    try:
        parsed = parse(raw, policy)
    except RuleViolation:
        return
    assert is_lawful_mask(parsed.masked)


@settings(max_examples=200, deadline=None)
@given(number=_VALID_IDS, policy=_POLICIES)
def test_property_valid_ids_are_accepted_and_masked(number: str, policy: MaskPolicy) -> None:
    parsed = parse(number, policy)
    assert parsed.masked[:6] == number[:6]
    assert parsed.masked[14:] == number[14:]
    assert parsed.masked[10:14] == "****"
    assert parsed.youngest_birth == dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert number not in repr(parsed)


@settings(max_examples=300, deadline=None)
@given(raw=_EIGHTEEN)
def test_property_redaction_never_reveals_positions_11_to_14(raw: str) -> None:
    normalised = normalise_id_text(raw)
    redacted = redact_for_report(raw)
    assert len(redacted) == 18
    assert redacted[6:16] == "*" * 10
    for position in range(10, 14):
        assert normalised[position] == "*" or redacted[position] != normalised[position]


@settings(max_examples=100, deadline=None)
@given(number=_VALID_IDS, cuts=st.lists(st.integers(min_value=1, max_value=17), max_size=4))
def test_property_redaction_of_spaced_ids(number: str, cuts: list[int]) -> None:
    """An 18-character number written with spaces is redacted like the number itself."""
    spaced = number
    for cut in sorted(set(cuts), reverse=True):
        spaced = spaced[:cut] + " " + spaced[cut:]
    assert redact_for_report(spaced) == number[:6] + "*" * 10 + number[16:]
