"""The landing data contract: the extracts and reference tables users drop in the data directory.

`DIR/landing/<extract>/load_date=YYYY-MM-DD/*.parquet` for each extract and
`DIR/reference/<table>.parquet` for each reference table (the README documents the layout). Columns
carry TPC-DS names with natural keys; `load_date` is the partition folder, never a column in a file.
The dbt sources (models/staging/tpcds/_tpcds__sources.yml) declare the same columns with their types; a
test keeps the two in step.
"""

from __future__ import annotations

LANDING_DIR = "landing"
REFERENCE_DIR = "reference"
PARTITION_COLUMN = "load_date"

EXTRACTS: tuple[str, ...] = ("customer_address", "item", "store_sales")
REFERENCE_TABLES: tuple[str, ...] = ("customer", "store", "date_dim")

ADDRESS_COLUMNS: tuple[str, ...] = (
    "ca_address_id",
    "ca_street_number",
    "ca_street_name",
    "ca_street_type",
    "ca_suite_number",
    "ca_city",
    "ca_county",
    "ca_state",
    "ca_zip",
    "ca_country",
    "ca_gmt_offset",
    "ca_location_type",
)
ITEM_COLUMNS: tuple[str, ...] = (
    "i_item_id",
    "i_item_desc",
    "i_current_price",
    "i_wholesale_cost",
    "i_brand_id",
    "i_brand",
    "i_class_id",
    "i_class",
    "i_category_id",
    "i_category",
    "i_manufact_id",
    "i_manufact",
    "i_size",
    "i_formulation",
    "i_color",
    "i_units",
    "i_container",
    "i_manager_id",
    "i_product_name",
)
# The store sales measures are defined once, in dbt (macros/store_sales_measures.sql, with their modeled types);
# tests/models/test_landing_contract.py holds this copy to it.
SALES_MEASURES: tuple[str, ...] = (
    "ss_quantity",
    "ss_wholesale_cost",
    "ss_list_price",
    "ss_sales_price",
    "ss_ext_discount_amt",
    "ss_ext_sales_price",
    "ss_ext_wholesale_cost",
    "ss_ext_list_price",
    "ss_ext_tax",
    "ss_coupon_amt",
    "ss_net_paid",
    "ss_net_paid_inc_tax",
    "ss_net_profit",
)
SALES_COLUMNS: tuple[str, ...] = (
    "sold_date",
    "i_item_id",
    "c_customer_id",
    "ca_address_id",
    "s_store_id",
    "ss_ticket_number",
    *SALES_MEASURES,
)
EXTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_address": ADDRESS_COLUMNS,
    "item": ITEM_COLUMNS,
    "store_sales": SALES_COLUMNS,
}
