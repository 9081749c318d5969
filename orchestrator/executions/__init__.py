"""Executions of the deployed state machine: start (with the overlap guard), watch, history, the local
journal, and the triggers (daily schedule, arrival, deadline check). Imports the foundation and the runtime."""
