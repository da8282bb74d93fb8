"""The seed catalogue: the data-analytics stack used by the demo and by seeding.

Excel analysis, then SQL fundamentals, then Python for data add up to a Data Analyst
certificate. Identifiers live under ``base`` so each installation owns its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from credstack.domain.achievements import Achievement, Alignment, Criteria, Price


@dataclass(frozen=True, slots=True)
class Stack:
    name: str
    components: tuple[Achievement, ...]
    certificate: Achievement


def _micro(
    base: str, slug: str, name: str, description: str, hours: float, skill: str
) -> Achievement:
    return Achievement(
        id=f"{base}/achievements/{slug}",
        name=name,
        description=description,
        criteria=Criteria(
            narrative=f"Complete {hours:g} hours of guided work and pass the assessed project.",
        ),
        achievement_type="MicroCredential",
        alignments=(
            Alignment(
                target_name=skill,
                target_url=f"{base}/competencies/{slug}",
                target_type="ceasn:Competency",
            ),
        ),
        credits_available=1.0,
        tags=("data analytics", slug.split("-", maxsplit=1)[0]),
        learning_hours=hours,
        price=Price(amount="149.00", currency="EUR"),
        level="EQF 5",
        ects=2.0,
    )


def data_analyst_stack(base: str) -> Stack:
    components = (
        _micro(
            base,
            "excel-analysis",
            "Excel Analysis",
            "Clean, summarise and chart business data with spreadsheets and pivot tables.",
            20,
            "analyse data",
        ),
        _micro(
            base,
            "sql-fundamentals",
            "SQL Fundamentals",
            "Query relational databases: joins, aggregation, window functions.",
            25,
            "SQL",
        ),
        _micro(
            base,
            "python-for-data",
            "Python for Data",
            "Load, transform and visualise data with Python and pandas.",
            30,
            "Python (computer programming)",
        ),
    )
    certificate = Achievement(
        id=f"{base}/achievements/data-analyst-certificate",
        name="Data Analyst Certificate",
        description="Awarded for completing the Excel, SQL and Python micro-credentials.",
        criteria=Criteria(
            narrative="Earn all three micro-credentials of the data-analytics stack."
        ),
        achievement_type="Certificate",
        credits_available=3.0,
        tags=("data analytics", "stack"),
        learning_hours=75,
        level="EQF 5",
        ects=6.0,
    )
    return Stack("Data Analyst", components, certificate)


def cybersecurity_stack(base: str) -> Stack:
    components = (
        _micro(
            base,
            "network-security-basics",
            "Network Security Basics",
            "Segment networks, configure firewalls and read packet captures.",
            20,
            "network security",
        ),
        _micro(
            base,
            "incident-response",
            "Incident Response",
            "Detect, contain and report security incidents with a playbook.",
            25,
            "incident response",
        ),
        _micro(
            base,
            "secure-coding",
            "Secure Coding",
            "Find and fix the OWASP Top 10 in web applications.",
            30,
            "secure coding",
        ),
    )
    certificate = Achievement(
        id=f"{base}/achievements/security-analyst-certificate",
        name="Security Analyst Certificate",
        description="Awarded for completing the three cybersecurity micro-credentials.",
        criteria=Criteria(narrative="Earn all three micro-credentials of the cybersecurity stack."),
        achievement_type="Certificate",
        credits_available=3.0,
        tags=("cybersecurity", "stack"),
        learning_hours=75,
        level="EQF 5",
        ects=6.0,
    )
    return Stack("Security Analyst", components, certificate)
