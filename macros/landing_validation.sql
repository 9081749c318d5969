{#-
  Validation of the landing files of the refresh window (DuckDB, target `local`), run by
  duckdb__create_landing_sources() before any model: a bad file stops the run before any model SQL, so
  nothing already loaded is touched. One macro per rule, each naming the file and the column:
    - landing_rule_parquet: every file of an extract must be a Parquet file the landing gate can read: the
      rule is the gate's own Python (orchestrator/landing/parquet_footer.py: PAR1 at both ends, a readable
      footer), called through the function store_sales_parquet_problem that orchestrator/local/
      duckdb_functions.py registers on the local target's connections;
    - landing_rule_declared_columns: every column declared for the extract in _tpcds__sources.yml must be in
      every file (missing column); a column the contract does not declare is ignored, with a warning naming
      the file and the column;
    - landing_rule_column_types: each column's Parquet type must convert to its declared type (wrong type);
    - landing_rule_required_columns: the columns listed in the extract's meta `required_columns` must have no
      NULL (NULL key).
  validate_landing_window applies them in that order: a file that is not Parquet stops the check at once (the
  others read its footer), and the NULL keys are only looked for in files whose columns are right.
-#}

{% macro _landing_type_rule(data_type) %}
  {#- The regular expression the DuckDB type of a file's column must match for a declared type. -#}
  {%- set integers = "U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)" -%}
  {%- if data_type == "varchar" -%}
    {{ return("VARCHAR") }}
  {%- elif data_type in ["integer", "bigint"] -%}
    {{ return(integers) }}
  {%- elif data_type.startswith("numeric") -%}
    {{ return(integers ~ "|DECIMAL\\(.*\\)|FLOAT|DOUBLE") }}
  {%- elif data_type == "date" -%}
    {{ return("DATE|TIMESTAMP.*") }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("landing validation: declared type '" ~ data_type ~ "' has no rule: add one to _landing_type_rule in macros/landing_validation.sql") }}
  {%- endif -%}
{% endmacro %}

