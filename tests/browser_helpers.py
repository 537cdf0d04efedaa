"""Headless Chromium (Debian's, from `make browser`) driven by Selenium, for tests of the pages
the project writes. Without Chromium a test skips on a developer machine and fails in CI (`CI`
set), so CI never passes silently."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# The closed network refuses anything else Chromium would reach out for on start.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1366,900")


def require_chromium() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = f"{CHROMIUM} / {CHROMEDRIVER} missing: `make browser` installs Debian's chromium"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium(page: Path, profile: Path) -> Iterator:
    """A Chromium webdriver with `page` open; quit at the end of the block."""
    from selenium import webdriver

    require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
        driver = webdriver.Chrome(options=options,
                                  service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        driver.get(page.as_uri())
        yield driver
    finally:
        driver.quit()
