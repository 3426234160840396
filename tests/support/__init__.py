"""Helpers the tests share: plain modules, imported as `support.<name>` (the pytest settings put
tests/ on the path). Fixtures stay in the conftest files; what fixtures and tests call is here."""
