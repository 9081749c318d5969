"""The local mode: the emulator that deploys and runs the definition on moto, moto's adaptations, the TPC-DS
sample data, and the dbt-duckdb plugin that gives the local target's macros the landing's rules
(`duckdb_functions`). Imports the foundation, the landing, the runtime and the definition."""
