"""Composition root: builds settings, database, storage and services for the GUI and CLI.

Nothing happens at import time; Qt is imported only by `create_main_window`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts_desktop.core.config import AppPaths, Settings, load_settings
from shorts_desktop.core.credentials import KeyringStore, ResolvedCredentials, resolve_credentials
from shorts_desktop.core.db.connection import close_database, open_database
from shorts_desktop.core.db.schema import MigrationResult
from shorts_desktop.core.db.upload_rows import UploadRows, bound_rows
from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.services.bucket import BucketService
from shorts_desktop.core.services.cleanup import CleanupService
from shorts_desktop.core.services.jobs import JobService
from shorts_desktop.core.services.multipart import MultipartService
from shorts_desktop.core.services.processing import JobRunner, ProcessingService
from shorts_desktop.core.services.publishing import PublishingService
from shorts_desktop.core.services.reconcile import ReconcileService
from shorts_desktop.core.services.stats import StatsService
from shorts_desktop.core.services.upload_queue import UploadQueue
from shorts_desktop.core.services.uploads import UploadService
from shorts_desktop.core.storage.base import CheckResult, Storage
from shorts_desktop.core.storage.local import LocalStorage

if TYPE_CHECKING:
    from shorts_desktop.core.services.migrate_to_s3 import MigrateToS3Service

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the GUI and the CLI use, wired once."""

    settings: Settings
    paths: AppPaths
    credentials: ResolvedCredentials
    storage: Storage
    uploads: UploadService
    jobs: JobService
    cleanup: CleanupService
    stats: StatsService
    upload_queue: UploadQueue
    processing: ProcessingService
    job_runner: JobRunner
    publishing: PublishingService
    migration: MigrationResult
    db: Any
    environ: dict[str, str]
    cwd: Path | None = None
    interactive: bool = False

    def rebuild(self) -> Services:
        """New services from the same environment, after the settings file or keyring changed."""
        return build_services(self.environ, self.cwd, interactive=self.interactive)

    def check(self) -> list[CheckResult]:
        results = self.storage.check(self.settings.temp_prefix)
        problem = self.credentials.keyring_problem
        if problem and self.storage.backend == "s3":
            # The keys come from elsewhere (a profile, SSO, the instance): the bucket checks
            # below say whether they work; only saving keys in the app needs the keyring.
            results.insert(0, CheckResult(
                "keyring", True, f"{problem} Keys in use: {self.credentials.source}.",
                warning=True))
        return results

    def warm_up(self) -> None:
        """Build the storage's clients and engine now (from a worker thread), and find
        ffmpeg beside them (`find_ffmpeg_ahead`), so that the first upload does not parse
        the S3 model while the window is busy. A problem here is left for the operation
        that needs the storage to report. A promote or delete a killed run left half done
        is settled here too (no copying)."""
        from shorts_desktop.core.render.ffmpeg import find_ffmpeg_ahead  # not on every start

        find_ffmpeg_ahead()
        try:
            self.storage.warm_up()
            self.uploads.recover()
        except ShortsError as exc:
            log.info("storage not ready at start: %s", exc)

    def rebuild_settings(self) -> Settings:
        """The settings as they read now, from the same environment as at start."""
        return load_settings(self.environ, self.cwd, self.paths)

    def apply_bandwidth_limit(self, settings: Settings) -> None:
        """A new bandwidth limit takes effect on running transfers, with nothing restarted."""
        self.storage.set_bandwidth_limit(settings.bandwidth_limit)
        self.settings = settings

    def reconcile(self) -> ReconcileService:
        return ReconcileService(self.settings, self.storage)

    def multipart(self) -> MultipartService:
        return MultipartService(self.settings, self.storage)

    def bucket(self) -> BucketService:
        return BucketService(self.settings, self.storage)

    def migrate_to_s3(self) -> MigrateToS3Service:
        from shorts_desktop.core.services.migrate_to_s3 import MigrateToS3Service

        local = LocalStorage(self.paths.library_dir)
        return MigrateToS3Service(self.settings, local, self.storage, self.paths.library_dir)

    def close(self) -> None:
        self.job_runner.shutdown()
        self.upload_queue.shutdown()
        self.storage.close()
        self.uploads.rows.close()
        close_database(self.db)


