-- ==== run-operation create_landing_external_tables
BEGIN;

COMMIT;

create external schema if not exists landing from data catalog database 'store_sales_landing' iam_role 'arn:aws:iam::123456789012:role/store-sales-spectrum' create external database if not exists;

drop table if exists landing.customer;

create external table landing.customer (c_customer_sk bigint, c_customer_id varchar(256), c_current_cdemo_sk bigint, c_current_hdemo_sk bigint, c_current_addr_sk bigint, c_first_shipto_date_sk bigint, c_first_sales_date_sk bigint, c_salutation varchar(256), c_first_name varchar(256), c_last_name varchar(256), c_preferred_cust_flag varchar(256), c_birth_day bigint, c_birth_month bigint, c_birth_year bigint, c_birth_country varchar(256), c_login varchar(256), c_email_address varchar(256), c_last_review_date_sk integer) stored as parquet location 's3://landing-bucket/store-sales/reference/customer/';

drop table if exists landing.customer_address;

create external table landing.customer_address (ca_address_id varchar(256), ca_street_number varchar(256), ca_street_name varchar(256), ca_street_type varchar(256), ca_suite_number varchar(256), ca_city varchar(256), ca_county varchar(256), ca_state varchar(256), ca_zip varchar(256), ca_country varchar(256), ca_gmt_offset numeric(5,2), ca_location_type varchar(256)) partitioned by (load_date date) stored as parquet location 's3://landing-bucket/store-sales/landing/customer_address/';

drop table if exists landing.date_dim;

create external table landing.date_dim (d_date_sk bigint, d_date_id varchar(256), d_date date, d_month_seq bigint, d_week_seq bigint, d_quarter_seq bigint, d_year bigint, d_dow bigint, d_moy bigint, d_dom bigint, d_qoy bigint, d_fy_year bigint, d_fy_quarter_seq bigint, d_fy_week_seq bigint, d_day_name varchar(256), d_quarter_name varchar(256), d_holiday varchar(256), d_weekend varchar(256), d_following_holiday varchar(256), d_first_dom bigint, d_last_dom bigint, d_same_day_ly bigint, d_same_day_lq bigint, d_current_day varchar(256), d_current_week varchar(256), d_current_month varchar(256), d_current_quarter varchar(256), d_current_year varchar(256)) stored as parquet location 's3://landing-bucket/store-sales/reference/date_dim/';

drop table if exists landing.item;

create external table landing.item (i_item_id varchar(256), i_item_desc varchar(256), i_current_price numeric(7,2), i_wholesale_cost numeric(7,2), i_brand_id bigint, i_brand varchar(256), i_class_id bigint, i_class varchar(256), i_category_id bigint, i_category varchar(256), i_manufact_id bigint, i_manufact varchar(256), i_size varchar(256), i_formulation varchar(256), i_color varchar(256), i_units varchar(256), i_container varchar(256), i_manager_id bigint, i_product_name varchar(256)) partitioned by (load_date date) stored as parquet location 's3://landing-bucket/store-sales/landing/item/';

drop table if exists landing.store;

create external table landing.store (s_store_sk bigint, s_store_id varchar(256), s_rec_start_date date, s_rec_end_date date, s_closed_date_sk bigint, s_store_name varchar(256), s_number_employees bigint, s_floor_space bigint, s_hours varchar(256), s_manager varchar(256), s_market_id bigint, s_geography_class varchar(256), s_market_desc varchar(256), s_market_manager varchar(256), s_division_id bigint, s_division_name varchar(256), s_company_id bigint, s_company_name varchar(256), s_street_number varchar(256), s_street_name varchar(256), s_street_type varchar(256), s_suite_number varchar(256), s_city varchar(256), s_county varchar(256), s_state varchar(256), s_zip varchar(256), s_country varchar(256), s_gmt_offset numeric(5,2), s_tax_percentage numeric(5,2)) stored as parquet location 's3://landing-bucket/store-sales/reference/store/';

drop table if exists landing.store_sales;

create external table landing.store_sales (sold_date date, i_item_id varchar(256), c_customer_id varchar(256), ca_address_id varchar(256), s_store_id varchar(256), ss_ticket_number bigint, ss_quantity bigint, ss_wholesale_cost numeric(7,2), ss_list_price numeric(7,2), ss_sales_price numeric(7,2), ss_ext_discount_amt numeric(7,2), ss_ext_sales_price numeric(7,2), ss_ext_wholesale_cost numeric(7,2), ss_ext_list_price numeric(7,2), ss_ext_tax numeric(7,2), ss_coupon_amt numeric(7,2), ss_net_paid numeric(7,2), ss_net_paid_inc_tax numeric(7,2), ss_net_profit numeric(7,2)) partitioned by (load_date date) stored as parquet location 's3://landing-bucket/store-sales/landing/store_sales/';
