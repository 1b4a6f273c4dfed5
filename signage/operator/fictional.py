"""Fictional sample data: debtor rows and stylised portraits for demos, benchmarks and large-file tests.

Everything here is invented and deterministic (a seeded :class:`random.Random`):

* Courts are in made-up places (青川市, 云岭彝族苗族自治州, ...); organisations are named after those places,
  so no name can be a real company's.
* Resident ID numbers are either SPC-masked (``3701021980****123X``), which cannot identify anyone, or
  full numbers in region ``999999``, which exists nowhere. USCCs carry the registration region ``99xxxx``,
  which does not exist either (province codes run from 11 to 82).
* Portraits are flat drawings of shapes, clearly not photographs of anyone.

The rows are keyed by Chinese headers that :mod:`signage.operator.importer.columns` accepts, and every row built by
:func:`fictional_rows` is accepted by the importer (full IDs only give the warning ``id.region_unknown``).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from PIL import Image, ImageDraw
from stdnum.cn import ric, uscc

from signage.core.rules.orgcode import org_code_check_character

#: The column order of written files; extra keys (such as 住址) follow in the order first seen.
COLUMNS: tuple[str, ...] = (
    "编号",
    "类型",
    "被执行人姓名/名称",
    "证件号码",
    "法定代表人",
    "性别",
    "年龄",
    "执行标的",
    "履行情况",
    "执行法院",
    "执行法院电话",
    "案号",
    "发布日期",
    "期限截止日期",
    "照片",
    "二维码链接",
)
#: The official query page of the national enforcement information site.
QR_URL = "https://zxgk.court.gov.cn/shixin/"
#: A region code that exists nowhere: full ID numbers built with it cannot be anyone's.
FICTIONAL_REGION = "999999"
#: Real county-level region codes, used only in masked numbers (the hidden digits make them nobody's).
MASK_REGIONS: tuple[str, ...] = ("370102", "450102", "360102", "110105", "440106", "530102", "420106")
#: The national litigation-service hotline of the people's courts; no made-up court has its own number.
COURT_PHONE = "12368"
LISTED_FROM = dt.date(2026, 1, 1)
LISTED_UNTIL = dt.date(2026, 11, 20)
TERM_YEARS = 5
PERSON_SHARE = 0.85
FULL_ID_SHARE = 0.02

#: Made-up courts: (name, province abbreviation used in case numbers, court code).
COURTS: tuple[tuple[str, str, str], ...] = (
    ("青川市东湖区人民法院", "鲁", "0192"),
    ("青川市中级人民法院", "鲁", "19"),
    ("云岭彝族苗族自治州中级人民法院", "云", "39"),
    ("云岭彝族苗族自治州雾溪县人民法院", "云", "3927"),
    ("白鹭湾市临港新区人民法院", "闽", "0991"),
    ("金穗市铜铃区人民法院", "豫", "1893"),
    ("北岚市高新技术产业开发区人民法院", "吉", "0992"),
    ("松涛达斡尔族鄂温克族自治旗人民法院", "内", "0795"),
    ("碧水湖哈尼族彝族傣族自治县人民法院", "云", "3896"),
    ("长庚市经济技术开发区人民法院", "桂", "0991"),
    ("枫林县人民法院", "赣", "0994"),
    ("星河市沙洲区人民法院", "粤", "1993"),
)
#: Made-up places for organisation names and addresses.
PLACES: tuple[str, ...] = (
    "青川市",
    "云岭州",
    "白鹭湾市",
    "金穗市",
    "北岚市",
    "枫林县",
    "长庚市",
    "星河市",
    "雾溪县",
    "碧水湖县",
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES: tuple[str, ...] = ("欧阳", "司马", "上官", "诸葛", "东方", "慕容")
#: Given-name characters chosen so that combinations read as plausible but uncommon names.
GIVEN = "芃沅砚榆苇澄蔺棠岚汀泓珂琰翊骁钧珩瑾湛璟漪霁彦岫峤筠荻蘅芷菡莜桉樾屿晔旻昀朔杳竺墨溪舟野川禾穗栎槿楠柘苓茗芊苒蓁"
TRADE_NAMES: tuple[str, ...] = (
    "澄远",
    "禾岫",
    "榆川",
    "汀兰",
    "棠溪",
    "墨舟",
    "翊野",
    "钧石",
    "苇岸",
    "樾峤",
    "珩川",
    "蘅芷",
    "晔岚",
    "昀禾",
    "荻洲",
)
INDUSTRIES: tuple[str, ...] = (
    "建材贸易",
    "餐饮管理",
    "物流",
    "房地产开发",
    "农业科技",
    "机械设备制造",
    "文化传媒",
    "装饰工程",
    "电子科技",
    "食品",
    "纺织品",
    "汽车销售服务",
    "商贸",
    "建筑劳务",
)
ORG_FORMS: tuple[str, ...] = ("有限公司", "有限责任公司", "股份有限公司", "商贸行", "农民专业合作社")
STREETS: tuple[str, ...] = ("柳岸路", "青石街", "渔歌巷", "银杏大道", "望湖路", "松风里", "云杉街", "稻香路")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# The organisation code inside a USCC is written in the USCC alphabet too.
_ORG_CODE_ALPHABET = _USCC_ALPHABET

RGB = tuple[int, int, int]
T = TypeVar("T")


# Rows ---------------------------------------------------------------------------------------------------


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    """One of ``options`` (like ``rng.choice``, twice as fast: it matters for 100,000 rows)."""
    return options[int(rng.random() * len(options))]


def _int(rng: random.Random, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` inclusive (like ``randint``, faster)."""
    return low + int(rng.random() * (high - low + 1))