#: How much less urgent an interactive app's worker threads are than its window.
INTERACTIVE_THREAD_NICE = 10


def build_storage(settings: Settings, credentials: ResolvedCredentials, paths: AppPaths,
                  rows: UploadRows, thread_nice: int = 0) -> Storage:
    if settings.uses_s3:
        from shorts_desktop.core.storage.s3 import S3Storage
        from shorts_desktop.core.transfers import EngineConfig

        return S3Storage(settings, credentials, rows,
                         EngineConfig.from_settings(settings, thread_nice=thread_nice),
                         parsed_cache=paths.cache_dir)
    return LocalStorage(paths.library_dir)


def narration_provider(settings: Settings, environ: Mapping[str, str], cwd: Path | None,
                       name: str) -> Any:
    """The narration provider a setting names; its key is looked up only when it is used."""
    if name == "openai":
        from shorts_desktop.core.credentials import resolve_openai_key
        from shorts_desktop.core.render.narration.openai_tts import OpenAIProvider

        key = resolve_openai_key(environ, cwd, profile=settings.profile)
        if not key:
            raise UserError(
                "Narration by OpenAI needs an API key: run `shorts-desktop credentials set "
                "--openai` (or set OPENAI_API_KEY), or choose the offline voice "
                "(SHORTS_DESKTOP_TTS=espeak)."
            )
        if settings.openai_base_url:
            return OpenAIProvider(key, base_url=settings.openai_base_url)
        return OpenAIProvider(key)
    if name == "none":
        from shorts_desktop.core.render.narration.original import OriginalAudioProvider

        return OriginalAudioProvider()
    from shorts_desktop.core.render.narration.espeak import EspeakProvider

    return EspeakProvider()


def build_processing(settings: Settings, storage: Storage, jobs: JobService,
                     uploads: UploadService, paths: AppPaths, environ: Mapping[str, str],
                     cwd: Path | None, nice: int = 0) -> ProcessingService:
    from shorts_desktop.resources import find_resources_dir

    def make_short(**kwargs: Any) -> Any:
        from shorts_desktop.core.render.short import make_short as render

        return render(**kwargs)

    resources = find_resources_dir()
    fonts = resources / "fonts" if resources is not None else None
    return ProcessingService(
        settings, storage, jobs, uploads,
        work_root=paths.data_dir / "work",
        cache_root=paths.data_dir / "cache",
        make_short=make_short,
        narrator=lambda name: narration_provider(settings, environ, cwd, name),
        fonts_dir=fonts,
        nice=nice,
    )


def build_services(
    environ: Mapping[str, str] | None = None, cwd: Path | None = None, *,
    interactive: bool = False,
) -> Services:
    """Everything wired from one environment. `interactive` (the window): worker threads
    run at a lower priority than the GUI thread."""
    env = dict(os.environ if environ is None else environ)
    paths = AppPaths.from_environ(env)
    settings = load_settings(env, cwd, paths)
    credentials = resolve_credentials(env, cwd, profile=settings.profile)
    db, migration = open_database(paths.db_path)
    nice = INTERACTIVE_THREAD_NICE if interactive else 0
    rows = bound_rows()  # the one writer of upload rows, engine's parts included
    storage = build_storage(settings, credentials, paths, rows, nice)
    uploads = UploadService(settings, storage, paths.data_dir / "scratch", rows)
    jobs = JobService(settings, uploads)
    processing = build_processing(settings, storage, jobs, uploads, paths, env, cwd, nice)
    return Services(
        settings=settings,
        paths=paths,
        credentials=credentials,
        storage=storage,
        uploads=uploads,
        jobs=jobs,
        cleanup=CleanupService(settings, storage),
        stats=StatsService(settings, storage),
        upload_queue=UploadQueue(uploads, settings.files_in_flight, nice),
        processing=processing,
        job_runner=JobRunner(processing, jobs),
        publishing=PublishingService(settings, jobs, processing, KeyringStore()),
        migration=migration,
        db=db,
        environ=env,
        cwd=cwd,
        interactive=interactive,
    )


def create_main_window(environ: Mapping[str, str] | None = None) -> Any:
    """The main window over services built from the same settings the CLI reads."""
    from shorts_desktop.gui.main_window import MainWindow

    return MainWindow(build_services(environ, interactive=True))
