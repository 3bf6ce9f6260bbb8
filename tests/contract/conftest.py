"""The console's fixtures (its server, a browser), for the /ui/api page test."""

from tests.console.conftest import browser, console, screenshots  # noqa: F401 - fixtures