{% macro _landing_window_files(extract_dir, window) %}
  {#-
    The Parquet files of the extract folder `extract_dir` (landing/<extract>) whose load_date folder lies in the window.
    Only the folders that share the window's date prefix are listed (a day: its own folder; a window inside a
    month: that month's; one across months: the year's or more), so what a daily run lists does not grow with
    the days landed before it.
  -#}
  {%- set start, end = window.start.isoformat(), window.end.isoformat() -%}
  {%- set shared = namespace(length=0) -%}
  {%- for position in range(start | length) if start[:position + 1] == end[:position + 1] -%}
    {%- set shared.length = position + 1 -%}
  {%- endfor -%}
  {%- set pattern = extract_dir ~ "/load_date=" ~ start[:shared.length] ~ "*/*.parquet" -%}
  {%- set query -%}
    select file
    from glob({{ _sql_string(pattern) }})
    where
      try_cast(regexp_extract(file, 'load_date=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date)
      between {{ _date_literal(window.start) }} and {{ _date_literal(window.end) }}
    order by file
  {%- endset -%}
  {{ return(run_query(query).columns[0].values() | list) }}
{% endmacro %}

{% macro _sql_file_list(files) -%}
  {%- set quoted = [] -%}
  {%- for file in files -%}
    {%- do quoted.append(_sql_string(file)) -%}
  {%- endfor -%}
  [{{ quoted | join(", ") }}]
{%- endmacro %}

{% macro _landing_rerun_advice(window) -%}
  {#- What to do about a bad file: replace it, then run the same window again (the orchestrator's command). -#}
  {%- set dates = ("--date " ~ window.start) if window.start == window.end else ("--start " ~ window.start ~ " --end " ~ window.end) -%}
  replace the file(s) named and run the same window again (python -m orchestrator run {{ dates }})
{%- endmacro %}

{% macro _landing_file_name(table, file) -%}
  {#- "<extract> <day>: <path>": a landing file named by its extract, its load date and its full path. -#}
  {%- set day = modules.re.search("load_date=([0-9]{4}-[0-9]{2}-[0-9]{2})", file) -%}
  {{ table.identifier }} {{ day.group(1) if day else "(no load date)" }}: landing file {{ file }}
{%- endmacro %}

{% macro _landing_declared(table) %}
  {#- The extract's declared columns as SQL rows (name, declared type, the type rule a file's column must match). -#}
  {%- set declared = [] -%}
  {%- for column in table.columns.values() if column.name != "load_date" -%}
    {%- do declared.append("(" ~ _sql_string(column.name) ~ ", " ~ _sql_string(column.data_type) ~ ", " ~ _sql_string(_landing_type_rule(column.data_type)) ~ ")") -%}
  {%- endfor -%}
  {{ return(declared | join(", ")) }}
{% endmacro %}

{% macro _landing_schema_imports(table, file_list) -%}
  {#- The two import CTEs of the schema rules: each file's columns (from its footer) and the declared ones. -#}
    file_columns as (

      select file_name, name, duckdb_type
      from parquet_schema({{ file_list }})
      where type is not null

    ),

    declared (name, data_type, type_rule) as (

      values {{ _landing_declared(table) }}

    )
{%- endmacro %}

{% macro landing_rule_parquet(table, file_list) %}
  {#- [file, why] for each file that is not a Parquet file the gate can read (the rule in parquet_footer.py). -#}
  {%- set unreadable -%}
    with

    files as (

      select unnest({{ file_list }}) as file_name

    ),

    checked as (

      select file_name, store_sales_parquet_problem(file_name) as problem
      from files

    ),

    final as (

      select file_name, problem
      from checked
      where problem is not null

    )

    select * from final
    order by file_name
  {%- endset -%}
  {{ return(run_query(unreadable).rows) }}
{% endmacro %}

{% macro landing_rule_declared_columns(table, file_list) %}
  {#- [file, column, problem] for each declared column a file lacks; a column no declaration names is warned. -#}
  {%- set query -%}
    with

    {{ _landing_schema_imports(table, file_list) }},

    files as (

      select distinct file_name from file_columns

    ),

    missing as (

      select
        files.file_name,
        declared.name,
        'is missing (rule: every column declared for source tpcds.{{ table.identifier }} must be in each file)' as problem,
        1 as severity
      from files
      cross join declared
      left join file_columns
        on files.file_name = file_columns.file_name and declared.name = file_columns.name
      where file_columns.name is null

    ),

    unexpected as (

      select
        file_columns.file_name,
        file_columns.name,
        'is not declared for source tpcds.{{ table.identifier }}: ignored' as problem,
        0 as severity
      from file_columns
      left join declared
        on file_columns.name = declared.name
      where declared.name is null

    ),

    final as (

      select * from missing
      union all
      select * from unexpected

    )

    select * from final
    order by severity desc, file_name, name
  {%- endset -%}
  {%- set errors = [] -%}
  {%- for row in run_query(query).rows -%}
    {%- if row[3] == 1 -%}
      {%- do errors.append([row[0], row[1], row[2]]) -%}
    {%- else -%}
      {%- do exceptions.warn(_landing_file_name(table, row[0]) ~ ": column " ~ row[1] ~ " " ~ row[2]) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(errors) }}
{% endmacro %}

{% macro landing_rule_column_types(table, file_list) %}
  {#- [file, column, problem] for each declared column whose Parquet type does not convert to its declared type. -#}
  {%- set query -%}
    with

    {{ _landing_schema_imports(table, file_list) }},

    final as (

      select
        file_columns.file_name,
        declared.name,
        'is ' || file_columns.duckdb_type || ' (rule: its type must convert to the declared ' || declared.data_type || ')' as problem
      from file_columns
      inner join declared
        on file_columns.name = declared.name
      where not regexp_full_match(file_columns.duckdb_type, declared.type_rule)

    )

    select * from final
    order by file_name, name
  {%- endset -%}
  {%- set errors = [] -%}
  {%- for row in run_query(query).rows -%}
    {%- do errors.append([row[0], row[1], row[2]]) -%}
  {%- endfor -%}
  {{ return(errors) }}
{% endmacro %}

{% macro landing_rule_required_columns(table, file_list) %}
  {#- [file, column, problem] for each file with NULLs in a column of the extract's meta `required_columns`. -#}
  {%- set errors = [] -%}
  {%- for column_name in table.meta.get("required_columns", []) -%}
    {%- set nulls -%}
      select filename, count(*) as null_rows
      from read_parquet({{ file_list }}, filename = true, union_by_name = true)
      where {{ column_name }} is null
      group by filename
      order by filename
    {%- endset -%}
    {%- for row in run_query(nulls).rows -%}
      {%- do errors.append([row[0], column_name, "is NULL on " ~ row[1] ~ " row(s) (rule: " ~ column_name ~ " identifies a line of source tpcds." ~ table.identifier ~ " and may not be NULL)"]) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(errors) }}
{% endmacro %}

{% macro _landing_rejected(message, window) %}
  {{ exceptions.raise_compiler_error("landing data rejected before any model of this task ran (it loaded nothing): " ~ message ~ ": " ~ _landing_rerun_advice(window)) }}
{% endmacro %}

{% macro validate_landing_window(table, files, window) %}
  {#- Applies the rules above to the window's `files` of one extract (the list from _landing_window_files). -#}
  {%- if files | length == 0 -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set file_list = _sql_file_list(files) -%}
  {%- set not_parquet = landing_rule_parquet(table, file_list) -%}
  {%- if not_parquet | length > 0 -%}
    {%- set named = [] -%}
    {%- for row in not_parquet -%}
      {%- do named.append(_landing_file_name(table, row[0]) ~ " is not a Parquet file: " ~ row[1]) -%}
    {%- endfor -%}
    {%- do _landing_rejected((named | join("; ")) ~ " (rule: every file of landing/" ~ table.identifier ~ "/load_date=YYYY-MM-DD/ must be Parquet, starting and ending with the bytes PAR1 around a readable footer)", window) -%}
  {%- endif -%}
  {%- set schema = landing_rule_declared_columns(table, file_list) + landing_rule_column_types(table, file_list) -%}
  {%- set found = (schema | sort(attribute="0,1", case_sensitive=true)) if schema else landing_rule_required_columns(table, file_list) -%}
  {%- if found | length > 0 -%}
    {%- set errors = [] -%}
    {%- for problem in found -%}
      {%- do errors.append(_landing_file_name(table, problem[0]) ~ ": column " ~ problem[1] ~ " " ~ problem[2]) -%}
    {%- endfor -%}
    {%- set shown = errors[:5] | join("; ") -%}
    {%- set more = (" (and " ~ (errors | length - 5) ~ " more)") if errors | length > 5 else "" -%}
    {%- do _landing_rejected(shown ~ more, window) -%}
  {%- endif -%}
{% endmacro %}
