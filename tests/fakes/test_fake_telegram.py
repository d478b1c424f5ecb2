"""The fake Bot API server answers the request encodings real clients use."""

from __future__ import annotations

import aiohttp

from tests.fakes.telegram_api import TOKEN, FakeTelegram


async def test_json_form_encoded_and_unknown_methods() -> None:
    fake = await FakeTelegram().start()
    try:
        base = f"{fake.url}/bot{TOKEN}"
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/sendMessage", json={"chat_id": 5, "text": "a"}) as r:
                assert (await r.json())["result"]["text"] == "a"
            form = {"chat_id": "5", "text": "b", "reply_markup": '{"remove_keyboard": true}'}
            async with http.post(f"{base}/sendMessage", data=form) as r:
                assert (await r.json())["result"]["message_id"] == 2
            async with http.post(f"{base}/noSuchMethod") as r:
                assert r.status == 404
            async with http.post(f"{fake.url}/bot1:wrong/getMe") as r:
                assert r.status == 401
        assert [p["text"] for p in fake.sent(5)] == ["a", "b"]
        assert fake.sent(5)[1]["reply_markup"] == {"remove_keyboard": True}
    finally:
        await fake.stop()
