"""Store Sales pipeline orchestrator: dbt graph -> Step Functions, run locally or on AWS."""

__version__ = "0.1.0"
