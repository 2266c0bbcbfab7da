"""The course's speed: what a student feels, measured. Run ``python -m benchmarks``.

See ``benchmarks/__main__.py`` for the command, ``browser.py`` (widget latency and notebooks in
JupyterLab, headless Chromium), ``kernel.py`` (every explorer's move in its kernel, no
browser: ``python -m benchmarks kernel``), ``notebooks.py`` (run times), ``reference.py``
(utils against PyTorch) and ``report.py`` (tables, latest.md, latest.png).
"""
