"""The bucket lifecycle rules this app recommends, merged with the rules a bucket already has.

Recommended (after the storage guide): expire temporary files no job needs (under the temp
prefix and tagged `shorts-desktop-expire=yes`: uploads carry the tag, jobs clear it while
they need the file) after S3_CLEANUP_TEMP_HOURS rounded up to whole days (S3 counts
days), abort incomplete multipart uploads after 7 days
(a paused upload survives a night, a forgotten one stops being billed), and move the
permanent prefixes to STANDARD_IA after 30 days. Our rules are told apart by their ID
prefix `shorts-desktop-`; merging replaces only those and keeps every other rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from shorts_desktop.core.config import Settings
from shorts_desktop.core.storage.base import EXPIRE_TAG, Storage

RULE_PREFIX = "shorts-desktop-"
ABORT_MULTIPART_DAYS = 7
TRANSITION_DAYS = 30
TRANSITION_CLASS = "STANDARD_IA"

Rule = dict[str, Any]

_CLASS_WORDS = {
    "STANDARD_IA": "Standard-Infrequent Access",
    "ONEZONE_IA": "One Zone-Infrequent Access",
    "INTELLIGENT_TIERING": "Intelligent-Tiering",
    "GLACIER": "Glacier Flexible Retrieval",
    "GLACIER_IR": "Glacier Instant Retrieval",
    "DEEP_ARCHIVE": "Glacier Deep Archive",
}


def temp_expiry_days(settings: Settings) -> int:
    """S3_CLEANUP_TEMP_HOURS in whole days, rounded up: the bucket never deletes sooner."""
    return max(1, math.ceil(settings.cleanup_temp_hours / 24))


def recommended_rules(settings: Settings) -> list[Rule]:
    """The rules the app suggests for a bucket laid out with `settings`' prefixes."""
    rules: list[Rule] = [
        {
            "ID": f"{RULE_PREFIX}expire-temp",
            "Filter": {"And": {
                "Prefix": settings.temp_prefix,
                "Tags": [{"Key": EXPIRE_TAG, "Value": "yes"}],
            }},
            "Status": "Enabled",
            "Expiration": {"Days": temp_expiry_days(settings)},
        },
        {
            "ID": f"{RULE_PREFIX}abort-incomplete-multipart",
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
        },
    ]
    for name, prefix in (
        ("videos", settings.videos_prefix),
        ("transcripts", settings.transcripts_prefix),
        ("processed", settings.processed_prefix),
    ):
        rules.append(
            {
                "ID": f"{RULE_PREFIX}archive-{name}",
                "Filter": {"Prefix": prefix},
                "Status": "Enabled",
                "Transitions": [{"Days": TRANSITION_DAYS, "StorageClass": TRANSITION_CLASS}],
            }
        )
    return rules


def is_ours(rule: Mapping[str, Any]) -> bool:
    return str(rule.get("ID", "")).startswith(RULE_PREFIX)


def merge_rules(existing: Sequence[Mapping[str, Any]], recommended: Sequence[Rule]) -> list[Rule]:
    """The bucket's own rules (kept as they are, in order) followed by ours.

    Rules whose ID starts with `shorts-desktop-` are ours and replaced; a rule of the
    bucket's that happens to carry the same ID as a recommended one is replaced too, as
    S3 refuses two rules with one ID.
    """
    ids = {str(r.get("ID", "")) for r in recommended}
    kept = [dict(r) for r in existing if not is_ours(r) and str(r.get("ID", "")) not in ids]
    return kept + [dict(r) for r in recommended]


def _scope(rule: Mapping[str, Any]) -> str:
    raw_filter = rule.get("Filter")
    prefix: str | None = None
    tags: list[str] = []
    if isinstance(raw_filter, Mapping):
        if "Prefix" in raw_filter:
            prefix = str(raw_filter["Prefix"])
        if isinstance(raw_filter.get("Tag"), Mapping):
            tag = raw_filter["Tag"]
            tags.append(f"{tag.get('Key')}={tag.get('Value')}")
        if isinstance(raw_filter.get("And"), Mapping):
            both = raw_filter["And"]
            if "Prefix" in both:
                prefix = str(both["Prefix"])
            for tag in both.get("Tags", []) or []:
                if isinstance(tag, Mapping):
                    tags.append(f"{tag.get('Key')}={tag.get('Value')}")
    elif "Prefix" in rule:  # the old, filter-less form
        prefix = str(rule["Prefix"])
    ours = f"{EXPIRE_TAG}=yes"
    if ours in tags:  # the app's own tag: a temporary upload that no unfinished job uses
        tags.remove(ours)
        where = "temporary files no job needs" + (f" (under {prefix})" if prefix else "")
    else:
        where = f"files under {prefix}" if prefix else "all files"
    if tags:
        where += " tagged " + ", ".join(tags)
    return where


def _days(n: Any) -> str:
    return "1 day" if n == 1 else f"{n} days"


def describe_rule(rule: Mapping[str, Any]) -> str:
    """One plain sentence for a lifecycle rule, such as the Cleanup panel lists."""
    scope = _scope(rule)
    actions: list[str] = []
    expiration = rule.get("Expiration")
    if isinstance(expiration, Mapping):
        if "Days" in expiration:
            actions.append(f"delete {scope} {_days(expiration['Days'])} after upload")
        elif "Date" in expiration:
            actions.append(f"delete {scope} on {expiration['Date']}")
        elif expiration.get("ExpiredObjectDeleteMarker"):
            actions.append("remove delete markers left without versions")
    for transition in rule.get("Transitions", []) or []:
        if isinstance(transition, Mapping):
            cls = str(transition.get("StorageClass", "?"))
            when = (
                f"{_days(transition['Days'])} after upload"
                if "Days" in transition
                else f"on {transition.get('Date')}"
            )
            actions.append(f"move {scope} to {_CLASS_WORDS.get(cls, cls)} {when}")
    abort = rule.get("AbortIncompleteMultipartUpload")
    if isinstance(abort, Mapping):
        where = "" if scope == "all files" else f" for {scope}"
        actions.append(
            f"abort unfinished multipart uploads{where} "
            f"{_days(abort.get('DaysAfterInitiation'))} after they start"
        )
    noncurrent = rule.get("NoncurrentVersionExpiration")
    if isinstance(noncurrent, Mapping):
        actions.append(
            f"delete old versions of {scope} {_days(noncurrent.get('NoncurrentDays'))} after "
            "they are replaced"
        )
    if not actions:
        actions.append(f"a rule for {scope} that this app cannot describe")
    text = "; ".join(actions)
    text = text[0].upper() + text[1:]
    if rule.get("Status", "Enabled") != "Enabled":
        text += " (disabled)"
    return f"{text}."


def apply_recommended(settings: Settings, storage: Storage) -> list[Rule]:
    """Put the merged rules on the bucket; returns the rules the bucket now has."""
    merged = merge_rules(storage.get_lifecycle_rules(), recommended_rules(settings))
    storage.put_lifecycle_rules(merged)
    return [dict(r) for r in storage.get_lifecycle_rules()]
