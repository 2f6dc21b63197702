"""Pseudonymous people: names, phone numbers and resident ID numbers.

Names and phone numbers use Faker's ``zh_CN`` word lists (surnames weighted by frequency,
given names by sex, the mobile prefixes), drawn with the step's own seeded ``random.Random``:
the same as a seeded ``Faker('zh_CN')`` would give in spirit, at a tenth of the cost, which
matters for 20,000 citizens per scale unit. Given names are one or two characters.
Resident ID numbers are made here (GB 11643-1999: area code + birth date + sequence with the
sex digit + ISO 7064 MOD 11-2 check character) so that they are valid, unique, and agree with
the person's birth date and sex. Everything about a person is personal data: the hub masks it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from faker.providers.person.zh_CN import Provider as _ZhPerson
from faker.providers.phone_number.zh_CN import Provider as _ZhPhone

from simcity.binhai.context import BASE_DATE, Context

_SURNAMES = list(_ZhPerson.last_names)
_SURNAME_CUM = list(accumulate(_ZhPerson.last_names.values()))
_GIVEN = {"男": list(_ZhPerson.first_names_male), "女": list(_ZhPerson.first_names_female)}
_GIVEN_SINGLE = {g: [n for n in names if len(n) == 1] for g, names in _GIVEN.items()}
_MOBILE_PREFIXES = [str(p) for p in _ZhPhone.phonenumber_prefixes]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Where people's ID numbers were first issued: Binhai itself (new code and the three former
# districts) for most, then the provinces Binhai draws its workforce from.
_AREA_CODES: tuple[tuple[str, float], ...] = (
    ("120116", 0.30),  # 滨海新区
    ("120107", 0.16),  # 原塘沽区
    ("120108", 0.06),  # 原汉沽区
    ("120109", 0.10),  # 原大港区
    ("120101", 0.02),  # 和平区
    ("120110", 0.02),  # 东丽区
    ("130200", 0.04),  # 河北唐山
    ("130900", 0.05),  # 河北沧州
    ("131000", 0.02),  # 河北廊坊
    ("371400", 0.03),  # 山东德州
    ("370100", 0.02),  # 山东济南
    ("410100", 0.03),  # 河南郑州
    ("411300", 0.02),  # 河南南阳
    ("340100", 0.02),  # 安徽合肥
    ("230100", 0.03),  # 黑龙江哈尔滨
    ("220100", 0.02),  # 吉林长春
    ("210100", 0.02),  # 辽宁沈阳
    ("140100", 0.02),  # 山西太原
    ("150100", 0.01),  # 内蒙古呼和浩特
    ("510100", 0.01),  # 四川成都
)
_AREAS = [a for a, _ in _AREA_CODES]
_AREA_WEIGHTS = [w for _, w in _AREA_CODES]


def resident_id_check(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a resident ID number (GB 11643-1999)."""
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_resident_id(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return resident_id_check(number[:17]) == number[17]


@dataclass(frozen=True)
class Person:
    name: str
    gender: str  # 男 / 女
    birth_date: date
    resident_id: str
    phone: str

    def as_attrs(self) -> dict[str, str]:
        return {
            "name": self.name,
            "gender": self.gender,
            "birth_date": self.birth_date.isoformat(),
            "resident_id": self.resident_id,
            "phone": self.phone,
        }


class PersonFactory:
    """Makes unique people for one generator step (unique across steps via the context)."""

    def __init__(self, ctx: Context, step: str) -> None:
        self.ctx = ctx
        self.rng: random.Random = ctx.rng("people/" + step)

    def name(self, gender: str | None = None) -> str:
        rng = self.rng
        gender = gender or rng.choice("男女")
        surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
        if rng.random() < 0.45:
            given = rng.choice(_GIVEN_SINGLE[gender]) + rng.choice(_GIVEN_SINGLE[gender])
        else:
            given = rng.choice(_GIVEN[gender])
        return surname + given

    def phone(self) -> str:
        for _ in range(1000):
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.ctx.used_phones:
                self.ctx.used_phones.add(number)
                return number
        raise RuntimeError("ran out of phone numbers")

    def resident_id(self, birth: date, gender: str) -> str:
        area = self.rng.choices(_AREAS, _AREA_WEIGHTS)[0]
        for _ in range(1000):
            seq = self.rng.randrange(0, 500) * 2 + (1 if gender == "男" else 0)
            first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
            number = first17 + resident_id_check(first17)
            if number not in self.ctx.used_ids:
                self.ctx.used_ids.add(number)
                return number
        raise RuntimeError("ran out of resident ID numbers")

    def person(self, min_age: int = 18, max_age: int = 80, gender: str | None = None) -> Person:
        gender = gender or self.rng.choice("男女")
        age_days = self.rng.randrange(min_age * 365 + 1, max_age * 365 + 300)
        birth = BASE_DATE - timedelta(days=age_days)
        return Person(
            name=self.name(gender),
            gender=gender,
            birth_date=birth,
            resident_id=self.resident_id(birth, gender),
            phone=self.phone(),
        )
