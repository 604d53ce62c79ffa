"""Citizen ID, passport, phone and birth-year validation: each failure has its own code and message
in Vietnamese and English; properties checked with hypothesis."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from dothi.core.errors import InvalidInput
from dothi.identity import cccd

THIS_YEAR = timezone.localdate().year
PREFIXES = sorted(cccd.provinces())


def test_prefix_table_is_packaged_and_complete():
    assert cccd.DATA_FILE.is_file()
    assert "/work/shared" not in str(cccd.DATA_FILE)
    assert cccd.provinces()["048"].name == "Thành phố Đà Nẵng"
    assert cccd.provinces()["079"].new_code == "79"
    assert len(PREFIXES) == 63


def test_valid_cccd_gives_province_and_sex():
    info = cccd.validate_cccd("048 090 123456", 1990)
    assert info.number == "048090123456"
    assert info.province.prefix == "048"
    assert info.sex == "M"
    assert cccd.validate_cccd("001305000001", 2005).sex == "F"


# (input, birth year, code, English message, Vietnamese message)
FAILURES = [
    ("", 1990, "cccd_required", "Enter your citizen ID number.", "Nhập số căn cước công dân của bạn."),
    (
        "04809012345a",
        1990,
        "cccd_not_digits",
        "The citizen ID may contain only digits.",
        "Số căn cước công dân chỉ được gồm các chữ số.",
    ),
    (
        "04809012345",
        1990,
        "cccd_length",
        "The citizen ID has 12 digits; you entered 11.",
        "Số căn cước công dân có 12 chữ số; bạn đã nhập 11.",
    ),
    (
        "003090123456",
        1990,
        "cccd_province",
        "The first three digits (003) are not a known province code.",
        "Ba chữ số đầu (003) không phải mã tỉnh, thành phố hợp lệ.",
    ),
    (
        "048290123456",
        1990,
        "cccd_century",
        "The 4th digit (2) means a birth year between 2000 and 2099, "
        "which does not match the birth year 1990.",
        "Chữ số thứ 4 (2) ứng với năm sinh từ 2000 đến 2099, không khớp với năm sinh 1990.",
    ),
    (
        "048091123456",
        1990,
        "cccd_birth_year",
        "Digits 5 and 6 (91) must be the last two digits of the birth year 1990.",
        "Chữ số thứ 5 và 6 (91) phải là hai số cuối của năm sinh 1990.",
    ),
    (
        "048090123456",
        THIS_YEAR + 1,
        "birth_year_future",
        "The birth year cannot be in the future.",
        "Năm sinh không thể ở tương lai.",
    ),
    (
        "048090123456",
        THIS_YEAR - 121,
        "birth_year_implausible",
        f"The birth year {THIS_YEAR - 121} is not plausible: it is more than 120 years ago.",
        f"Năm sinh {THIS_YEAR - 121} không hợp lý: đã cách đây hơn 120 năm.",
    ),
    (
        "048090123456",
        "19x0",
        "birth_year_invalid",
        "Enter your birth year as four digits, e.g. 1990.",
        "Nhập năm sinh gồm bốn chữ số, ví dụ 1990.",
    ),
]


@pytest.mark.parametrize(("number", "year", "code", "en", "vi"), FAILURES, ids=[f[2] for f in FAILURES])
def test_each_cccd_failure_has_its_own_code_and_message(number, year, code, en, vi):
    for language, expected in (("en", en), ("vi", vi)):
        with translation.override(language), pytest.raises(InvalidInput) as caught:
            cccd.validate_cccd(number, year)
        assert caught.value.code == code
        assert caught.value.message == expected
    assert len({f[2] for f in FAILURES}) == len(FAILURES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0912345678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("0084-35.123.4567", "+84351234567"),
        ("(+84) 789 000 111", "+84789000111"),
    ],
)
def test_phone_forms_normalise_to_e164(value, expected):
    assert cccd.normalise_phone(value) == expected


@pytest.mark.parametrize(
    "value", ["0212345678", "912345678", "+85512345678", "09123456789", "09123x5678", "+84０912345678"]
)
def test_bad_phones_are_refused_clearly(value):
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        cccd.normalise_phone(value)
    assert caught.value.code == "phone_invalid"
    assert "Vietnamese mobile number" in caught.value.message
    with translation.override("vi"), pytest.raises(InvalidInput) as caught:
        cccd.normalise_phone(value)
    assert "số di động Việt Nam" in caught.value.message


def test_passport_numbers():
    assert cccd.normalise_passport(" c1234567 ") == "C1234567"
    for bad, code in [
        ("", "passport_required"),
        ("AB12", "passport_format"),
        ("AB12345678901", "passport_format"),
        ("AB-12_345", "passport_format"),
        ("ÄB123456", "passport_format"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            cccd.normalise_passport(bad)
        assert caught.value.code == code


@given(
    prefix=st.sampled_from(PREFIXES),
    year=st.integers(min_value=THIS_YEAR - 120, max_value=THIS_YEAR),
    female=st.booleans(),
    serial=st.integers(min_value=0, max_value=999_999),
)
def test_property_every_well_formed_id_is_accepted(prefix, year, female, serial):
    digit = cccd.century_digits(year)[1 if female else 0]
    number = f"{prefix}{digit}{year % 100:02d}{serial:06d}"
    info = cccd.validate_cccd(number, year)
    assert info.number == number
    assert info.sex == ("F" if female else "M")
    assert cccd.century_of(digit) <= year < cccd.century_of(digit) + 100


@given(
    prefix=st.sampled_from(PREFIXES),
    year=st.integers(min_value=THIS_YEAR - 120, max_value=THIS_YEAR),
    digit=st.integers(min_value=0, max_value=9),
    serial=st.integers(min_value=0, max_value=999_999),
)
def test_property_century_digit_must_match_birth_year(prefix, year, digit, serial):
    number = f"{prefix}{digit}{year % 100:02d}{serial:06d}"
    if digit in cccd.century_digits(year):
        cccd.validate_cccd(number, year)
    else:
        with pytest.raises(InvalidInput) as caught:
            cccd.validate_cccd(number, year)
        assert caught.value.code == "cccd_century"


@given(st.text(alphabet="0123456789", max_size=20).filter(lambda s: len(s) not in (0, 12)))
def test_property_wrong_length_is_refused(number):
    with pytest.raises(InvalidInput) as caught:
        cccd.validate_cccd(number, 1990)
    assert caught.value.code == "cccd_length"


@given(st.text(max_size=30))
def test_property_validator_never_crashes(text):
    # Any input either validates or raises the domain error: never a 500.
    try:
        cccd.validate_cccd(text, 1990)
    except InvalidInput as exc:
        assert exc.field == "id_number"
    try:
        phone = cccd.normalise_phone(text)
    except InvalidInput as exc:
        assert exc.field == "phone"
    else:
        assert phone.startswith("+84") and len(phone) == 12


@given(st.sampled_from("35789"), st.integers(min_value=0, max_value=99_999_999))
def test_property_phone_forms_agree(first, rest):
    national = f"{first}{rest:08d}"
    assert cccd.normalise_phone(f"0{national}") == cccd.normalise_phone(f"+84{national}") == f"+84{national}"
