"""Measurements of the project, run by ``make bench``; never timed assertions in the test suite."""
