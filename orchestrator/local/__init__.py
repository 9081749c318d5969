"""The local mode: the emulator that deploys and runs the definition on moto, moto's adaptations, and the
TPC-DS sample data. Imports the foundation, the runtime and the definition."""
