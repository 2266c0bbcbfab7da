"""The notebooks' experiments: data, training loops and evaluations that the notebooks run and
``python -m benchmarks learning`` runs at full size.

Each module exposes ``learning_results(quick=False)``, a generator of records
``{"notebook", "experiment", "model", "metric", "value", "seconds"}``; the graded functions it
trains with are passed in, so no reference of a notebook's own exercises is embedded here.
"""
