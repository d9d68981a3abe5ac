"""The article library: short explanations, each with its source (law and article).

The texts are in the catalogs (publicity.po): `publicity.article.<id>.title`, `.body` and
`.source`. Facts marked UNVERIFIED in the reference are labelled "commonly applied" in the
texts, or left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.profiles import Role


@dataclass(frozen=True)
class Article:
    id: str
    topic: str


TOPICS: tuple[str, ...] = ("certification", "fraud", "employer", "audit")

ARTICLES: tuple[Article, ...] = (
    Article("remote_certification", "certification"),
    Article("suspension", "certification"),
    Article("fraud", "fraud"),
    Article("employer_duties", "employer"),
    Article("audit", "audit"),
)

# The topics offered to each role (and that a role's subscribers may follow).
ROLE_TOPICS: dict[Role, tuple[str, ...]] = {
    Role.RETIREE: ("certification", "fraud"),
    Role.EMPLOYER: ("employer", "audit", "fraud"),
    Role.STAFF: TOPICS,
}

# What a retiree whose certification falls due is offered to read.
DUE_ARTICLES: tuple[str, ...] = ("remote_certification", "suspension")


def topics_for(role: Role | None) -> tuple[str, ...]:
    return ROLE_TOPICS.get(role, TOPICS) if role else TOPICS


def articles_in(topic: str) -> list[Article]:
    return [article for article in ARTICLES if article.topic == topic]


def article(article_id: str) -> Article | None:
    return next((a for a in ARTICLES if a.id == article_id), None)
