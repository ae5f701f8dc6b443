"""Which tags a gc policy calls stale. Pure: tags and their ages in, decisions out.

The first rule whose glob matches a tag decides for it: beyond the newest ``keep`` of the
tags that rule matched, or older than ``max-age-days``, the tag is stale. A tag the current
plan references is never stale, and neither is one sharing its manifest with a kept tag: the
registry API deletes manifests, so deleting it would delete the kept tag too.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from buildkit_runner.config.models import GcRule


@dataclass(frozen=True)
class TagInfo:
    repository: str
    tag: str
    digest: str
    created: datetime | None

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class Decision:
    tag: TagInfo
    delete: bool
    why: str


def describe(rule: GcRule) -> str:
    parts = [f"pattern {rule.pattern!r}"]
    if rule.keep is not None:
        parts.append(f"keep {rule.keep}")
    if rule.max_age_days is not None:
        parts.append(f"max-age-days {rule.max_age_days:g}")
    return ", ".join(parts)


def decide(
    tags: Iterable[TagInfo], rules: Iterable[GcRule], protected: set[str], now: datetime
) -> list[Decision]:
    """One decision per tag of one repository."""
    rules = list(rules)
    groups: dict[int, list[TagInfo]] = {}
    decisions: dict[str, Decision] = {}
    for info in tags:
        index = next(
            (i for i, r in enumerate(rules) if fnmatch.fnmatchcase(info.tag, r.pattern)), None
        )
        if info.ref in protected:
            decisions[info.tag] = Decision(info, False, "referenced by the current plan")
        elif index is None:
            decisions[info.tag] = Decision(info, False, "no rule matches")
        else:
            groups.setdefault(index, []).append(info)

    for index, members in groups.items():
        for decision in _apply(rules[index], members, now):
            decisions[decision.tag.tag] = decision
    return _guard_shared(list(decisions.values()))


def _apply(rule: GcRule, members: list[TagInfo], now: datetime) -> list[Decision]:
    rule_text = describe(rule)
    oldest = datetime.min.replace(tzinfo=now.tzinfo)
    ordered = sorted(members, key=lambda t: t.created or oldest, reverse=True)
    result = []
    for position, info in enumerate(ordered):
        if info.created is None:
            result.append(Decision(info, False, f"{rule_text}: age unknown, kept"))
        elif rule.keep is not None and position >= rule.keep:
            result.append(Decision(info, True, f"{rule_text}: beyond the newest {rule.keep}"))
        elif rule.max_age_days is not None and now - info.created > timedelta(
            days=rule.max_age_days
        ):
            age = (now - info.created).total_seconds() / 86400
            result.append(Decision(info, True, f"{rule_text}: {age:.1f} days old"))
        else:
            result.append(Decision(info, False, f"{rule_text}: recent enough"))
    return result


def _guard_shared(decisions: list[Decision]) -> list[Decision]:
    kept = {d.tag.digest: d.tag.tag for d in decisions if not d.delete and d.tag.digest}
    guarded = []
    for d in decisions:
        if d.delete and d.tag.digest in kept:
            why = f"shares its manifest with kept tag {kept[d.tag.digest]!r}"
            d = Decision(d.tag, False, why)
        guarded.append(d)
    return sorted(guarded, key=lambda d: d.tag.tag)
