"""The definition: dbt's manifest -> the orchestration graph -> the plan of stages -> Step Functions ASL.
It imports only the foundation."""
