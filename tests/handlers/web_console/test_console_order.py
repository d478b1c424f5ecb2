"""The web console lists units in Vietnamese order, as the printed lists do («Phường Ái Quốc»
before «Phường Việt Hòa», «Phường Chí Linh» before «Phường Chu Văn An»), not in code points."""

from __future__ import annotations

from bot.app import App
from bot.domain.usecases.roles import Role
from bot.handlers.web import WebServer
from bot.handlers.web_console import WebConsole


def test_the_ward_choices_are_in_vietnamese_order(app: App) -> None:
    console = WebConsole(app, WebServer("127.0.0.1", 0))
    names = [name for _, name in console._ward_choices(Role("console:boss", None, True))]
    assert len(names) == 114
    assert names.index("Phường Ái Quốc") < names.index("Phường Việt Hòa")
    assert names.index("Phường Chí Linh") < names.index("Phường Chu Văn An")
    assert names.index("Phường Hải An") < names.index("Phường Hưng Đạo")
    assert names.index("Phường Đông Hải") > names.index("Phường Dương Kinh")  # đ after d
    assert names[-1].startswith("Xã")  # «Đặc khu …» is not last for its code point