def person_name(rng: random.Random) -> str:
    """A made-up Han name of two to four characters."""
    surname = _pick(rng, COMPOUND_SURNAMES) if rng.random() < 0.03 else _pick(rng, SURNAMES)
    given_length = 1 if rng.random() < 0.2 else 2
    return surname + "".join(_pick(rng, GIVEN) for _ in range(given_length))


def organisation_name(rng: random.Random) -> str:
    """A made-up organisation in a made-up place, e.g. 金穗市澄远建材贸易有限公司."""
    return _pick(rng, PLACES) + _pick(rng, TRADE_NAMES) + _pick(rng, INDUSTRIES) + _pick(rng, ORG_FORMS)


def address(rng: random.Random) -> str:
    """A made-up street address (for the ignored 住址 column of the sample)."""
    return f"{_pick(rng, PLACES)}{_pick(rng, STREETS)}{_int(rng, 1, 299)}号{_int(rng, 1, 30)}栋"


def masked_id(rng: random.Random, *, male: bool, birth_year: int | None = None) -> str:
    """An SPC-masked ID number: real region, birth year, ``****``, three digits and a check character.

    The 17th character is odd for men and even for women, as in real numbers; the check character is
    arbitrary because the hidden digits make it uncheckable.
    """
    year = _int(rng, 1950, 1995) if birth_year is None else birth_year
    sequence = f"{_int(rng, 0, 99):02d}{_pick(rng, '13579' if male else '02468')}"
    check = _pick(rng, "0123456789X")
    return f"{_pick(rng, MASK_REGIONS)}{year}****{sequence}{check}"


def full_fictional_id(rng: random.Random, *, male: bool) -> str:
    """A full 18-character ID number of an adult in the non-existent region 999999, valid check digit."""
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=_int(rng, 0, 365 * 45))
    sequence = f"{_int(rng, 0, 99):02d}{_pick(rng, '13579' if male else '02468')}"
    body = f"{FICTIONAL_REGION}{birth:%Y%m%d}{sequence}"
    # calc_check_digit ignores the last character of what it is given.
    return body + ric.calc_check_digit(body + "0")


def fictional_uscc(rng: random.Random, *, valid: bool = True) -> str:
    """A USCC with the non-existent region ``99xxxx``; ``valid=False`` gives a wrong check character."""
    region = f"99{_int(rng, 0, 9999):04d}"
    body = "".join(_pick(rng, _ORG_CODE_ALPHABET) for _ in range(8))
    code = f"91{region}{body}{org_code_check_character(body)}"
    check = uscc.calc_check_digit(code)
    if not valid:
        check = _USCC_ALPHABET[(_USCC_ALPHABET.index(check) + 1 + rng.randrange(30)) % 31]
    return code + check


