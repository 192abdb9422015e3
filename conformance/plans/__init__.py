"""Tracking plans: the plan records and loader, the reference generator of tracking functions (``generate.py``), and the wrapper checker with its mutants (``wrapper.py``, ``mutants.py``)."""
