"""Streamlit dashboard over the published warehouse (read-only).

`app.py` is the entry file (`governance dashboard` or `make dashboard` runs it), `views/` holds
one module per page with a ``render()`` function, `charts.py` builds the Altair charts and
`data.py` is the only module that knows table and column names.
"""
