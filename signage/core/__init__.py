"""The pure core every deployable shares: what a record is and which rules it obeys, the signed playlist
format, what may be shown at a moment, the rotation and the page planner, errors and atomic writes.

Nothing here imports Qt, Django, python-tuf or the network; the operator's tools, the screen's sync service and
the painter all build on it, and it imports none of them (tests/test_layers.py).
"""
