"""Benchmark harness for fastnn: one steady-state training step on four dense-MLP workloads.

Run ``python -m bench`` from the repository root; see ``bench/README.md``.
``bench.run.run(argv)`` is the entry point other CLIs (``fastnn bench``) call.
"""