def fictional_amount(rng: random.Random) -> str:
    """An amount as operators write it, in the 元 (30%), 万元 (60%) or 亿元 (10%) display range.

    Sizes are log-uniform inside each range; 30% of the larger amounts are written in 万元 or
    亿元 (12.35万元, 2.35亿元), the rest in yuan with or without thousands separators and 元.
    """
    draw = rng.random()
    low, high = (100, 10_000) if draw < 0.3 else (10_000, 100_000_000) if draw < 0.9 else (100_000_000, 5e9)
    cents = min(round(math.exp(rng.uniform(math.log(low), math.log(high))) * 100), round(high * 100) - 1)
    style = rng.random()
    if high > 100_000_000 and style < 0.3:
        return f"{Decimal(cents // 100_000_000) / 100:f}亿元"
    if high > 10_000 and style < 0.3:
        return f"{Decimal(cents // 10_000) / 100:f}万元"
    yuan = Decimal(cents) / 100
    if style < 0.6:
        return f"{yuan:,.2f}"
    if style < 0.8:
        return f"{yuan:,.2f}元"
    return f"{yuan:.2f}"


def case_number(rng: random.Random, province: str, court_code: str, year: int) -> str:
    """A current-form enforcement case number, e.g. （2025）鲁0192执1234号."""
    kind = "执恢" if rng.random() < 0.08 else "执"
    return f"（{year}）{province}{court_code}{kind}{_int(rng, 1, 9999)}号"


def base_row(rng: random.Random, number: int) -> dict[str, str]:
    """The case fields every row has: court, case number, amount, status, dates and QR link."""
    court, province, code = _pick(rng, COURTS)
    listed = LISTED_FROM + dt.timedelta(days=_int(rng, 0, (LISTED_UNTIL - LISTED_FROM).days))
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        {
            "编号": f"S{number:06d}",
            "执行标的": fictional_amount(rng),
            "履行情况": "部分履行" if rng.random() < 0.3 else "未履行",
            "执行法院": court,
            "执行法院电话": COURT_PHONE,
            "案号": case_number(rng, province, code, _int(rng, 2023, listed.year)),
            "发布日期": listed.isoformat(),
            "期限截止日期": listed.replace(year=listed.year + TERM_YEARS).isoformat(),
            "二维码链接": QR_URL,
        }
    )
    return row


def person_row(
    rng: random.Random, number: int, *, photo: bool, full_id: bool = False, male: bool | None = None
) -> dict[str, str]:
    """A valid person row numbered ``number`` (编号 S000123, photo p000123.jpg when ``photo``)."""
    is_male = rng.random() < 0.6 if male is None else male
    row = base_row(rng, number)
    identifier = full_fictional_id(rng, male=is_male) if full_id else masked_id(rng, male=is_male)
    row.update(
        {
            "类型": "个人",
            "被执行人姓名/名称": person_name(rng),
            "证件号码": identifier,
            "性别": "男" if is_male else "女",
            "照片": f"p{number:06d}.jpg" if photo else "",
        }
    )
    if rng.random() < 0.05:
        row["年龄"] = str(LISTED_UNTIL.year - int(identifier[6:10]))
    return row


def organisation_row(rng: random.Random, number: int, *, valid_code: bool = True) -> dict[str, str]:
    """A valid organisation row numbered ``number``, with a USCC and a legal representative."""
    row = base_row(rng, number)
    row.update(
        {
            "类型": "单位",
            "被执行人姓名/名称": organisation_name(rng),
            "证件号码": fictional_uscc(rng, valid=valid_code),
            "法定代表人": person_name(rng),
        }
    )
    return row


def fictional_rows(count: int, seed: int, *, photos: bool) -> list[dict[str, str]]:
    """``count`` valid rows: about 85% persons (a few with full IDs in region 999999), the rest organisations.

    Every row holds every key of :data:`COLUMNS` (empty where not applicable). The same arguments always
    give the same rows.
    """
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for number in range(1, count + 1):
        if rng.random() < PERSON_SHARE:
            full_id = rng.random() < FULL_ID_SHARE
            rows.append(person_row(rng, number, photo=photos, full_id=full_id))
        else:
            rows.append(organisation_row(rng, number))
    return rows


def write_csv(rows: Iterable[Mapping[str, str]], path: Path) -> Path:
    """Write ``rows`` as Excel's "CSV UTF-8" does (BOM, CRLF); the header is the union of their keys.

    The columns of :data:`COLUMNS` come first in that order, then any other keys in the order first seen.
    """
    materialised = list(rows)
    seen = {key: None for row in materialised for key in row}
    headers = [column for column in COLUMNS if column in seen]
    headers += [key for key in seen if key not in COLUMNS]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(headers)
        for row in materialised:
            writer.writerow([row.get(header, "") for header in headers])
    return path


