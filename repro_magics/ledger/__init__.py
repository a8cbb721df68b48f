"""The ledger file beside a notebook: its store, journal, schema, encoded values and checks."""
