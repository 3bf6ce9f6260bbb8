"""Helpers for driving the console in Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.stack import ADMIN_TOKEN

__all__ = ["Page"]


class Page:
    """The browser, with the waits and looks a console test needs."""

    def __init__(self, driver: Any, base_url: str, shots: Path) -> None:
        self.driver = driver
        self.base = base_url
        self.shots = shots

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str, timeout_s: float = 20) -> WebElement:
        return WebDriverWait(self.driver, timeout_s).until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, css))
        )

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_text(self, css: str, text: str, timeout_s: float = 30) -> WebElement:
        WebDriverWait(self.driver, timeout_s).until(
            ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
        )
        return self.find(css)

    def wait(self, predicate: Any, timeout_s: float = 30, what: str = "") -> Any:
        return WebDriverWait(self.driver, timeout_s, poll_frequency=0.2).until(
            lambda _: predicate(), message=what
        )

    def text(self, css: str) -> str:
        """An element's text, visible or not (e.g. an empty <pre>)."""
        return self.driver.find_element(By.CSS_SELECTOR, css).get_attribute("textContent")

    def count(self, css: str) -> int:
        return len(self.all(css))

    def click(self, css: str) -> None:
        WebDriverWait(self.driver, 20).until(
            ec.element_to_be_clickable((By.CSS_SELECTOR, css))
        ).click()

    def fill(self, css: str, value: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(value)

    def choose(self, css: str, value: str) -> None:
        select = Select(self.find(css))
        try:
            select.select_by_value(value)
        except Exception:  # noqa: BLE001 - an option without a value attribute
            select.select_by_visible_text(value)

    def set_script(self, source: str) -> None:
        self.find(".CodeMirror")
        self.driver.execute_script(
            "document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])", source
        )

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def sign_in(self, token: str = ADMIN_TOKEN) -> None:
        self.open("/ui/sign-in")
        self.fill("#token", token)
        self.click("#sign-in")

    def csp_violations(self) -> list[str]:
        logs = self.driver.get_log("browser")
        return [e["message"] for e in logs if "Content Security Policy" in e["message"]]
