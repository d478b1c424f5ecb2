"""The public verification page of a recognition letter (``/v/<token>``): what anyone who
scans the letter's QR code reads, without signing in. It claims no more than the letter."""

from __future__ import annotations

from aiohttp import web

from bot.handlers.web_console.view import Pages
from bot.services.letters import ward_in_sentence

__all__ = ["Verify"]


class Verify(Pages):
    async def page(self, request: web.Request) -> web.StreamResponse:
        locale = self.view.locale_of(request)
        letters = self.app.services.letters
        if letters is None:
            raise web.HTTPNotFound()
        async with self.app.store.transaction() as uow:
            found = await letters.verify(uow, request.match_info["token"][:60])
        province = ward_in_sentence(self.app.wards.province_name, locale)
        return self.view.render(locale, "verify.html", found=found, province_in_sentence=province)
