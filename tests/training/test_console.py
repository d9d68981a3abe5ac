"""The console's training pages over real HTTP: a supervisor of the prefecture sees the team's
training and revokes a certificate (with the CSRF token); a district clerk sees the team but
cannot revoke; the course reads in full."""

from __future__ import annotations

from sqlalchemy import update

from storage.models.certification import StaffMember
from tests.checkplan.helpers import COLLEAGUE_USER, STAFF_USER
from tests.console.helpers import CSRF, serve_console
from tests.training.helpers import COURSE, pass_the_exam, training_service


async def test_the_team_page_and_a_supervisors_revocation(uow_factory, vault):
    async with serve_console(uow_factory, vault) as console:
        async with uow_factory() as uow:
            await uow.session.execute(
                update(StaffMember)
                .where(StaffMember.telegram_user_id == STAFF_USER)
                .values(role="supervisor")
            )
            await uow.commit()
        training = training_service(uow_factory, console.stack.clock)
        certificate = await pass_the_exam(training, console.stack.clock, COLLEAGUE_USER, wrong=1)

        async with console.browser() as clerk:
            await console.signed_in(clerk, COLLEAGUE_USER)
            async with clerk.get(console.url + "/console/training") as response:
                page = await response.text()
            assert "员工S2" in page and certificate.number in page and "19/20 合格" in page
            assert f"{len(COURSE.lessons)}/{len(COURSE.lessons)}" in page and "3 ✓" in page
            assert "撤销证书" not in page  # a clerk revokes nothing
            token = CSRF.search(page)
            assert token is not None
            async with clerk.post(
                console.url + "/console/training/revoke",
                data={"number": certificate.number, "reason": "x", "csrf": token.group(1)},
            ) as response:
                assert "只有证书所属地区的主管可以撤销证书" in await response.text()

            async with clerk.get(console.url + "/console/training/course") as response:
                course = await response.text()
            assert COURSE.lessons[0].titles["zh_Hans"] in course and "第1天" in course

        async with console.browser() as supervisor:
            page = await console.signed_in(supervisor, STAFF_USER)
            async with supervisor.get(console.url + "/console/training") as response:
                page = await response.text()
            assert "撤销证书" in page
            token = CSRF.search(page)
            assert token is not None
            forged = {"number": certificate.number, "reason": "代考", "csrf": "x" * 43}
            async with supervisor.post(console.url + "/console/training/revoke", data=forged) as response:
                assert response.status == 403
            real = {**forged, "csrf": token.group(1)}
            async with supervisor.post(console.url + "/console/training/revoke", data=real) as response:
                page = await response.text()
            assert "证书已撤销，原因已记录" in page and "（已撤销）" in page
            token = CSRF.search(page)
            assert token is not None and "记录集中培训出勤" in page
            day = {"staff_number": "S2", "day": "2026-02-09", "csrf": token.group(1)}
            async with supervisor.post(console.url + "/console/training/classroom", data=day) as response:
                assert "已记录：这一天算作一天培训" in await response.text()
            bad = {**day, "day": "yesterday"}
            async with supervisor.post(console.url + "/console/training/classroom", data=bad) as response:
                assert response.status == 400
        check = await training.check(certificate.number, certificate.code)
        assert check.result.value == "revoked"
