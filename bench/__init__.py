"""`make bench`: the whole performance comparison of issue 7 in one run (docs/BENCHMARKS.md).

Nothing here is imported by the application or the tests. Every phase runs in its own process
(`python -m bench.<phase>`), so each one configures Piccolo for its own database before any
ledger module is imported, and the orchestrator (`python -m bench`) only collects JSON.
"""
