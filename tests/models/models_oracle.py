"""A plain-Python statement of DESIGN.md's data semantics, applied one load date at a time.

The model tests compare the dbt marts after a sequence of daily runs with what these rules give, so
the SQL is checked against an independent reading of the spec (and range runs against the sequence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from landing import JULIAN_OF_EPOCH, STORES, Day, customer_id

REGIONS = dict(
    tuple(line.split(",", 1))
    for line in (Path(__file__).resolve().parents[2] / "seeds" / "country_regions.csv").read_text().splitlines()[1:]
)

Row = dict[str, Any]

ADDRESS_ATTRIBUTES = (
    "ca_street_number", "ca_street_name", "ca_street_type", "ca_suite_number", "ca_city", "ca_county",
    "ca_state", "ca_zip", "ca_country", "ca_gmt_offset", "ca_location_type",
)  # fmt: skip
ITEM_ATTRIBUTES = (
    "i_item_desc", "i_wholesale_cost", "i_brand_id", "i_brand", "i_class_id", "i_class", "i_category_id",
    "i_category", "i_manufact_id", "i_manufact", "i_size", "i_formulation", "i_color", "i_units",
    "i_container", "i_manager_id", "i_product_name",
)  # fmt: skip
MEASURES = (
    "ss_quantity", "ss_wholesale_cost", "ss_list_price", "ss_sales_price", "ss_ext_discount_amt",
    "ss_ext_sales_price", "ss_ext_wholesale_cost", "ss_ext_list_price", "ss_ext_tax", "ss_coupon_amt",
    "ss_net_paid", "ss_net_paid_inc_tax", "ss_net_profit",
)  # fmt: skip


def nulls_last(values: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
    return tuple((value is None, value if value is not None else 0) for value in values)


@dataclass
class Oracle:
    addresses: dict[str, Row] = field(default_factory=dict)
    item_versions: list[Row] = field(default_factory=list)
    facts: list[Row] = field(default_factory=list)

    def load(self, history: dict[date, Day]) -> None:
        for day in sorted(history):
            self.load_day(day, history[day])

    def load_day(self, day: date, extracts: Day) -> None:
        self._addresses(day, [a.row() for a in extracts.addresses])
        self._items(day, [i.row() for i in extracts.items])
        self.facts = [f for f in self.facts if f["ss_sold_date"] != day]
        self._sales(day, [s.row(day) for s in extracts.sales])

    def _addresses(self, day: date, rows: list[Row]) -> None:
        picked: dict[str, Row] = {}
        for row in sorted(rows, key=lambda r: nulls_last([r[a] for a in ADDRESS_ATTRIBUTES])):
            picked.setdefault(row["ca_address_id"], row)
        next_key = max((a["ca_address_sk"] for a in self.addresses.values()), default=0)
        for address_id in sorted(picked):
            row = {a: picked[address_id][a] for a in ADDRESS_ATTRIBUTES}
            if address_id in self.addresses:
                self.addresses[address_id].update(row, ca_last_load_date=day)
            else:
                next_key += 1
                self.addresses[address_id] = {
                    "ca_address_sk": next_key,
                    "ca_address_id": address_id,
                    **row,
                    "ca_first_load_date": day,
                    "ca_last_load_date": day,
                }

    def _items(self, day: date, rows: list[Row]) -> None:
        picked: dict[str, Row] = {}
        ordered = sorted(
            rows,
            key=lambda r: (
                (r["i_current_price"] is None, -(r["i_current_price"] or 0)),
                nulls_last([r[a] for a in ITEM_ATTRIBUTES]),
            ),
        )
        for row in ordered:
            picked.setdefault(row["i_item_id"], row)
        next_key = max((v["i_item_sk"] for v in self.item_versions), default=0)
        for item_id in sorted(picked):
            row = picked[item_id]
            attributes = {a: row[a] for a in ITEM_ATTRIBUTES}
            current = [v for v in self.item_versions if v["i_item_id"] == item_id and v["i_rec_end_date"] is None]
            if current and current[0]["i_current_price"] == row["i_current_price"]:
                current[0].update(attributes, i_last_load_date=day)
                continue
            if current:
                current[0]["i_rec_end_date"] = day - timedelta(days=1)
            next_key += 1
            self.item_versions.append(
                {
                    "i_item_sk": next_key,
                    "i_item_id": item_id,
                    "i_rec_start_date": day,
                    "i_rec_end_date": None,
                    "i_current_price": row["i_current_price"],
                    **attributes,
                    "i_last_load_date": day,
                }
            )

    def _item_key(self, item_id: str | None, day: date) -> int:
        for version in self.item_versions:
            end = version["i_rec_end_date"]
            if version["i_item_id"] == item_id and version["i_rec_start_date"] <= day and (end is None or day <= end):
                return int(version["i_item_sk"])
        return -1

    def _sales(self, day: date, rows: list[Row]) -> None:
        distinct: dict[tuple[Any, ...], Row] = {tuple(sorted(r.items(), key=str)): r for r in rows}
        lines = sorted(
            distinct.values(),
            key=lambda r: (
                r["ss_ticket_number"],
                r["i_item_id"] or "",
                nulls_last([r[m] for m in MEASURES] + [r["c_customer_id"], r["ca_address_id"], r["s_store_id"]]),
            ),
        )
        customers = {customer_id(n): n for n in range(1, 6)}
        numbers: dict[tuple[int, str | None], int] = {}
        for line in lines:
            group = (line["ss_ticket_number"], line["i_item_id"])
            numbers[group] = numbers.get(group, 0) + 1
            address = self.addresses.get(line["ca_address_id"] or "")
            stores = [
                s.s_store_sk
                for s in STORES
                if s.s_store_id == line["s_store_id"]
                and (s.s_rec_start_date is None or s.s_rec_start_date <= day)
                and (s.s_rec_end_date is None or day <= s.s_rec_end_date)
            ]
            self.facts.append(
                {
                    "ss_sold_date": day,
                    "ss_sold_date_sk": JULIAN_OF_EPOCH + (day - date(1970, 1, 1)).days,
                    "ss_item_sk": self._item_key(line["i_item_id"], day),
                    "ss_customer_sk": customers.get(line["c_customer_id"] or "", -1),
                    "ss_addr_sk": address["ca_address_sk"] if address else -1,
                    "ss_store_sk": stores[0] if stores else -1,
                    "ss_ticket_number": line["ss_ticket_number"],
                    "ss_item_id": line["i_item_id"],
                    "ss_line_number": numbers[group],
                    **{m: line[m] for m in MEASURES},
                }
            )

    def dim_customer_address(self) -> list[tuple[Any, ...]]:
        unknown = (-1, "unknown", *([None] * len(ADDRESS_ATTRIBUTES)), date(1900, 1, 1), date(1900, 1, 1))
        rows = [tuple(a.values()) for a in self.addresses.values()]
        return sorted([unknown, *rows], key=lambda r: r[0])

    def dim_item(self) -> list[tuple[Any, ...]]:
        unknown = (-1, "unknown", date(1900, 1, 1), None, None, *([None] * len(ITEM_ATTRIBUTES)), date(1900, 1, 1))
        rows = [tuple(v.values()) for v in self.item_versions]
        return sorted([unknown, *rows], key=lambda r: r[0])

    def fct_store_sales(self) -> list[tuple[Any, ...]]:
        return sorted(
            (tuple(f.values()) for f in self.facts),
            key=lambda r: (r[0], r[6], r[7] is None, r[7] or "", r[8]),
        )

    def rpt_daily_store_sales(self) -> list[tuple[Any, ...]]:
        """Orders (distinct tickets), lines and sums per sale day and store version key."""
        groups: dict[tuple[date, int], list[Row]] = {}
        for fact in self.facts:
            groups.setdefault((fact["ss_sold_date"], fact["ss_store_sk"]), []).append(fact)
        stores = {store.s_store_sk: store for store in STORES}
        rows = []
        for (day, store_sk), facts in sorted(groups.items()):
            store = stores.get(store_sk)
            attributes = (
                (store.s_store_id, f"store {store.s_store_sk}", store.s_city, "Williamson County", store.s_state)
                if store
                else (None,) * 5
            )
            rows.append(
                (
                    day,
                    store_sk,
                    *attributes,
                    len({f["ss_ticket_number"] for f in facts}),
                    len(facts),
                    *(
                        total(f[m] for f in facts)
                        for m in ("ss_quantity", "ss_ext_sales_price", "ss_net_paid", "ss_net_profit")
                    ),
                )
            )
        return rows

    def rpt_weekly_region_sales(self) -> list[tuple[Any, ...]]:
        """Per week (Monday) and region; a partial week's change against the same weekdays of the week before."""
        stores = {store.s_store_sk: store for store in STORES}

        def region(fact: Row) -> str:
            store = stores.get(fact["ss_store_sk"])
            return REGIONS.get(store.s_country, "Unknown") if store else "Unknown"

        def monday(day: date) -> date:
            return day - timedelta(days=day.weekday())

        sale_days = {fact["ss_sold_date"] for fact in self.facts}
        groups: dict[tuple[date, str], list[Row]] = {}
        for fact in self.facts:
            groups.setdefault((monday(fact["ss_sold_date"]), region(fact)), []).append(fact)
        rows = []
        for (week, name), facts in sorted(groups.items()):
            days = sorted(day for day in sale_days if monday(day) == week)
            prior_facts = [f for f in self.facts if region(f) == name and f["ss_sold_date"] + timedelta(days=7) in days]
            sales = total(f["ss_ext_sales_price"] for f in facts)
            prior = total(f["ss_ext_sales_price"] for f in prior_facts) if prior_facts else None
            change = sales - prior if sales is not None and prior is not None else None
            pct = (
                Decimal(repr(round(100 * float(change) / float(prior), 6))).quantize(Decimal("0.01"), ROUND_HALF_UP)
                if change is not None and prior
                else None
            )
            rows.append(
                (
                    week,
                    name,
                    len(days),
                    len(days) < 7,
                    len({f["ss_store_sk"] for f in facts}),
                    len({f["ss_ticket_number"] for f in facts}),
                    sales,
                    total(f["ss_net_paid"] for f in facts),
                    total(f["ss_net_profit"] for f in facts),
                    prior,
                    change,
                    pct,
                )
            )
        return rows


def total(values: Any) -> Any:
    """SQL's sum: NULLs ignored, NULL when nothing is left."""
    present = [value for value in values if value is not None]
    return sum(present[1:], present[0]) if present else None


def as_decimal(value: Any) -> Any:
    return Decimal(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
