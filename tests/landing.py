"""Small hand-made landing data in the contract layout, for the model tests.

`Landing(root)` writes `root/landing/<extract>/load_date=YYYY-MM-DD/part-0.parquet` (and an empty
`_SUCCESS` marker) for the extracts and `root/reference/<table>.parquet` for the reference tables, with
the column names and types of the landing contract (TPC-DS names, natural keys). `random_history()`
builds a seeded multi-day history with price changes, new items, changed and new addresses, unknown ids
and duplicate lines.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from orchestrator.landing.contract import SALES_MEASURES
from orchestrator.landing.gate import MARKER_FILE

MONEY = pa.decimal128(7, 2)
JULIAN_OF_EPOCH = 2440588

ADDRESS_SCHEMA = pa.schema(
    [
        ("ca_address_id", pa.string()),
        ("ca_street_number", pa.string()),
        ("ca_street_name", pa.string()),
        ("ca_street_type", pa.string()),
        ("ca_suite_number", pa.string()),
        ("ca_city", pa.string()),
        ("ca_county", pa.string()),
        ("ca_state", pa.string()),
        ("ca_zip", pa.string()),
        ("ca_country", pa.string()),
        ("ca_gmt_offset", pa.decimal128(5, 2)),
        ("ca_location_type", pa.string()),
    ]
)
ITEM_SCHEMA = pa.schema(
    [
        ("i_item_id", pa.string()),
        ("i_item_desc", pa.string()),
        ("i_current_price", MONEY),
        ("i_wholesale_cost", MONEY),
        ("i_brand_id", pa.int64()),
        ("i_brand", pa.string()),
        ("i_class_id", pa.int64()),
        ("i_class", pa.string()),
        ("i_category_id", pa.int64()),
        ("i_category", pa.string()),
        ("i_manufact_id", pa.int64()),
        ("i_manufact", pa.string()),
        ("i_size", pa.string()),
        ("i_formulation", pa.string()),
        ("i_color", pa.string()),
        ("i_units", pa.string()),
        ("i_container", pa.string()),
        ("i_manager_id", pa.int64()),
        ("i_product_name", pa.string()),
    ]
)
MONEY_MEASURES = tuple(name for name in SALES_MEASURES if name != "ss_quantity")
SALES_SCHEMA = pa.schema(
    [
        ("sold_date", pa.date32()),
        ("i_item_id", pa.string()),
        ("c_customer_id", pa.string()),
        ("ca_address_id", pa.string()),
        ("s_store_id", pa.string()),
        ("ss_ticket_number", pa.int64()),
        ("ss_quantity", pa.int64()),
        *[(name, MONEY) for name in MONEY_MEASURES],
    ]
)
CUSTOMER_SCHEMA = pa.schema(
    [
        ("c_customer_sk", pa.int64()),
        ("c_customer_id", pa.string()),
        ("c_salutation", pa.string()),
        ("c_first_name", pa.string()),
        ("c_last_name", pa.string()),
        ("c_preferred_cust_flag", pa.string()),
        ("c_birth_country", pa.string()),
        ("c_email_address", pa.string()),
    ]
)
STORE_SCHEMA = pa.schema(
    [
        ("s_store_sk", pa.int64()),
        ("s_store_id", pa.string()),
        ("s_rec_start_date", pa.date32()),
        ("s_rec_end_date", pa.date32()),
        ("s_store_name", pa.string()),
        ("s_market_id", pa.int64()),
        ("s_division_name", pa.string()),
        ("s_company_name", pa.string()),
        ("s_city", pa.string()),
        ("s_county", pa.string()),
        ("s_state", pa.string()),
        ("s_zip", pa.string()),
        ("s_country", pa.string()),
    ]
)
DATE_SCHEMA = pa.schema(
    [
        ("d_date_sk", pa.int64()),
        ("d_date", pa.date32()),
        ("d_year", pa.int64()),
        ("d_moy", pa.int64()),
        ("d_dom", pa.int64()),
        ("d_dow", pa.int64()),
        ("d_week_seq", pa.int64()),
        ("d_qoy", pa.int64()),
        ("d_day_name", pa.string()),
        ("d_quarter_name", pa.string()),
        ("d_holiday", pa.string()),
        ("d_weekend", pa.string()),
    ]
)


def natural_id(prefix: str, number: int) -> str:
    """A 16-character TPC-DS-like natural id, uppercase (the same order under every collation)."""
    return f"{prefix}{number:0{16 - len(prefix)}d}"


@dataclass(frozen=True)
class Address:
    ca_address_id: str
    ca_city: str = "Midway"
    ca_state: str = "TN"
    ca_street_name: str = "Main"
    ca_zip: str = "37001"

    def row(self) -> dict[str, object]:
        return {
            "ca_address_id": self.ca_address_id,
            "ca_street_number": "12",
            "ca_street_name": self.ca_street_name,
            "ca_street_type": "St",
            "ca_suite_number": None,
            "ca_city": self.ca_city,
            "ca_county": "Williamson County",
            "ca_state": self.ca_state,
            "ca_zip": self.ca_zip,
            "ca_country": "United States",
            "ca_gmt_offset": Decimal("-5.00"),
            "ca_location_type": "condo",
        }


@dataclass(frozen=True)
class Item:
    i_item_id: str
    i_current_price: Decimal = Decimal("10.00")
    i_category: str = "Books"
    i_product_name: str = "thing"

    def row(self) -> dict[str, object]:
        return {
            "i_item_id": self.i_item_id,
            "i_item_desc": f"description of {self.i_product_name}",
            "i_current_price": self.i_current_price,
            "i_wholesale_cost": Decimal("4.00"),
            "i_brand_id": 1001001,
            "i_brand": "brand #1",
            "i_class_id": 1,
            "i_class": "fiction",
            "i_category_id": 1,
            "i_category": self.i_category,
            "i_manufact_id": 7,
            "i_manufact": "maker",
            "i_size": "small",
            "i_formulation": None,
            "i_color": "red",
            "i_units": "Each",
            "i_container": "Unknown",
            "i_manager_id": 3,
            "i_product_name": self.i_product_name,
        }


@dataclass(frozen=True)
class Sale:
    ss_ticket_number: int
    i_item_id: str | None
    c_customer_id: str | None = None
    ca_address_id: str | None = None
    s_store_id: str | None = None
    ss_quantity: int = 1
    ss_sales_price: Decimal = Decimal("10.00")

    def row(self, day: date) -> dict[str, object]:
        amount = self.ss_sales_price * self.ss_quantity
        measures = {name: amount for name in MONEY_MEASURES}
        measures["ss_sales_price"] = self.ss_sales_price
        measures["ss_list_price"] = self.ss_sales_price
        measures["ss_wholesale_cost"] = Decimal("4.00")
        return {
            "sold_date": day,
            "i_item_id": self.i_item_id,
            "c_customer_id": self.c_customer_id,
            "ca_address_id": self.ca_address_id,
            "s_store_id": self.s_store_id,
            "ss_ticket_number": self.ss_ticket_number,
            "ss_quantity": self.ss_quantity,
            **measures,
        }


@dataclass(frozen=True)
class Store:
    s_store_sk: int
    s_store_id: str
    s_rec_start_date: date | None = date(1997, 3, 13)
    s_rec_end_date: date | None = None
    s_city: str = "Midway"
    s_state: str = "TN"
    s_country: str = "United States"

    def row(self) -> dict[str, object]:
        return {
            "s_store_sk": self.s_store_sk,
            "s_store_id": self.s_store_id,
            "s_rec_start_date": self.s_rec_start_date,
            "s_rec_end_date": self.s_rec_end_date,
            "s_store_name": f"store {self.s_store_sk}",
            "s_market_id": 1,
            "s_division_name": "Unknown",
            "s_company_name": "Unknown",
            "s_city": self.s_city,
            "s_county": "Williamson County",
            "s_state": self.s_state,
            "s_zip": "37001",
            "s_country": self.s_country,
        }


@dataclass
class Day:
    """The three extracts of one load date."""

    addresses: list[Address] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    sales: list[Sale] = field(default_factory=list)


CUSTOMER_COUNT = 5
STORES = (
    Store(1, natural_id("STORE", 1), date(1997, 3, 13), date(2002, 1, 9), s_city="Fairview"),
    Store(2, natural_id("STORE", 1), date(2002, 1, 10), None, s_city="Midway"),
    Store(3, natural_id("STORE", 2), date(1997, 3, 13), None, s_city="Toronto", s_state="ON", s_country="Canada"),
)


def customer_id(number: int) -> str:
    return natural_id("CUST", number)


class Landing:
    """Writes landing data under `root` in the contract layout."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write_reference(self, first_day: date = date(2001, 12, 1), days: int = 120) -> None:
        reference = self.root / "reference"
        reference.mkdir(parents=True, exist_ok=True)
        customers = [
            {
                "c_customer_sk": number,
                "c_customer_id": customer_id(number),
                "c_salutation": "Ms.",
                "c_first_name": f"first{number}",
                "c_last_name": f"last{number}",
                "c_preferred_cust_flag": "Y",
                "c_birth_country": "CANADA",
                "c_email_address": f"c{number}@example.com",
            }
            for number in range(1, CUSTOMER_COUNT + 1)
        ]
        _write(reference / "customer.parquet", CUSTOMER_SCHEMA, customers)
        _write(reference / "store.parquet", STORE_SCHEMA, [store.row() for store in STORES])
        dates = []
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            dates.append(
                {
                    "d_date_sk": JULIAN_OF_EPOCH + (day - date(1970, 1, 1)).days,
                    "d_date": day,
                    "d_year": day.year,
                    "d_moy": day.month,
                    "d_dom": day.day,
                    "d_dow": (day.isoweekday() % 7),
                    "d_week_seq": (day - date(1900, 1, 1)).days // 7 + 1,
                    "d_qoy": (day.month - 1) // 3 + 1,
                    "d_day_name": day.strftime("%A"),
                    "d_quarter_name": f"{day.year}Q{(day.month - 1) // 3 + 1}",
                    "d_holiday": "N",
                    "d_weekend": "Y" if day.isoweekday() >= 6 else "N",
                }
            )
        _write(reference / "date_dim.parquet", DATE_SCHEMA, dates)

    def write_day(self, day: date, extracts: Day) -> None:
        """Write (or replace) the three extracts of one load date; an empty list writes an empty file."""
        self._write_extract("customer_address", day, ADDRESS_SCHEMA, [a.row() for a in extracts.addresses])
        self._write_extract("item", day, ITEM_SCHEMA, [i.row() for i in extracts.items])
        self._write_extract("store_sales", day, SALES_SCHEMA, [s.row(day) for s in extracts.sales])

    def write_history(self, history: dict[date, Day]) -> None:
        for day, extracts in sorted(history.items()):
            self.write_day(day, extracts)

    def _write_extract(self, extract: str, day: date, schema: pa.Schema, rows: Sequence[dict[str, object]]) -> None:
        folder = self.root / "landing" / extract / f"load_date={day.isoformat()}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        _write(folder / "part-0.parquet", schema, rows)
        (folder / MARKER_FILE).touch()  # landed (an empty marker: presence only, see orchestrator.landing.gate)


