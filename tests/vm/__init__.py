"""tests/vm is a package so its conftest imports as vm.conftest and does not shadow tests/conftest.py
(which the e2e tests import as `conftest`)."""
