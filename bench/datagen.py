"""Realistic automotive customer records with known truth, generated as a stream.

People live in households (shared address and landline, sometimes a family phone), own
vehicles (valid VINs and plates, some sold on to a second owner), and appear in several
sources, each showing the identifiers that source knows: the CRM, dealer DMS systems, the
app, WeChat, after-sales service, the connected car, test-drive bookings and media leads.
The dirty data of ``shared/DOMAIN.md`` is in it: placeholder phones, a sales consultant's
phone typed into many leads, a fleet phone shared by many drivers, traditional characters,
homophone typos, `张先生` leads, romanized names, and a few invalid rows.

Records are yielded one at a time with the person they truly belong to, so a million
records never sit in memory.

    .venv/bin/python bench/datagen.py --records 100000 --out records.jsonl --truth truth.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from idgraph.domain.identifiers import id_card_check_char, vin_check_char  # noqa: E402

# Surnames by frequency (the first ten cover about 40 % of people).
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
            "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
            "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜",
            "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭")
SURNAME_WEIGHTS = tuple(1.0 / (i + 3) for i in range(len(SURNAMES)))
GIVEN_MALE = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欣博文晨"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玲桂兰萍红梅琳雪倩婷颖慧莹晶佳悦欣怡瑶璐蕾薇"
# Homophones typed by mistake, and traditional forms of common characters.
HOMOPHONES = {"伟": "玮", "芳": "方", "娜": "那", "静": "婧", "丽": "莉", "明": "铭",
              "杰": "洁", "涛": "韬", "华": "桦", "玲": "铃", "婷": "亭", "鹏": "朋"}
TRADITIONAL = {"张": "張", "陈": "陳", "刘": "劉", "杨": "楊", "黄": "黃", "赵": "趙",
               "吴": "吳", "孙": "孫", "马": "馬", "郑": "鄭", "伟": "偉", "丽": "麗",
               "华": "華", "军": "軍", "强": "強", "静": "靜", "红": "紅", "兰": "蘭"}
PINYIN = {"王": "Wang", "李": "Li", "张": "Zhang", "刘": "Liu", "陈": "Chen", "杨": "Yang",
          "黄": "Huang", "赵": "Zhao", "吴": "Wu", "周": "Zhou"}
CITIES = (("上海", "310115", "沪", "浦东新区"), ("北京", "110105", "京", "朝阳区"),
          ("广州", "440106", "粤", "天河区"), ("深圳", "440305", "粤", "南山区"),
          ("杭州", "330106", "浙", "西湖区"), ("成都", "510107", "川", "武侯区"),
          ("重庆", "500103", "渝", "渝中区"), ("南京", "320106", "苏", "鼓楼区"),
          ("武汉", "420106", "鄂", "武昌区"), ("西安", "610113", "陕", "雁塔区"),
          ("苏州", "320505", "苏", "虎丘区"), ("天津", "120101", "津", "和平区"))
CITY_WEIGHTS = (9, 9, 6, 6, 5, 5, 5, 4, 4, 4, 3, 3)
ROADS = ("人民路", "中山路", "解放路", "建设路", "和平路", "新华路", "长江路", "黄河路",
         "世纪大道", "滨江路", "科技路", "花园路", "文化路", "青年路", "光明路", "东风路")
MODELS = (("LSV", "帕萨特"), ("LSV", "途观L"), ("LFV", "迈腾"), ("LFV", "探岳"),
          ("LBV", "5系"), ("LBV", "X3"), ("LE4", "C级"), ("LE4", "GLC"))
PLACEHOLDERS = ("13800138000", "13888888888", "11111111111")
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
WECHAT_APPS = ("wx-official", "wx-mini-booking")
DEALERS = tuple(f"D{n:04d}" for n in range(1, 121))


@dataclass
class Vehicle:
    vin: str
    plate: str
    model: str
    bought: date


@dataclass
class Person:
    """One real person: what the sources may know about them."""

    entity: str
    name: str
    gender: str
    birth: date
    city: tuple[str, str, str, str]
    address: str
    landline: str
    phones: list[str]
    email: str
    id_card: str
    unionid: str
    app_user_id: str
    device_id: str
    dealer: str
    family_phone: str = ""  # a household member's phone, used for bookings
    vehicles: list[Vehicle] = field(default_factory=list)


@dataclass(frozen=True)
class Labeled:
    """A record (protobuf JSON form of SourceRecord) and the person it truly belongs to."""

    record: dict[str, object]
    entity: str


class Generator:
    """A stream of records for about `records` rows; deterministic for a seed."""

    def __init__(self, records: int, seed: int = 7) -> None:
        self.target = records
        self.rng = random.Random(seed)
        self.people = 0
        self.serial = 0
        self.vehicles = 0
        consultants = max(20, records // 2000)
        self.consultant_phones = [self._phone(10_000_000 + i) for i in range(consultants)]
        self.fleet_phones = [self._phone(20_000_000 + i) for i in range(max(5, records // 20000))]
        self.used_cars: list[Vehicle] = []  # vehicles on sale, to be bought by a second owner

    # ------------------------------------------------------------------ values
    def _phone(self, n: int) -> str:
        """A unique valid mobile number for n (an affine bijection on 10^8 hides the order)."""
        body = (n * 48_271 + 12_345) % 100_000_000
        return f"1{'3456789'[n % 7]}{n % 10}{body:08d}"

    def _name(self, gender: str) -> str:
        rng = self.rng
        surname = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
        pool = GIVEN_MALE if gender == "M" else GIVEN_FEMALE
        given = rng.choice(pool) if rng.random() < 0.35 else rng.choice(pool) + rng.choice(pool)
        return surname + given

    def _id_card(self, area: str, birth: date, gender: str) -> str:
        seq = self.rng.randrange(0, 499) * 2 + (1 if gender == "M" else 0)
        first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
        return first17 + id_card_check_char(first17)

    def _vin(self) -> tuple[str, str]:
        rng = self.rng
        wmi, model = rng.choice(MODELS)
        vds = "".join(rng.choice(VIN_CHARS) for _ in range(5))
        self.vehicles += 1
        tail = f"{rng.choice('JKLMNPRS')}{rng.choice('ABC')}{self.vehicles:06d}"
        vin = wmi + vds + "0" + tail
        return vin[:8] + vin_check_char(vin) + vin[9:], model

    def _plate(self, province: str) -> str:
        rng = self.rng
        return province + rng.choice("ABCDEFG") + "".join(rng.choice(PLATE_CHARS)
                                                          for _ in range(5))

    def _household(self) -> list[Person]:
        rng = self.rng
        city = rng.choices(CITIES, CITY_WEIGHTS)[0]
        address = (f"{city[0]}市{city[3]}{rng.choice(ROADS)}{rng.randrange(1, 999)}号"
                   f"{rng.randrange(1, 30)}栋{rng.randrange(101, 2800)}室")
        area_code = {"北京": "010", "上海": "021", "广州": "020", "深圳": "0755",
                     "天津": "022", "重庆": "023"}.get(city[0], "0" + city[1][:2] + "1")
        landline = f"{area_code}-{rng.randrange(20_000_000, 89_999_999)}" \
            if rng.random() < 0.4 else ""
        size = rng.choices((1, 2, 3, 4), (45, 30, 18, 7))[0]
        members = []
        for _ in range(size):
            n = self.people
            self.people += 1
            gender = rng.choice("MF")
            birth = date(1960, 1, 1) + timedelta(days=rng.randrange(16_000))
            phones = [self._phone(n)]
            if rng.random() < 0.25:
                phones.append(self._phone(50_000_000 + n))
            members.append(Person(
                entity=f"P{n}", name=self._name(gender), gender=gender, birth=birth, city=city,
                address=address, landline=landline, phones=phones,
                email=f"u{n}@{rng.choice(('qq.com', '163.com', '126.com', 'gmail.com'))}"
                if rng.random() < 0.5 else "",
                id_card=self._id_card(city[1], birth, gender),
                unionid=f"oU{n:09d}x{rng.randrange(10**6):06d}",
                app_user_id=f"A{n:09d}" if rng.random() < 0.5 else "",
                device_id=f"{rng.getrandbits(128):032x}" if rng.random() < 0.4 else "",
                dealer=rng.choice(DEALERS)))
        if size > 1 and rng.random() < 0.3:  # one phone books test drives for the family
            for member in members[1:]:
                member.family_phone = members[0].phones[0]
        for member in members:
            if rng.random() < 0.55:
                self._buy(member, new=rng.random() < 0.9 or not self.used_cars)
            if member.vehicles and rng.random() < 0.15:
                self._buy(member, new=True)
        return members

    def _buy(self, person: Person, new: bool) -> None:
        rng = self.rng
        if new:
            vin, model = self._vin()
            bought = date(2012, 1, 1) + timedelta(days=rng.randrange(4_700))
            vehicle = Vehicle(vin, self._plate(person.city[2]), model, bought)
            if rng.random() < 0.05:  # sold on later
                self.used_cars.append(vehicle)
        else:
            old = self.used_cars.pop(rng.randrange(len(self.used_cars)))
            vehicle = Vehicle(old.vin, self._plate(person.city[2]), old.model,
                              old.bought + timedelta(days=rng.randrange(400, 2_500)))
        person.vehicles.append(vehicle)

    # ------------------------------------------------------------------ noise
    def _spelled(self, name: str) -> str:
        """The name as a source typed it."""
        r = self.rng.random()
        if r < 0.05:
            return "".join(TRADITIONAL.get(c, c) for c in name)
        if r < 0.09 and any(c in HOMOPHONES for c in name[1:]):
            return name[0] + "".join(HOMOPHONES.get(c, c) for c in name[1:])
        return name

    def _id(self, source: str) -> str:
        self.serial += 1
        return f"{source}-{self.serial:09d}"

    # ------------------------------------------------------------------ records
    def _records(self, p: Person) -> Iterator[dict[str, object]]:
        rng = self.rng
        phone = rng.choice(p.phones)
        common = {"gender": p.gender, "city": p.city[0]}
        if rng.random() < 0.8:
            yield {"source": "crm", "sourceRecordId": self._id("crm"),
                   "identifiers": [{"type": "phone", "value": phone},
                                   {"type": "crm_id", "value": f"C{p.entity[1:]}"}]
                   + ([{"type": "email", "value": p.email}] if p.email else []),
                   "attributes": {"name": self._spelled(p.name),
                                  "birth_date": p.birth.isoformat(), **common}}
        for vehicle in p.vehicles:
            since = f"{vehicle.bought.isoformat()}T10:00:00Z"
            ids = [{"type": "phone", "value": phone},
                   {"type": "id_card", "value": p.id_card},
                   {"type": "dms_customer_id", "value": f"K{p.entity[1:]}", "scope": p.dealer}]
            if p.landline:
                ids.append({"type": "landline", "value": p.landline})
            yield {"source": "dms", "sourceRecordId": self._id("dms"), "observedAt": since,
                   "identifiers": ids,
                   "attributes": {"name": self._spelled(p.name), "address": p.address,
                                  "birth_date": p.birth.isoformat(), **common},
                   "vehicles": [{"vin": vehicle.vin, "relation": "VEHICLE_RELATION_OWNER",
                                 "model": vehicle.model, "plate": vehicle.plate,
                                 "since": since}]}
            if rng.random() < 0.6:
                yield {"source": "service", "sourceRecordId": self._id("service"),
                       "identifiers": [{"type": "phone", "value": phone}],
                       "attributes": {"name": self._spelled(p.name)},
                       "vehicles": [{"vin": vehicle.vin, "relation": "VEHICLE_RELATION_SERVICE",
                                     "plate": vehicle.plate}]}
        if p.app_user_id:
            romanized = PINYIN.get(p.name[0])
            name = (f"{romanized} {p.name[1:]}" if romanized and rng.random() < 0.1
                    else p.name)
            ids = [{"type": "app_user_id", "value": p.app_user_id},
                   {"type": "phone", "value": phone}]
            if rng.random() < 0.5:  # signed in with WeChat
                ids.append({"type": "wechat_unionid", "scope": "brand-open", "value": p.unionid})
            if p.device_id:
                ids.append({"type": "device_id", "value": p.device_id})
            yield {"source": "app", "sourceRecordId": self._id("app"), "identifiers": ids,
                   "attributes": {"name": name, **common}}
        if rng.random() < 0.6:
            yield {"source": "wechat", "sourceRecordId": self._id("wechat"),
                   "identifiers": [{"type": "wechat_openid", "scope": rng.choice(WECHAT_APPS),
                                    "value": f"o{rng.getrandbits(80):020x}"},
                                   {"type": "wechat_unionid", "scope": "brand-open",
                                    "value": p.unionid}]
                   + ([{"type": "phone", "value": phone}] if rng.random() < 0.4 else []),
                   "attributes": {"city": p.city[0]}}
        if not p.vehicles and rng.random() < 0.5:
            yield self._lead(p, "test_drive", p.family_phone or phone)
        if rng.random() < 0.35:
            yield self._lead(p, "media", phone)

    def _lead(self, p: Person, source: str, phone: str) -> dict[str, object]:
        rng = self.rng
        r = rng.random()
        if r < 0.02:
            phone = rng.choice(PLACEHOLDERS)
        elif r < 0.08:
            phone = rng.choice(self.consultant_phones)  # the consultant's own phone
        elif r < 0.09:
            phone = rng.choice(self.fleet_phones)
        honorific = "先生" if p.gender == "M" else "女士"
        name = p.name[0] + honorific if source == "media" and rng.random() < 0.6 \
            else self._spelled(p.name)
        return {"source": source, "sourceRecordId": self._id(source),
                "identifiers": [{"type": "phone", "value": phone}],
                "attributes": {"name": name, "city": p.city[0]}}

    def _invalid(self) -> dict[str, object]:
        """A row the service must refuse: a malformed phone, or no record id."""
        if self.rng.random() < 0.5:
            return {"source": "media", "sourceRecordId": self._id("media"),
                    "identifiers": [{"type": "phone", "value": "1391234567"}]}
        return {"source": "crm", "identifiers": [{"type": "crm_id", "value": "C?"}]}

    def __iter__(self) -> Iterator[Labeled]:
        produced = 0
        while produced < self.target:
            for person in self._household():
                for record in self._records(person):
                    if produced >= self.target:
                        return
                    if self.rng.random() < 0.002:
                        yield Labeled(self._invalid(), "")
                    else:
                        yield Labeled(record, person.entity)
                    produced += 1


def write(records: int, out: Path, truth: Path | None = None, seed: int = 7) -> int:
    """Write `records` rows as JSON Lines (and the truth as CSV); answers the row count."""
    rows = 0
    with out.open("w", encoding="utf-8") as sink:
        truth_file = truth.open("w", encoding="utf-8", newline="") if truth else None
        writer = csv.writer(truth_file) if truth_file else None
        if writer:
            writer.writerow(("source", "source_record_id", "entity"))
        for labeled in Generator(records, seed):
            sink.write(json.dumps(labeled.record, ensure_ascii=False, separators=(",", ":"))
                       + "\n")
            if writer and labeled.entity:
                writer.writerow((labeled.record["source"], labeled.record["sourceRecordId"],
                                 labeled.entity))
            rows += 1
        if truth_file:
            truth_file.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(write(args.records, args.out, args.truth, args.seed), "rows written to", args.out)


if __name__ == "__main__":
    main()
