"""The public check page over real HTTP: a genuine certificate, a revoked one, a tampered
number, something that is not a number, in Chinese and English; markup typed into the form
comes back as text; a machine guessing codes is stopped after a few tries a minute."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.training.helpers import (
    SUPERVISOR,
    Clock,
    add_staff,
    pass_the_exam,
    training_service,
)
from web.certificate_check import CHECKS_PER_MINUTE, add_certificate_check


async def test_the_public_page_checks_a_certificate_and_says_so_kindly(uow_factory):
    await add_staff(uow_factory)
    clock = Clock()
    training = training_service(uow_factory, clock)
    certificate = await pass_the_exam(training, clock)
    parent = web.Application()
    add_certificate_check(parent, training)
    async with TestClient(TestServer(parent)) as client:
        page = await client.get("/training/check")
        text = await page.text()
        assert page.status == 200 and "培训合格证书查验" in text and 'name="code"' in text
        assert page.headers["Cache-Control"] == "no-store"

        valid = await (
            await client.get(
                "/training/check", params={"number": certificate.number, "code": certificate.code}
            )
        ).text()
        assert "✅ 证书有效" in valid and "李*华" in valid and "李建华" not in valid
        english = await (
            await client.get(
                "/training/check",
                params={"number": certificate.number, "code": certificate.code, "lang": "en"},
            )
        ).text()
        assert "✅ Valid" in english and "held by 李*华" in english

        tampered = certificate.number[:-1] + ("1" if certificate.number[-1] != "1" else "2")
        wrong = await (
            await client.get("/training/check", params={"number": tampered, "code": certificate.code})
        ).text()
        assert "查不到这张证书" in wrong and "李" not in wrong.split("<form")[0].split("</h1>")[1]
        odd = await (
            await client.get("/training/check", params={"number": "<script>x</script>", "code": "1"})
        ).text()
        assert "编号的格式不对" in odd and "<script>x" not in odd and "&lt;script&gt;" in odd

        await training.revoke(SUPERVISOR, certificate.number, "代考")
        revoked = await (
            await client.get(
                "/training/check", params={"number": certificate.number, "code": certificate.code}
            )
        ).text()
        assert "⚠️ 证书已撤销" in revoked

        # Five checks so far from this address; the limit stops the rest of the minute.
        statuses = []
        for n in range(CHECKS_PER_MINUTE):
            reply = await client.get(
                "/training/check", params={"number": certificate.number, "code": f"X{n}"}
            )
            statuses.append("查验次数太多" in await reply.text())
        assert statuses.count(True) == 5 and statuses[:5] == [False] * 5
