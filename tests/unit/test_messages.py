"""Learner emails (award notice, expiry reminders) and when reminders are due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from credstack.domain.errors import Invalid
from credstack.domain.messages import (
    DEFAULT_REMINDER_DAYS,
    Email,
    award_email,
    check_email_address,
    due_reminders,
    reminder_email,
)

CREDENTIAL_URL = "https://issuer.example/credentials/3f2a"
CLAIM_URL = "https://issuer.example/claim/3f2a?token=abc&lang=de"
VALID_UNTIL = datetime(2026, 6, 30, tzinfo=UTC)
SCRIPT = "<script>alert('x')</script>"


def award(**overrides: str | None) -> Email:
    args: dict[str, str | None] = {
        "learner_email": "juergen@example.org",
        "learner_name": "Jürgen",
        "achievement_name": "Data Literacy",
        "issuer_name": "Open University",
        "claim_url": CLAIM_URL,
        "credential_url": CREDENTIAL_URL,
    }
    args.update(overrides)
    return award_email(**args)  # type: ignore[arg-type]


def reminder(days_left: int = 30, renew_url: str | None = None, **overrides: str) -> Email:
    args = {
        "learner_email": "juergen@example.org",
        "achievement_name": "Data Literacy",
        "issuer_name": "Open University",
        "credential_url": CREDENTIAL_URL,
        **overrides,
    }
    return reminder_email(valid_until=VALID_UNTIL, days_left=days_left, renew_url=renew_url, **args)


# --- award_email ---------------------------------------------------------------------------


def test_award_email_is_addressed_to_the_learner_and_names_achievement_and_issuer() -> None:
    email = award()
    assert email.to == "juergen@example.org"
    assert email.subject == "You have earned Data Literacy from Open University"
    assert "Hello Jürgen," in email.text
    assert "Open University" in email.text


def test_award_email_carries_the_claim_link_in_both_bodies() -> None:
    email = award()
    assert email.html is not None
    assert CLAIM_URL in email.text
    assert 'href="https://issuer.example/claim/3f2a?token=abc&amp;lang=de"' in email.html
    assert CREDENTIAL_URL in email.text
    assert CREDENTIAL_URL in email.html


def test_award_email_escapes_script_tags_in_every_interpolated_name() -> None:
    email = award(learner_name=SCRIPT, achievement_name=SCRIPT, issuer_name=SCRIPT)
    assert email.html is not None
    assert "<script" not in email.html
    assert email.html.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") >= 3
    assert SCRIPT in email.text  # the plain-text body shows the name as it is


def test_award_email_html_loads_no_external_resources() -> None:
    html = award().html
    assert html is not None
    assert "<img" not in html
    assert "src=" not in html
    assert "<link" not in html


def test_award_email_greets_without_a_name_when_the_name_is_missing_or_blank() -> None:
    assert award(learner_name=None).text.startswith("Hello,\n")
    assert award(learner_name="  ").text.startswith("Hello,\n")


def test_award_email_dedupe_key_is_the_credential_url() -> None:
    assert award().dedupe_key == f"award:{CREDENTIAL_URL}"


def test_award_email_subject_stays_one_line_when_a_name_contains_newlines() -> None:
    email = award(achievement_name="Data\r\nBcc: victim@example.org")
    assert email.subject == "You have earned Data Bcc: victim@example.org from Open University"


@pytest.mark.parametrize("field", ["claim_url", "credential_url"])
@pytest.mark.parametrize("url", ["javascript:alert(1)", "issuer.example/claim", 'https://x/"a'])
def test_award_email_rejects_links_that_are_not_plain_http_urls(field: str, url: str) -> None:
    with pytest.raises(Invalid, match=field):
        award(**{field: url})


def test_award_email_rejects_an_invalid_address_naming_it() -> None:
    with pytest.raises(Invalid, match="not-an-address") as info:
        award(learner_email="not-an-address")
    assert info.value.code == "email.invalid"


# --- reminder_email ------------------------------------------------------------------------


def test_reminder_email_states_the_days_left_and_the_expiry_date() -> None:
    email = reminder(days_left=7)
    assert email.subject == "Your credential Data Literacy expires in 7 days"
    assert "expires on 2026-06-30." in email.text
    assert email.html is not None
    assert "2026-06-30" in email.html


def test_reminder_email_shows_a_time_of_day_in_utc_when_not_midnight() -> None:
    cest = timezone(timedelta(hours=2))
    email = reminder_email(
        learner_email="a@example.org",
        achievement_name="A",
        issuer_name="I",
        valid_until=datetime(2026, 6, 30, 14, 30, tzinfo=cest),
        days_left=1,
        renew_url=None,
        credential_url=CREDENTIAL_URL,
    )
    assert email.subject == "Your credential A expires in 1 day"
    assert "expires on 2026-06-30 12:30 UTC." in email.text


def test_reminder_email_links_the_renewal_page_when_there_is_one() -> None:
    email = reminder(renew_url="https://issuer.example/renew/3f2a")
    assert email.html is not None
    assert "https://issuer.example/renew/3f2a" in email.text
    assert 'href="https://issuer.example/renew/3f2a"' in email.html


def test_reminder_email_without_a_renewal_page_points_to_the_issuer() -> None:
    email = reminder(renew_url=None)
    assert "Contact Open University if you need to renew it." in email.text


def test_reminder_email_escapes_script_tags_in_names() -> None:
    email = reminder(achievement_name=SCRIPT, issuer_name=SCRIPT)
    assert email.html is not None
    assert "<script" not in email.html
    assert "&lt;script&gt;" in email.html


def test_reminder_email_dedupe_key_names_credential_and_offset() -> None:
    assert reminder(days_left=30).dedupe_key == f"reminder:{CREDENTIAL_URL}:30"
    assert reminder(days_left=7).dedupe_key != reminder(days_left=30).dedupe_key


def test_reminder_email_rejects_a_naive_expiry() -> None:
    with pytest.raises(Invalid, match="valid_until"):
        reminder_email(
            learner_email="a@example.org",
            achievement_name="A",
            issuer_name="I",
            valid_until=datetime(2026, 6, 30),
            days_left=7,
            renew_url=None,
            credential_url=CREDENTIAL_URL,
        )


def test_reminder_email_rejects_a_negative_day_count() -> None:
    with pytest.raises(Invalid, match="days_left"):
        reminder(days_left=-1)


# --- Email and addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "a@example.org",
        "first.last+tag@sub.example.co.uk",
        "o'brien@example.ie",
        "x@xn--bcher-kva.de",
    ],
)
def test_check_email_address_accepts_ordinary_addresses(address: str) -> None:
    assert check_email_address(address) == address


@pytest.mark.parametrize(
    "address",
    [
        "",
        "plain",
        "a@b",
        "a b@example.org",
        "a@example.org\r\nBcc: x@example.org",
        "a@example.org, b@example.org",
        "Name <a@example.org>",
        ".a@example.org",
        "a..b@example.org",
        "a@-example.org",
        "jürgen@example.org",
        "a@example.org\n",
        "x" * 65 + "@example.org",
    ],
)
def test_check_email_address_rejects_malformed_addresses_naming_them(address: str) -> None:
    with pytest.raises(Invalid) as info:
        check_email_address(address, "learner_email")
    assert "learner_email" in str(info.value)
    assert repr(address) in str(info.value)


def test_email_rejects_a_subject_with_a_line_break() -> None:
    with pytest.raises(Invalid, match="subject"):
        Email(to="a@example.org", subject="Hi\r\nBcc: x@example.org", text="t")


# --- due_reminders -------------------------------------------------------------------------

DAY = timedelta(days=1)
OFFSETS = (60, 30, 7)


@pytest.mark.parametrize(
    ("now", "already_sent", "expected"),
    [
        pytest.param(VALID_UNTIL - 90 * DAY, (), [], id="none due yet"),
        pytest.param(VALID_UNTIL - 60 * DAY - timedelta(seconds=1), (), [], id="a second early"),
        pytest.param(VALID_UNTIL - 60 * DAY, (), [60], id="exactly at the 60-day boundary"),
        pytest.param(VALID_UNTIL - 45 * DAY, (), [60], id="inside the 60-day window"),
        pytest.param(VALID_UNTIL - 45 * DAY, (60,), [], id="60 already sent"),
        pytest.param(VALID_UNTIL - 30 * DAY, (60,), [30], id="exactly at the 30-day boundary"),
        pytest.param(VALID_UNTIL - 20 * DAY, (60, 30), [], id="60 and 30 already sent"),
        pytest.param(VALID_UNTIL - 10 * DAY, (), [30], id="missed 60: only 30 is sent"),
        pytest.param(VALID_UNTIL - 3 * DAY, (), [7], id="missed a month: 60 and 30 skipped"),
        pytest.param(VALID_UNTIL - 3 * DAY, (60,), [7], id="missed 30: skipped"),
        pytest.param(VALID_UNTIL - 3 * DAY, (7,), [], id="7 sent: larger never sent late"),
        pytest.param(VALID_UNTIL - timedelta(seconds=1), (60, 30), [7], id="a second before"),
        pytest.param(VALID_UNTIL, (), [], id="exactly at expiry"),
        pytest.param(VALID_UNTIL + DAY, (), [], id="after expiry"),
    ],
)
def test_due_reminders_returns_the_smallest_due_offset_not_yet_sent(
    now: datetime, already_sent: tuple[int, ...], expected: list[int]
) -> None:
    assert due_reminders(VALID_UNTIL, now, OFFSETS, already_sent) == expected


def test_due_reminders_does_not_depend_on_the_order_of_the_offsets() -> None:
    now = VALID_UNTIL - 10 * DAY
    assert due_reminders(VALID_UNTIL, now, [7, 60, 30], set()) == [30]


def test_due_reminders_compares_instants_across_time_zones() -> None:
    plus_two = timezone(timedelta(hours=2))
    now = (VALID_UNTIL - 7 * DAY).astimezone(plus_two)
    assert due_reminders(VALID_UNTIL, now, OFFSETS, {60, 30}) == [7]


def test_due_reminders_with_no_offsets_is_never_due() -> None:
    assert due_reminders(VALID_UNTIL, VALID_UNTIL - DAY, [], ()) == []


def test_due_reminders_defaults_match_the_documented_offsets() -> None:
    assert DEFAULT_REMINDER_DAYS == (60, 30, 7)


def test_due_reminders_rejects_naive_datetimes() -> None:
    naive = datetime(2026, 1, 1)
    with pytest.raises(Invalid, match="now"):
        due_reminders(VALID_UNTIL, naive, OFFSETS, ())
    with pytest.raises(Invalid, match="valid_until"):
        due_reminders(naive, VALID_UNTIL, OFFSETS, ())


def test_due_reminders_rejects_negative_offsets() -> None:
    with pytest.raises(Invalid, match="offsets"):
        due_reminders(VALID_UNTIL, VALID_UNTIL - DAY, [30, -1], ())
