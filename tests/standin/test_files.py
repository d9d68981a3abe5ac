"""Uploads, file_id reuse, getFile + download, photo sizes, and size limits."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image
from telegram import Bot
from telegram.error import BadRequest, NetworkError

from demo.standin.client import StandinClient, StandinError
from demo.standin.files import PHOTO_SIDES
from tests.standin.helpers import assert_clean, image_bytes


async def test_send_document_upload_and_download_roundtrip(
    bot: Bot, client: StandinClient, chat: int
) -> None:
    payload = os.urandom(300_000)
    sent = await bot.send_document(chat, document=payload, filename="证明.pdf")
    assert_clean(sent)
    document = sent.document
    assert document.file_name == "证明.pdf" and document.mime_type == "application/pdf"
    assert document.file_size == len(payload) and document.thumbnail is None

    file = await bot.get_file(document.file_id)
    assert_clean(file)
    assert file.file_path.startswith(bot.base_file_url) and file.file_path.endswith(".pdf")
    assert bytes(await file.download_as_bytearray()) == payload
    assert await client.download(document.file_id) == payload

    again = await bot.send_document(chat, document=document.file_id)
    assert again.document.file_id == document.file_id
    with pytest.raises(BadRequest, match="(?i)type of file mismatch"):
        await bot.send_photo(chat, photo=document.file_id)
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_document(chat, document="no-such-file-id")


async def test_send_photo_upload_gives_sizes_and_downloads(
    bot: Bot, client: StandinClient, chat: int
) -> None:
    sent = await bot.send_photo(chat, photo=image_bytes(900, 1200), caption="<i>照片</i>", parse_mode="HTML")
    assert_clean(sent)
    assert sent.caption == "照片" and sent.caption_entities[0].type == "italic"
    sizes = sent.photo
    assert [max(size.width, size.height) for size in sizes] == [90, 320, 800, 1200]
    assert (sizes[-1].width, sizes[-1].height) == (900, 1200)
    data = bytes(await (await bot.get_file(sizes[-1].file_id)).download_as_bytearray())
    assert Image.open(io.BytesIO(data)).format == "JPEG"
    assert data == await client.download(sizes[-1].file_id)

    resent = await bot.send_photo(chat, photo=sizes[0].file_id)
    assert [size.file_id for size in resent.photo] == [size.file_id for size in sizes]
    with pytest.raises(BadRequest, match="(?i)image_process_failed"):
        await bot.send_photo(chat, photo=b"definitely not an image", filename="x.jpg")


async def test_send_video_note_upload_and_download(bot: Bot, chat: int) -> None:
    payload = os.urandom(50_000)
    sent = await bot.send_video_note(chat, video_note=payload, length=240, duration=3)
    assert_clean(sent)
    note = sent.video_note
    assert note.length == 240 and note.file_size == len(payload)
    assert bytes(await (await bot.get_file(note.file_id)).download_as_bytearray()) == payload


async def test_user_photo_has_telegram_like_sizes(bot: Bot, client: StandinClient) -> None:
    original = image_bytes(2000, 1500, "JPEG")
    sent = await client.send_photo(7, original, caption="自拍")
    message = sent["message"]
    assert [(p["width"], p["height"]) for p in message["photo"]] == [
        (90, 68), (320, 240), (800, 600), (1280, 960), (2000, 1500)
    ]  # fmt: skip
    assert len(PHOTO_SIDES) + 1 == len(message["photo"])
    [update] = await bot.get_updates()
    assert_clean(update)
    largest = update.message.photo[-1]
    assert (largest.width, largest.height) == (2000, 1500) and update.message.caption == "自拍"
    data = bytes(await (await largest.get_file()).download_as_bytearray())
    assert Image.open(io.BytesIO(data)).size == (2000, 1500)

    view = (await client.messages(7))[0]
    assert [f["kind"] for f in view["files"]] == ["photo"] * 5
    assert await client.download(view["files"][-1]["url"]) == data


async def test_small_photo_is_not_upscaled(client: StandinClient) -> None:
    sent = await client.send_photo(7, image_bytes(300, 200))
    assert [(p["width"], p["height"]) for p in sent["message"]["photo"]] == [(90, 60), (300, 200)]


async def test_photo_as_document_and_non_image_photo(bot: Bot, client: StandinClient) -> None:
    original = image_bytes(640, 480, "PNG")
    as_file = (await client.send_photo(7, original, filename="scan.png", as_document=True))["message"]
    assert "photo" not in as_file
    assert as_file["document"]["file_name"] == "scan.png" and as_file["document"]["mime_type"] == "image/png"
    assert as_file["document"]["thumbnail"]["width"] == 320
    assert await client.download(as_file["document"]["file_id"]) == original

    not_image = (
        await client.send_photo(7, b"%PDF-1.4 fake", filename="form.pdf", mime_type="application/pdf")
    )["message"]
    assert not_image["document"]["file_name"] == "form.pdf" and "thumbnail" not in not_image["document"]
    updates = await bot.get_updates()
    for update in updates:
        assert_clean(update)
    assert [u.message.document.file_name for u in updates] == ["scan.png", "form.pdf"]


async def test_user_document_and_video_note(bot: Bot, client: StandinClient) -> None:
    doc = await client.send_document(7, b"a,b\n1,2\n", "名单.csv", "text/csv", caption="名单")
    note = await client.send_video_note(7, b"\x00\x00\x00\x18ftypmp42", duration=9)
    assert doc["message"]["document"]["mime_type"] == "text/csv"
    assert note["message"]["video_note"] == {**note["message"]["video_note"], "duration": 9, "length": 384}
    updates = await bot.get_updates()
    for update in updates:
        assert_clean(update)
    assert updates[0].message.document.file_name == "名单.csv" and updates[0].message.caption == "名单"
    video_note = updates[1].message.video_note
    assert bytes(await (await video_note.get_file()).download_as_bytearray()) == b"\x00\x00\x00\x18ftypmp42"


async def test_60_mb_upload_is_refused_and_server_survives(
    bot: Bot, client: StandinClient, chat: int
) -> None:
    big = bytes(60 * 1024 * 1024)
    with pytest.raises(NetworkError, match="Request Entity Too Large"):
        await bot.send_document(chat, document=big, filename="big.bin", write_timeout=60)
    with pytest.raises(StandinError) as refused:
        await client.send_document(chat, big, "big.bin")
    assert refused.value.status == 413
    assert await client.health()
    assert (await bot.send_message(chat, "still alive")).text == "still alive"
    calls = await client.calls("sendDocument")
    assert [c["error_code"] for c in calls] == [413]


async def test_get_file_refuses_files_over_20_mb(bot: Bot, client: StandinClient) -> None:
    sent = await client.send_document(7, bytes(21 * 1024 * 1024), "archive.zip", "application/zip")
    with pytest.raises(BadRequest, match="(?i)file is too big"):
        await bot.get_file(sent["message"]["document"]["file_id"])
