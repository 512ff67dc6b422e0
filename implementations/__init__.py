"""conv2d implementations the suite runs against itself.

``correct``: independent, correct ways to compute conv2d; the suite must pass
them (no false alarms).  ``broken``: deliberately wrong ones, each with the
properties that must catch it (no property that cannot fail).
"""
