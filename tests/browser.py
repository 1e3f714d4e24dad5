"""Headless Chromium for the browser tests (tests/test_site.py, tests/test_jupyterlab.py), from Debian's packages."""

from __future__ import annotations

import os
import shutil

import pytest

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000")


def chromium_driver(*extra_flags: str):
    """A selenium Chrome driver on Debian's chromium with the browser console logged; skips the test without one.

    CUELAB_REQUIRE_BROWSER=1 (set by .ci/run once apt installed the browser) makes a missing browser fail instead.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        if os.environ.get("CUELAB_REQUIRE_BROWSER") == "1":
            pytest.fail("CUELAB_REQUIRE_BROWSER=1 but chromium/chromedriver are missing (apt install chromium chromium-driver)")
        pytest.skip("chromium and chromedriver are not installed (apt install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in (*FLAGS, *extra_flags):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)
