"""Spreadsheets: the sheet format (``columns``), import in steps (``parse``, ``validate``, ``apply``,
run by ``imports``; ``plan`` holds what they share), ``export``, and ``files`` (the .xlsx and .csv
file formats)."""
