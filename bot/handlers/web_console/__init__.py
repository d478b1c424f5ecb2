"""The staff's web console, on the bot's one web server (aiohttp, Jinja2 templates, no script
from elsewhere: it works on a closed network). A presentation of the same use cases as the
chat (``bot.domain.usecases``): what an account may do is read from the permissions table
(``bot.domain.permissions``) on the server, at every request.

One module per concern: ``auth`` (sign-in, sessions, CSRF), ``review`` (the queue, a
declaration, the decisions), ``reports`` (the dashboard and its workbooks), ``citizens``,
``broadcasts``, ``staff``, ``verify`` (a letter's public verification page), over ``view``
(templates, texts, people and times in words); ``channel_pages`` mounts the pages a channel
adds (its description's ``web_console`` module). This module only builds them and routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.domain.permissions import Action, scope_of
from bot.domain.usecases.roles import Role
from bot.handlers.web_console.auth import Sessions
from bot.handlers.web_console.broadcasts import Broadcasts
from bot.handlers.web_console.campaign import CampaignPages
from bot.handlers.web_console.channel_pages import ChannelPages, channel_modules
from bot.handlers.web_console.citizens import Citizens
from bot.handlers.web_console.reports import Reports
from bot.handlers.web_console.review import Review
from bot.handlers.web_console.staff import StaffPages
from bot.handlers.web_console.verify import Verify
from bot.handlers.web_console.view import HERE, View

if TYPE_CHECKING:
    from bot.app import App
    from bot.handlers.web import WebServer

__all__ = ["WebConsole"]


class WebConsole:
    """The console's routes on ``web_server``; every page but signing in and the public
    verification page is served through the session guard."""

    def __init__(self, app: App, web_server: WebServer) -> None:
        channel_pages = channel_modules()
        self.view = view = View(app, {name: folder for name, _, folder in channel_pages})
        sessions, review, reports = Sessions(view), Review(view), Reports(view)
        citizens, broadcasts, staff = Citizens(view), Broadcasts(view), StaffPages(view)
        campaign = CampaignPages(view)
        add, guard = web_server.add, sessions.guard
        add("GET", "/console/signin/{token}", sessions.sign_in_page)
        add("POST", "/console/signin/{token}", sessions.sign_in)
        add("POST", "/console/signout", guard(sessions.sign_out))
        add("GET", "/console/", guard(review.queue))
        add("GET", "/console/d/{id}", guard(review.page))
        add("GET", "/console/bulk", guard(review.bulk))
        add("POST", "/console/bulk", guard(review.bulk_approve))
        add("POST", "/console/d/{id}/adjust", guard(review.adjust))
        add("POST", "/console/d/{id}/decide", guard(review.decide))
        add("POST", "/console/d/{id}/undo", guard(review.undo))
        add("POST", "/console/d/{id}/release", guard(review.release))
        add("GET", "/console/file/{id}/{sha256}", guard(review.file))
        add("GET", "/console/dashboard", guard(reports.dashboard))
        add("GET", "/console/report.xlsx", guard(reports.report_xlsx))
        add("GET", "/console/export.xlsx", guard(reports.export_xlsx))
        add("GET", "/console/list/{name}.xlsx", guard(reports.list_xlsx))
        add("GET", "/console/citizens", guard(citizens.search))
        add("GET", "/console/citizens/{id}", guard(citizens.history))
        add("GET", "/console/broadcasts", guard(broadcasts.compose))
        add("POST", "/console/broadcasts/preview", guard(broadcasts.preview))
        add("POST", "/console/broadcasts/send", guard(broadcasts.send))
        add("GET", "/console/broadcasts/{id}", guard(broadcasts.report))
        add("POST", "/console/broadcasts/{id}/cancel", guard(broadcasts.cancel))
        add("POST", "/console/broadcasts/{id}/resend", guard(broadcasts.resend))
        add("GET", "/console/broadcasts/{id}/delivery.xlsx", guard(broadcasts.delivery_xlsx))
        add("GET", "/console/staff", guard(staff.page))
        add("POST", "/console/staff/invite", guard(staff.invite))
        add("GET", "/console/orgs", guard(campaign.orgs))
        add("POST", "/console/orgs", guard(campaign.add_org))
        add("GET", "/console/reminders", guard(campaign.reminders))
        add("POST", "/console/reminders", guard(campaign.change_reminder))
        add("POST", "/console/staff/{id}/revoke", guard(staff.revoke))
        for name, module, _ in channel_pages:  # the channels' own pages: add_pages(pages)
            module.add_pages(ChannelPages(view, sessions, web_server, name))
        add("GET", "/console/static/console.css", _stylesheet)
        add("GET", "/v/{token}", Verify(view).page)

    def _ward_choices(self, role: Role) -> list[tuple[str, str]]:
        """The wards the queue's filter offers ``role``, in Vietnamese order."""
        return self.view.ward_choices(scope_of(role, Action.QUEUE))


async def _stylesheet(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(HERE / "static" / "console.css")
    response.headers["Cache-Control"] = "max-age=3600"
    return response