def photo_seed(file_name: str) -> int:
    """The portrait seed of a photo file name: its digits (p000123.jpg -> 123), or 0."""
    digits = "".join(char for char in file_name if char.isdigit())
    return int(digits) if digits else 0


def write_portraits(
    rows: Iterable[Mapping[str, str]],
    folder: Path,
    *,
    size: tuple[int, int] = (480, 640),
    quality: int = 85,
) -> list[Path]:
    """Save a portrait for every row naming a photo (照片), seeded by the file name's digits.

    Returns:
        The files written, in row order (a name used twice is written once).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for row in rows:
        name = row.get("照片", "")
        if not name:
            continue
        target = folder / name
        if target in written:
            continue
        portrait(photo_seed(name), size).save(target, format="JPEG", quality=quality, optimize=True)
        written.append(target)
    return written


# Portraits ----------------------------------------------------------------------------------------------

_SKIN: tuple[RGB, ...] = (
    (255, 226, 200),
    (246, 208, 174),
    (236, 190, 150),
    (222, 170, 124),
    (198, 140, 98),
    (168, 112, 76),
    (128, 84, 56),
    (96, 62, 42),
)
#: Lighter and medium tones are drawn more often than the darkest ones.
_SKIN_WEIGHTS = (4, 5, 5, 4, 3, 2, 1, 1)
_HAIR: tuple[RGB, ...] = (
    (24, 22, 24),
    (24, 22, 24),
    (46, 34, 28),
    (46, 34, 28),
    (84, 58, 38),
    (126, 84, 48),
    (112, 44, 28),
    (196, 164, 104),
    (150, 148, 146),
    (214, 212, 206),
)
_HAIR_STYLES = ("short", "side_part", "buzz", "bald", "bun", "long", "bob", "curly")


def portrait(seed: int, size: tuple[int, int] = (480, 640)) -> Image.Image:
    """A stylised head-and-shoulders drawing, different for every seed and the same for the same seed.

    Flat shapes only (background, shoulders and clothes, neck, ears, head, hair, brows, eyes, nose, mouth,
    sometimes glasses or a beard), drawn at twice the size and scaled down for smooth edges.
    """
    rng = random.Random(seed)
    width, height = size[0] * 2, size[1] * 2
    top, bottom = _pastel(rng), _pastel(rng)
    image = Image.composite(
        Image.new("RGB", (width, height), bottom),
        Image.new("RGB", (width, height), top),
        Image.linear_gradient("L").resize((width, height)),
    )
    draw = ImageDraw.Draw(image)
    skin = _jitter(rng, rng.choices(_SKIN, weights=_SKIN_WEIGHTS)[0], 8)
    shade = _scale(skin, 0.86)
    hair = _jitter(rng, rng.choice(_HAIR), 6)
    style = rng.choice(_HAIR_STYLES)

    cx = width / 2 + rng.uniform(-0.03, 0.03) * width
    head_w = width * rng.uniform(0.30, 0.36)
    head_h = head_w * rng.uniform(1.22, 1.38)
    cy = height * rng.uniform(0.40, 0.44)
    left, right = cx - head_w / 2, cx + head_w / 2
    head_top, head_bottom = cy - head_h / 2, cy + head_h / 2

    _hair_back(draw, style, cx, cy, head_w, head_h, hair)
    _shoulders(draw, rng, cx, head_bottom, width, height, shade)
    for side in (-1, 1):
        ear_x = cx + side * head_w * 0.49
        draw.ellipse(
            (ear_x - head_w * 0.07, cy - head_h * 0.08, ear_x + head_w * 0.07, cy + head_h * 0.1), fill=shade
        )
    draw.ellipse((left, head_top, right, head_bottom), fill=skin)
    _face(draw, rng, cx, cy, head_w, head_h, skin, hair)
    _hair(draw, rng, style, cx, cy, head_w, head_h, hair)
    if rng.random() < 0.22:
        _glasses(draw, rng, cx, cy, head_w, head_h)
    return image.resize(size, Image.Resampling.LANCZOS)


def _shoulders(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    cx: float,
    head_bottom: float,
    width: int,
    height: int,
    shade: RGB,
) -> None:
    clothes = (rng.randint(30, 200), rng.randint(30, 200), rng.randint(30, 200))
    neck_w = width * rng.uniform(0.075, 0.095)
    shoulder_top = head_bottom + height * rng.uniform(0.02, 0.05)
    draw.rectangle(
        (cx - neck_w, head_bottom - height * 0.06, cx + neck_w, shoulder_top + height * 0.05), fill=shade
    )
    spread = width * rng.uniform(0.40, 0.50)
    draw.rounded_rectangle(
        (cx - spread, shoulder_top, cx + spread, height * 1.2), radius=width * 0.16, fill=clothes
    )
    collar = rng.choice(("v", "round", "shirt"))
    if collar == "v":
        draw.polygon(
            [
                (cx - neck_w * 1.2, shoulder_top),
                (cx + neck_w * 1.2, shoulder_top),
                (cx, shoulder_top + height * 0.1),
            ],
            fill=shade,
        )
    elif collar == "round":
        draw.chord(
            (
                cx - neck_w * 1.3,
                shoulder_top - height * 0.04,
                cx + neck_w * 1.3,
                shoulder_top + height * 0.05,
            ),
            0,
            180,
            fill=shade,
        )
    else:
        shirt = (236, 236, 232) if rng.random() < 0.7 else _pastel(rng)
        for side in (-1, 1):
            draw.polygon(
                [
                    (cx, shoulder_top + height * 0.08),
                    (cx + side * neck_w * 1.5, shoulder_top - height * 0.005),
                    (cx + side * neck_w * 0.6, shoulder_top + height * 0.11),
                ],
                fill=shirt,
            )


def _face(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    cx: float,
    cy: float,
    head_w: float,
    head_h: float,
    skin: RGB,
    hair: RGB,
) -> None:
    eye_y = cy + head_h * rng.uniform(-0.02, 0.04)
    eye_dx = head_w * rng.uniform(0.18, 0.22)
    eye_w = head_w * rng.uniform(0.055, 0.075)
    eye_h = eye_w * rng.uniform(0.55, 0.8)
    iris = _jitter(rng, rng.choice(((40, 28, 22), (62, 44, 30), (30, 30, 34))), 6)
    brow = _scale(hair, 0.8) if sum(hair) < 450 else (110, 100, 96)
    brow_w = max(3, int(head_w * rng.uniform(0.02, 0.035)))
    brow_lift = head_h * rng.uniform(0.08, 0.11)
    tilt = head_h * rng.uniform(-0.015, 0.015)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        draw.ellipse((ex - eye_w, eye_y - eye_h, ex + eye_w, eye_y + eye_h), fill=(250, 248, 244))
        pupil = eye_h * 0.85
        draw.ellipse((ex - pupil, eye_y - pupil, ex + pupil, eye_y + pupil), fill=iris)
        draw.line(
            (
                ex - eye_w * 1.2,
                eye_y - brow_lift + tilt * side,
                ex + eye_w * 1.2,
                eye_y - brow_lift - tilt * side,
            ),
            fill=brow,
            width=brow_w,
        )
    nose = _scale(skin, 0.78)
    nose_y = cy + head_h * rng.uniform(0.12, 0.16)
    draw.arc(
        (cx - head_w * 0.05, nose_y - head_h * 0.04, cx + head_w * 0.05, nose_y + head_h * 0.02),
        20,
        160,
        fill=nose,
        width=max(3, int(head_w * 0.018)),
    )
    if rng.random() < 0.35:
        blush = _mix(skin, (232, 120, 120), 0.25)
        for side in (-1, 1):
            bx = cx + side * head_w * 0.27
            draw.ellipse(
                (bx - head_w * 0.07, nose_y - head_h * 0.04, bx + head_w * 0.07, nose_y + head_h * 0.04),
                fill=blush,
            )
    mouth_y = cy + head_h * rng.uniform(0.27, 0.31)
    mouth_w = head_w * rng.uniform(0.1, 0.16)
    lips = _mix(skin, (150, 50, 55), rng.uniform(0.35, 0.6))
    if rng.random() < 0.6:
        draw.arc(
            (cx - mouth_w, mouth_y - head_h * 0.05, cx + mouth_w, mouth_y + head_h * 0.03),
            20,
            160,
            fill=lips,
            width=max(3, int(head_w * 0.025)),
        )
    else:
        draw.line(
            (cx - mouth_w, mouth_y, cx + mouth_w, mouth_y), fill=lips, width=max(3, int(head_w * 0.025))
        )
    if rng.random() < 0.15:
        beard = _scale(hair, 0.95)
        draw.chord(
            (cx - head_w * 0.45, cy - head_h * 0.1, cx + head_w * 0.45, cy + head_h * 0.52),
            30,
            150,
            fill=beard,
        )
        draw.line(
            (cx - mouth_w, mouth_y, cx + mouth_w, mouth_y), fill=lips, width=max(3, int(head_w * 0.025))
        )


def _hair_back(
    draw: ImageDraw.ImageDraw, style: str, cx: float, cy: float, head_w: float, head_h: float, hair: RGB
) -> None:
    """The hair behind the head: volume at the top and sides, long hair down to the shoulders."""
    left, right = cx - head_w / 2, cx + head_w / 2
    head_top = cy - head_h / 2
    if style in ("long", "bob"):
        reach = head_h * (1.05 if style == "long" else 0.5)
        draw.rounded_rectangle(
            (left - head_w * 0.1, head_top - head_h * 0.05, right + head_w * 0.1, cy + reach),
            radius=head_w * 0.4,
            fill=hair,
        )
    elif style == "bald":
        # A fringe around the back of the head, showing as thin crescents above the ears.
        draw.ellipse(
            (left - head_w * 0.035, cy - head_h * 0.22, right + head_w * 0.035, cy + head_h * 0.1), fill=hair
        )
    else:
        margin = head_w * (0.015 if style == "buzz" else 0.05)
        draw.ellipse((left - margin, head_top - margin, right + margin, cy + head_h * 0.08), fill=hair)


def _hair(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    style: str,
    cx: float,
    cy: float,
    head_w: float,
    head_h: float,
    hair: RGB,
) -> None:
    left, right = cx - head_w / 2, cx + head_w / 2
    head_top = cy - head_h / 2
    if style == "bald":
        return
    thickness = head_h * (0.02 if style == "buzz" else rng.uniform(0.05, 0.09))
    hairline = head_h * (0.3 if style == "buzz" else rng.uniform(0.16, 0.24))
    draw.chord(
        (
            left - head_w * 0.04,
            head_top - thickness,
            right + head_w * 0.04,
            head_top - thickness + 2 * (head_h / 2 + thickness - hairline),
        ),
        180,
        360,
        fill=hair,
    )
    if style == "side_part":
        side = rng.choice((-1, 1))
        draw.polygon(
            [
                (cx + side * head_w * 0.1, head_top - thickness),
                (cx - side * head_w * 0.52, head_top + head_h * 0.05),
                (cx - side * head_w * 0.5, cy - head_h * 0.12),
                (cx - side * head_w * 0.05, head_top + head_h * 0.16),
            ],
            fill=hair,
        )
    elif style == "bun":
        radius = head_w * rng.uniform(0.15, 0.2)
        bun_y = head_top - radius * 0.6
        draw.ellipse((cx - radius, bun_y - radius, cx + radius, bun_y + radius), fill=hair)
    elif style == "curly":
        curl = head_w * 0.11
        for step in range(13):
            angle = math.pi * (1.0 + step / 12)
            x = cx + head_w * 0.5 * math.cos(angle)
            y = cy - head_h * 0.12 + head_h * 0.48 * math.sin(angle)
            draw.ellipse((x - curl, y - curl, x + curl, y + curl), fill=hair)


def _glasses(
    draw: ImageDraw.ImageDraw, rng: random.Random, cx: float, cy: float, head_w: float, head_h: float
) -> None:
    frame = rng.choice(((30, 30, 30), (120, 80, 40), (150, 150, 160)))
    eye_y = cy + head_h * 0.01
    radius = head_w * 0.1
    line = max(3, int(head_w * 0.016))
    for side in (-1, 1):
        ex = cx + side * head_w * 0.2
        draw.ellipse(
            (ex - radius, eye_y - radius * 0.8, ex + radius, eye_y + radius * 0.8), outline=frame, width=line
        )
    draw.line((cx - head_w * 0.1, eye_y, cx + head_w * 0.1, eye_y), fill=frame, width=line)


def _pastel(rng: random.Random) -> RGB:
    return (rng.randint(150, 235), rng.randint(150, 235), rng.randint(150, 235))


def _jitter(rng: random.Random, colour: RGB, amount: int) -> RGB:
    r, g, b = (max(0, min(255, channel + rng.randint(-amount, amount))) for channel in colour)
    return (r, g, b)


def _scale(colour: RGB, factor: float) -> RGB:
    r, g, b = (max(0, min(255, round(channel * factor))) for channel in colour)
    return (r, g, b)


def _mix(colour: RGB, other: RGB, share: float) -> RGB:
    r, g, b = (round(a * (1 - share) + b * share) for a, b in zip(colour, other, strict=True))
    return (r, g, b)
