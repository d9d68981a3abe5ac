"""The article library: every article in both languages, with its source."""

from __future__ import annotations

from accounts.profiles import Role
from bot.handlers.publicity import article_text
from content.i18n import Translator, message_ids
from content.publicity.articles import ARTICLES, DUE_ARTICLES, TOPICS, articles_in, topics_for


def test_every_article_has_title_body_and_source_in_both_languages():
    for language in ("zh_Hans", "en"):
        ids = message_ids(language)
        for article in ARTICLES:
            for part in ("title", "body", "source"):
                assert f"publicity.article.{article.id}.{part}" in ids, (language, article.id, part)
        for topic in TOPICS:
            assert f"publicity.topic.{topic}" in ids


def test_sources_name_the_law_and_article():
    en, zh = Translator("en"), Translator("zh_Hans")
    assert "Art. 88" in en("publicity.article.fraud.source")
    assert "第八十八条" in zh("publicity.article.fraud.source")
    assert "Art. 86" in en("publicity.article.employer_duties.source")
    assert "第16号" in zh("publicity.article.audit.source")
    # The resumption of payment is common practice, and says so.
    assert "commonly applied" in en("publicity.article.suspension.source")
    assert "普遍做法" in zh("publicity.article.suspension.source")
    text = article_text(en, "fraud")
    assert text.startswith("⚠️ False claiming is fraud") and "📖 Source: Social Insurance Law" in text


def test_topics_follow_the_role_and_due_articles_are_about_certification():
    assert topics_for(Role.RETIREE) == ("certification", "fraud")
    assert "employer" in topics_for(Role.EMPLOYER) and "certification" not in topics_for(Role.EMPLOYER)
    assert set(topics_for(Role.STAFF)) == set(TOPICS)
    assert all(a.topic == "certification" for a in ARTICLES if a.id in DUE_ARTICLES)
    assert [a.id for a in articles_in("audit")] == ["audit"]
