"""Debian's Chromium (/usr/bin/chromium) driven by Playwright, for the browser tests: never a downloaded browser.

The flags keep Chromium off the network beyond the page's own (this machine's closed network refuses its background
connections, many at a time) and let it run as root in a container.
"""
import contextlib
import os
import tempfile

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CLICKSTREAM_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps"]


@contextlib.contextmanager
def chromium(**context_options):
    """A new headless Chromium with an empty profile, and a context (time zone, viewport...) in it."""
    with tempfile.TemporaryDirectory(prefix="clickstream-chromium-") as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                                args=FLAGS, **context_options)
        try:
            yield browser
        finally:
            browser.close()


def waiting_in(page):
    """A sleep (in seconds) spent inside the page: Playwright's synchronous API runs the page's handlers (routes,
    listeners) only while it is called, so a test waiting on them must wait this way, not with time.sleep."""
    return lambda seconds: page.wait_for_timeout(seconds * 1000)
