"""Nothing lost when a promote, delete or cleanup is killed at any point (issue 13).

A kill is a `Killed` raised from a storage call (after the real call did its work, or
before it) or from a botocore hook once S3 has answered; then promote, cleanup, sync or
the start-up `recover` runs again and the rows and the bucket must agree: every object
with an upload id is its row's key, no row is `missing` while its bytes exist elsewhere,
and what was deleted on purpose is `deleted`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.errors import StorageError
from shorts_desktop.core.services.reconcile import ReconcileService
from shorts_desktop.core.services.uploads import find_upload, permanent_key
from shorts_desktop.core.storage.keys import object_metadata, upload_id_from_key

if TYPE_CHECKING:
    from conftest import Env, Media


class Killed(BaseException):
    """Stands for kill -9: nothing after it in the process runs."""


def kill_after(monkeypatch: pytest.MonkeyPatch, storage: Any, method: str,
               when: Callable[..., bool] = lambda *a, **k: True) -> None:
    """The storage call does its work, then the process dies before it returns."""
    real = getattr(storage, method)

    def call(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        if when(*args, **kwargs):
            monkeypatch.setattr(storage, method, real)  # the next run is a new process
            raise Killed

    monkeypatch.setattr(storage, method, call)


def kill_before(monkeypatch: pytest.MonkeyPatch, storage: Any, method: str) -> None:
    """The process dies before the storage call sends anything."""
    real = getattr(storage, method)

    def call(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(storage, method, real)
        raise Killed

    monkeypatch.setattr(storage, method, call)


def sync(env: Env) -> Any:
    return ReconcileService(env.settings, env.storage).run()


def accounted(env: Env) -> None:
    """Every object of ours is the key of its upload's completed row: no orphan."""
    prefixes = (env.settings.temp_prefix, env.settings.videos_prefix,
                env.settings.transcripts_prefix)
    stored = env.keys()  # the storage's keys, not a dict's
    for key in stored:
        prefix = next(p for p in prefixes if key.startswith(p))
        row = find_upload(str(upload_id_from_key(prefix, key)))
        assert (row.key, row.status) == (key, "completed"), key


def permanent(env: Env, upload_id: str, data: bytes) -> Upload:
    """The row is completed and permanent, its bytes are there and nothing else is."""
    row = find_upload(upload_id)
    assert (row.status, bool(row.is_temp), row.key) == (
        "completed", False, permanent_key(env.settings, row))
    assert row.promote_key is None
    assert env.raw_get(row.key) == data
    assert env.keys() == [row.key]
    accounted(env)
    return row


def uploaded(env: Env, media: Media) -> tuple[Upload, bytes]:
    path = media.mp4("keeper.mp4")
    return env.uploads.upload_file(path, "video"), path.read_bytes()


def copy_to_permanent(env: Env, upload: Upload) -> str:
    """What a promote's copy leaves at the permanent key."""
    assert upload.key is not None
    key = permanent_key(env.settings, upload)
    env.storage.copy(upload.key, key, content_type=upload.content_type,
                     metadata=object_metadata(upload.id, upload.kind, upload.original_name,
                                              upload.checksum or "", False))
    return key


# -- promote ----------------------------------------------------------------------------------

AGAIN = ["promote", "sync", "recover", "cleanup"]


def again(env: Env, how: str, upload_id: str) -> None:
    if how == "promote":
        assert env.uploads.promote(upload_id)[1]
    elif how == "sync":
        assert sync(env).promoted == [upload_id]
    elif how == "recover":
        assert env.uploads.recover() == (upload_id,)
    else:
        result = env.cleanup.run(0)  # its temp object is gone: the row is old enough
        assert result.plan.missing == [] and result.plan.relink == {
            upload_id: permanent_key(env.settings, find_upload(upload_id))}


