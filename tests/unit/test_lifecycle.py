"""Recommended lifecycle rules: their shape, merging with a bucket's own rules, plain words."""

from __future__ import annotations

import pytest

from shorts_desktop.core.config import Settings, build_settings
from shorts_desktop.core.errors import UserError
from shorts_desktop.core.services.lifecycle import (
    RULE_PREFIX,
    apply_recommended,
    describe_rule,
    merge_rules,
    recommended_rules,
)
from shorts_desktop.core.storage.local import LocalStorage
from shorts_desktop.core.storage.s3 import S3Storage


def local_settings(**variables: str) -> Settings:
    return build_settings([("test", dict(variables))])


def s3_settings() -> Settings:
    return build_settings([("test", {"S3_BUCKET_NAME": "test-bucket"})])


FOREIGN = {
    "ID": "logs-expire",
    "Filter": {"Prefix": "logs/"},
    "Status": "Enabled",
    "Expiration": {"Days": 7},
}


def test_recommended_rules_follow_the_prefixes() -> None:
    rules = recommended_rules(local_settings(S3_TEMP_PREFIX="scratch/", S3_VIDEOS_PREFIX="v/"))
    by_id = {r["ID"]: r for r in rules}
    assert all(r["ID"].startswith(RULE_PREFIX) for r in rules)
    assert len(by_id) == len(rules) == 5
    temp = by_id[f"{RULE_PREFIX}expire-temp"]
    assert temp["Filter"] == {"And": {
        "Prefix": "scratch/", "Tags": [{"Key": "shorts-desktop-expire", "Value": "yes"}],
    }}
    assert temp["Expiration"] == {"Days": 1}
    assert describe_rule(temp) == (
        "Delete temporary files no job needs (under scratch/) 1 day after upload."
    )
    abort = by_id[f"{RULE_PREFIX}abort-incomplete-multipart"]
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    moved = {r["Filter"]["Prefix"] for r in rules if "Transitions" in r}
    assert moved == {"v/", "transcripts/", "processed/"}
    for rule in rules:
        if "Transitions" in rule:
            assert rule["Transitions"] == [{"Days": 30, "StorageClass": "STANDARD_IA"}]


@pytest.mark.parametrize(("hours", "days"), [("24", 1), ("1", 1), ("25", 2), ("72", 3),
                                            ("0", 1)])
def test_the_temp_rule_never_deletes_sooner_than_the_cleanup_age(hours: str, days: int) -> None:
    """S3 counts whole days: S3_CLEANUP_TEMP_HOURS is rounded up, and at least one day."""
    rules = recommended_rules(local_settings(S3_CLEANUP_TEMP_HOURS=hours))
    temp = next(r for r in rules if r["ID"] == f"{RULE_PREFIX}expire-temp")
    assert temp["Expiration"] == {"Days": days}


def test_merge_keeps_foreign_rules_and_replaces_ours() -> None:
    recommended = recommended_rules(local_settings())
    stale = {
        "ID": f"{RULE_PREFIX}expire-temp",
        "Filter": {"Prefix": "old-temp/"},
        "Status": "Enabled",
        "Expiration": {"Days": 9},
    }
    retired = {"ID": f"{RULE_PREFIX}something-we-dropped", "Filter": {"Prefix": "x/"},
               "Status": "Enabled", "Expiration": {"Days": 2}}
    merged = merge_rules([FOREIGN, stale, retired], recommended)
    assert merged[0] == FOREIGN
    assert merged[1:] == recommended
    ids = [r["ID"] for r in merged]
    assert len(ids) == len(set(ids))


def test_merge_is_idempotent() -> None:
    recommended = recommended_rules(local_settings())
    once = merge_rules([FOREIGN], recommended)
    assert merge_rules(once, recommended) == once


def test_merge_does_not_change_its_inputs() -> None:
    existing = [dict(FOREIGN)]
    merge_rules(existing, recommended_rules(local_settings()))
    assert existing == [FOREIGN]


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (FOREIGN, "Delete files under logs/ 7 days after upload."),
        (
            {"ID": "a", "Filter": {"Prefix": ""}, "Status": "Enabled",
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
            "Abort unfinished multipart uploads 1 day after they start.",
        ),
        (
            {"ID": "t", "Filter": {"Prefix": "videos/"}, "Status": "Disabled",
             "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}]},
            "Move files under videos/ to Standard-Infrequent Access 30 days after upload "
            "(disabled).",
        ),
        (
            {"ID": "g", "Filter": {"And": {"Prefix": "raw/", "Tags": [{"Key": "k", "Value": "v"}]}},
             "Status": "Enabled", "Transitions": [{"Days": 90, "StorageClass": "DEEP_ARCHIVE"}]},
            "Move files under raw/ tagged k=v to Glacier Deep Archive 90 days after upload.",
        ),
        ({"ID": "old", "Prefix": "tmp/", "Status": "Enabled", "Expiration": {"Days": 2}},
         "Delete files under tmp/ 2 days after upload."),
        ({"ID": "odd", "Filter": {}, "Status": "Enabled"},
         "A rule for all files that this app cannot describe."),
    ],
)
def test_describe_rule_in_plain_words(rule: dict[str, object], words: str) -> None:
    assert describe_rule(rule) == words


def test_every_recommended_rule_has_words() -> None:
    for rule in recommended_rules(local_settings()):
        assert "cannot describe" not in describe_rule(rule)


def test_apply_on_a_bucket_keeps_its_rules(s3_storage: S3Storage) -> None:
    s3_storage.put_lifecycle_rules([FOREIGN])
    rules = apply_recommended(s3_settings(), s3_storage)
    ids = {r["ID"] for r in rules}
    assert "logs-expire" in ids
    assert {r["ID"] for r in recommended_rules(s3_settings())} <= ids
    again = apply_recommended(s3_settings(), s3_storage)
    assert len(again) == len(rules)
    temp = next(r for r in again if r["ID"] == f"{RULE_PREFIX}expire-temp")
    assert temp["Filter"]["And"]["Tags"] == [{"Key": "shorts-desktop-expire", "Value": "yes"}]


def test_merge_replaces_an_older_temp_rule_of_ours_by_the_tagged_one() -> None:
    """A bucket set up by an earlier version (prefix only, no tag) gets the tagged rule."""
    recommended = recommended_rules(local_settings())
    old = {"ID": f"{RULE_PREFIX}expire-temp", "Filter": {"Prefix": "temp/"},
           "Status": "Enabled", "Expiration": {"Days": 1}}
    merged = merge_rules([old, FOREIGN], recommended)
    temps = [r for r in merged if r["ID"] == f"{RULE_PREFIX}expire-temp"]
    assert len(temps) == 1 and "And" in temps[0]["Filter"]
    assert merge_rules(merged, recommended) == merged


def test_apply_on_the_local_library_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    storage = LocalStorage(Path(str(tmp_path)) / "library")
    with pytest.raises(UserError, match="S3 bucket"):
        apply_recommended(local_settings(), storage)