def _write(path: Path, schema: pa.Schema, rows: Iterable[dict[str, object]]) -> None:
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), path)


def random_history(seed: int, first_day: date, days: int) -> dict[date, Day]:
    """A seeded history of `days` daily extracts.

    Day 1 brings a base of items and addresses; later days bring price changes (type 2), attribute-only
    changes (type 1 in place), new items and addresses, address changes, sales of items and addresses
    that only arrive later or never (unknown -> -1), NULL and unknown customer/store ids, same-day
    duplicate dimension rows and identical duplicate sales lines. Some days have no sales at all.
    """
    rng = random.Random(seed)
    items = {natural_id("ITEM", n): Item(natural_id("ITEM", n), Decimal(rng.randint(1, 9))) for n in range(1, 7)}
    addresses = {natural_id("ADDR", n): Address(natural_id("ADDR", n)) for n in range(1, 5)}
    next_item, next_address, next_ticket = 7, 5, 1
    history: dict[date, Day] = {first_day: Day(addresses=list(addresses.values()), items=list(items.values()))}
    categories = ("Books", "Music", "Sports", "Home")
    cities = ("Midway", "Fairview", "Oak Grove", "Bethel")
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        extracts = history.setdefault(day, Day())
        if offset > 0:
            for item_id in rng.sample(sorted(items), k=rng.randint(0, 3)):
                change = rng.choice(("price", "category", "same"))
                item = items[item_id]
                if change == "price":
                    item = replace(item, i_current_price=max(Decimal(1), item.i_current_price + rng.choice((1, -1, 2))))
                elif change == "category":
                    item = replace(item, i_category=rng.choice(categories))
                items[item_id] = item
                extracts.items.append(item)
            if rng.random() < 0.5:
                new_item = Item(natural_id("ITEM", next_item), Decimal(rng.randint(1, 9)))
                next_item += 1
                items[new_item.i_item_id] = new_item
                extracts.items.append(new_item)
            for address_id in rng.sample(sorted(addresses), k=rng.randint(0, 2)):
                addresses[address_id] = replace(addresses[address_id], ca_city=rng.choice(cities))
                extracts.addresses.append(addresses[address_id])
            if rng.random() < 0.5:
                new_address = Address(natural_id("ADDR", next_address), ca_city=rng.choice(cities))
                next_address += 1
                addresses[new_address.ca_address_id] = new_address
                extracts.addresses.append(new_address)
            if extracts.items and rng.random() < 0.3:
                extracts.items.append(replace(extracts.items[0], i_product_name="duplicate pick"))
            if extracts.addresses and rng.random() < 0.3:
                extracts.addresses.append(replace(extracts.addresses[0], ca_zip="99999"))
        if rng.random() < 0.15:
            continue
        for _ in range(rng.randint(1, 4)):
            ticket = next_ticket
            next_ticket += 1
            customer = rng.choice([customer_id(rng.randint(1, CUSTOMER_COUNT)), None, customer_id(99)])
            address = rng.choice([*sorted(addresses), natural_id("ADDR", next_address), None])
            store = rng.choice([STORES[0].s_store_id, STORES[2].s_store_id, natural_id("STORE", 9), None])
            for _ in range(rng.randint(1, 3)):
                item_id = rng.choice([*sorted(items), natural_id("ITEM", next_item)])
                sale = Sale(
                    ticket,
                    item_id,
                    customer,
                    address,
                    store,
                    ss_quantity=rng.randint(1, 5),
                    ss_sales_price=items[item_id].i_current_price if item_id in items else Decimal("3.00"),
                )
                extracts.sales.append(sale)
                if rng.random() < 0.1:
                    extracts.sales.append(sale)
    return history
