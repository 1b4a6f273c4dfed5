"""Operator import: a court's CSV or XLSX export in, validated records and a per-row report out.

``tabular`` reads the file under size limits, ``columns`` maps its headers, ``rows`` turns one row into a
record, and ``run`` puts them together with photos and duplicate detection.
"""

from signage.operator.importer.run import ImportOptions, import_file

__all__ = ["ImportOptions", "import_file"]
