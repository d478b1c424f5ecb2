"""A file a platform hands over as a URL (Zalo's photos, a Zalo OA's attachments), downloaded
with the bot's limit: a declared size past it is refused before reading, and the bytes are
counted as they come (a declared size can lie)."""

from __future__ import annotations

import aiohttp

from bot.services.evidence import FetchFailed, TooLarge, read_limited

__all__ = ["download"]


async def download(session: aiohttp.ClientSession, url: str, max_bytes: int) -> bytes:
    try:
        async with session.get(url) as response:
            if response.status != 200:
                raise FetchFailed(f"HTTP {response.status}")
            if (response.content_length or 0) > max_bytes:
                raise TooLarge(f"{response.content_length} bytes")
            return await read_limited(response.content.iter_chunked(65536), max_bytes)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise FetchFailed(type(exc).__name__) from None