@pytest.mark.parametrize("how", AGAIN)
def test_killed_after_the_temp_delete_before_the_commit(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    upload, data = uploaded(env, media)
    kill_after(monkeypatch, env.storage, "delete")
    with pytest.raises(Killed):
        env.uploads.promote(upload.id)
    row = find_upload(upload.id)
    assert row.is_temp and row.key == upload.key  # the row was not switched yet ...
    assert row.promote_key == permanent_key(env.settings, row)  # ... but said where to
    assert env.keys() == [row.promote_key]
    again(env, how, upload.id)
    permanent(env, upload.id, data)


@pytest.mark.parametrize("how", ["promote", "sync", "recover"])
def test_killed_after_the_copy_before_the_temp_delete(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    upload, data = uploaded(env, media)
    kill_after(monkeypatch, env.storage, "copy")
    with pytest.raises(Killed):
        env.uploads.promote(upload.id)
    assert len(env.keys()) == 2
    again(env, how, upload.id)
    permanent(env, upload.id, data)


def test_killed_during_the_copy_then_cleanup_keeps_the_temp_copy(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload, data = uploaded(env, media)
    kill_before(monkeypatch, env.storage, "copy")
    with pytest.raises(Killed):
        env.uploads.promote(upload.id)
    env.age(upload.key or "", 30)
    result = env.cleanup.run(0)
    assert result.deleted == [] and result.plan.missing == []
    assert result.plan.skipped == [
        {"id": upload.id, "reason": "it is being promoted; run promote again to finish"}]
    assert env.uploads.recover() == ()  # nothing copied at start-up: it waits for promote
    assert sync(env).missing == []
    assert find_upload(upload.id).status == "completed"
    assert env.uploads.promote(upload.id)[1]
    permanent(env, upload.id, data)


def test_a_copy_that_cannot_be_verified_is_made_again(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload, data = uploaded(env, media)
    real = env.storage.copy

    def bad_copy(src: str, dst: str, **kwargs: Any) -> None:
        env.raw_put(dst, b"short")

    monkeypatch.setattr(env.storage, "copy", bad_copy)
    with pytest.raises(StorageError, match="could not be verified"):
        env.uploads.promote(upload.id)
    assert env.uploads.recover() == ()  # a bad copy is never adopted
    monkeypatch.setattr(env.storage, "copy", real)
    assert env.uploads.promote(upload.id)[1]
    permanent(env, upload.id, data)


def test_a_promote_the_database_did_not_record_is_finished(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload, data = uploaded(env, media)
    kill_after(monkeypatch, env.storage, "delete")
    with pytest.raises(Killed):
        env.uploads.promote(upload.id)
    # An older version, or a lost intent: the row knows nothing of the promote.
    Upload.update(promote_key=None).where(Upload.id == upload.id).execute()
    assert env.uploads.promote(upload.id)[1]
    permanent(env, upload.id, data)


def test_a_missing_row_takes_back_its_permanent_copy(env: Env, media: Media) -> None:
    """The old bug's state: promoted bytes under videos/, the row `missing` on temp/."""
    upload, data = uploaded(env, media)
    copy_to_permanent(env, upload)
    env.raw_delete(upload.key or "")
    Upload.update(status="missing").where(Upload.id == upload.id).execute()
    report = sync(env)
    assert report.adopted == [upload.id] and report.missing == []
    permanent(env, upload.id, data)


def test_promote_of_a_missing_row_finds_its_permanent_copy(env: Env, media: Media) -> None:
    upload, data = uploaded(env, media)
    copy_to_permanent(env, upload)
    env.raw_delete(upload.key or "")
    Upload.update(status="missing").where(Upload.id == upload.id).execute()
    assert env.uploads.promote(upload.id)[1]
    permanent(env, upload.id, data)


def test_upload_it_again_only_when_no_copy_is_left(env: Env, media: Media) -> None:
    upload, _ = uploaded(env, media)
    env.raw_delete(upload.key or "")
    with pytest.raises(StorageError, match="has no permanent copy; upload it again"):
        env.uploads.promote(upload.id)
    assert find_upload(upload.id).status == "missing"


def test_a_deleted_row_takes_back_a_permanent_copy_left_by_a_promote(
    env: Env, media: Media
) -> None:
    """The old bug's other state: cleanup deleted the temp copy mid-promote."""
    upload, data = uploaded(env, media)
    copy_to_permanent(env, upload)
    env.raw_delete(upload.key or "")
    Upload.update(status="deleted").where(Upload.id == upload.id).execute()
    assert sync(env).adopted == [upload.id]
    permanent(env, upload.id, data)


def test_sync_with_nothing_half_done_changes_nothing(env: Env, media: Media) -> None:
    upload, _ = uploaded(env, media)
    report = sync(env)
    assert (report.moved, report.promoted, report.adopted, report.deleted, report.missing) == (
        [], [], [], [], [])
    assert find_upload(upload.id).key == upload.key
    accounted(env)


# -- cleanup ----------------------------------------------------------------------------------


def old_temp_files(env: Env, media: Media, count: int = 2) -> list[Upload]:
    uploads = [env.uploads.upload_file(media.mp4(f"clip{i}.mp4"), "video") for i in range(count)]
    for upload in uploads:
        env.age(upload.key or "", 30)
    return uploads


def statuses(uploads: list[Upload]) -> list[str]:
    return [find_upload(u.id).status for u in uploads]


def test_cleanup_killed_after_its_delete_request_then_run_again(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = old_temp_files(env, media)
    kill_after(monkeypatch, env.storage, "delete_many")
    with pytest.raises(Killed):
        env.cleanup.run(24)
    assert env.keys() == [] and statuses(uploads) == ["completed"] * 2
    result = env.cleanup.run(24)
    assert result.plan.missing == []
    assert sorted(result.plan.deleted_earlier) == sorted(u.id for u in uploads)
    assert statuses(uploads) == ["deleted"] * 2


def test_cleanup_killed_before_its_request_deletes_them_next_time(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = old_temp_files(env, media)
    kill_before(monkeypatch, env.storage, "delete_many")
    with pytest.raises(Killed):
        env.cleanup.run(24)
    assert len(env.keys()) == 2
    assert env.uploads.recover() == ()  # nothing was deleted: the intent is dropped
    assert all(find_upload(u.id).deleting_at is None for u in uploads)
    result = env.cleanup.run(24)
    assert sorted(result.deleted) == sorted(u.id for u in uploads)
    assert statuses(uploads) == ["deleted"] * 2 and env.keys() == []


@pytest.mark.parametrize("then", ["sync", "recover"])
def test_cleanup_killed_after_its_request_then_sync_or_start(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch, then: str
) -> None:
    uploads = old_temp_files(env, media)
    kill_after(monkeypatch, env.storage, "delete_many")
    with pytest.raises(Killed):
        env.cleanup.run(24)
    if then == "sync":
        report = sync(env)
        assert sorted(report.deleted) == sorted(u.id for u in uploads) and report.missing == []
    else:
        assert sorted(env.uploads.recover()) == sorted(u.id for u in uploads)
    assert statuses(uploads) == ["deleted"] * 2


def test_a_refused_delete_drops_the_intent(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    (upload,) = old_temp_files(env, media, 1)
    monkeypatch.setattr(env.storage, "delete_many", lambda keys: list(keys))
    result = env.cleanup.run(24)
    assert result.failed and find_upload(upload.id).deleting_at is None
    env.raw_delete(upload.key or "")  # later gone for another reason: that is `missing`
    assert sync(env).missing == [upload.id]


def test_cleanup_removes_a_temp_leftover_but_keeps_its_permanent_row(
    env: Env, media: Media
) -> None:
    upload, data = uploaded(env, media)
    temp_key = upload.key or ""
    env.uploads.promote(upload.id)
    env.raw_put(temp_key, data)  # a second copy an older version left behind
    env.age(temp_key, 30)
    result = env.cleanup.run(24)
    assert result.deleted == [upload.id]
    permanent(env, upload.id, data)


def test_cleanup_keeps_a_temp_object_that_is_the_only_copy(env: Env, media: Media) -> None:
    upload, data = uploaded(env, media)
    temp_key = upload.key or ""
    Upload.update(key=permanent_key(env.settings, upload), is_temp=False).where(
        Upload.id == upload.id).execute()  # the row points where nothing is
    env.age(temp_key, 30)
    result = env.cleanup.run(24)
    assert result.deleted == [] and env.raw_get(temp_key) == data
    assert sync(env).moved == [upload.id]
    accounted(env)


# -- delete -----------------------------------------------------------------------------------


@pytest.mark.parametrize("then", ["sync", "recover"])
def test_delete_killed_after_its_request_is_deleted_not_missing(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch, then: str
) -> None:
    upload, _ = uploaded(env, media)
    env.uploads.promote(upload.id)
    kill_after(monkeypatch, env.storage, "delete")
    with pytest.raises(Killed):
        env.uploads.delete(upload.id)
    assert find_upload(upload.id).status == "completed" and env.keys() == []
    if then == "sync":
        report = sync(env)
        assert report.deleted == [upload.id] and report.missing == []
    else:
        assert env.uploads.recover() == (upload.id,)
    assert find_upload(upload.id).status == "deleted"


def test_delete_during_a_promote_removes_both_copies(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload, _ = uploaded(env, media)
    kill_after(monkeypatch, env.storage, "copy")
    with pytest.raises(Killed):
        env.uploads.promote(upload.id)
    env.uploads.delete(upload.id)
    assert env.keys() == [] and find_upload(upload.id).status == "deleted"


def test_delete_killed_before_its_request_keeps_the_file(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload, _ = uploaded(env, media)
    kill_before(monkeypatch, env.storage, "delete")
    with pytest.raises(Killed):
        env.uploads.delete(upload.id)
    assert sync(env).deleted == []
    row = find_upload(upload.id)
    assert row.status == "completed" and row.deleting_at is None
    accounted(env)


# -- S3: the kill comes once S3 has answered -------------------------------------------------


def kill_on(s3_env: Env, operation: str) -> Callable[[], None]:
    """A hook that raises after S3 answered `operation` (once); returns its remover."""
    events = s3_env.storage.client.meta.events  # type: ignore[union-attr]
    name = f"after-call.s3.{operation}"

    def hook(**kwargs: Any) -> None:
        events.unregister(name, hook)
        raise Killed

    events.register(name, hook)
    return lambda: events.unregister(name, hook)


def test_s3_promote_killed_once_delete_object_was_answered(
    s3_env: Env, media: Media
) -> None:
    upload, data = uploaded(s3_env, media)
    kill_on(s3_env, "DeleteObject")
    with pytest.raises(Killed):
        s3_env.uploads.promote(upload.id)
    assert find_upload(upload.id).is_temp
    assert s3_env.keys() == [permanent_key(s3_env.settings, upload)]
    assert sync(s3_env).promoted == [upload.id]
    permanent(s3_env, upload.id, data)


def test_s3_cleanup_killed_once_delete_objects_was_answered(
    s3_env: Env, media: Media
) -> None:
    uploads = old_temp_files(s3_env, media)
    kill_on(s3_env, "DeleteObjects")
    with pytest.raises(Killed):
        s3_env.cleanup.run(24)
    assert s3_env.keys() == []
    result = s3_env.cleanup.run(24)
    assert sorted(result.to_dict()["deleted_earlier"]) == sorted(u.id for u in uploads)
    assert result.plan.missing == [] and statuses(uploads) == ["deleted"] * 2
