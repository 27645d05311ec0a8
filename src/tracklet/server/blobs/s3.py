"""The file store in an S3-compatible bucket (``--files s3://bucket/prefix``), through boto3.

Endpoint, region and credentials come from boto3's usual sources (``AWS_ENDPOINT_URL``, ``AWS_REGION``,
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, ``~/.aws/``) unless
the server's ``--s3-*`` options say otherwise. Requests are signed with SigV4 and carry checksums only where
S3 requires them, which every S3-compatible server accepts.

An object is written with one PUT while it is smaller than a part, else as a multipart upload (parts of
8 MiB, 64 MiB past the 1,000th: about 580 GiB at most), so no whole file is held in memory; either way
nothing is visible at its key until the upload completes. A staged blob is an upload to its final key,
completed once its digest is checked, aborted otherwise; :meth:`S3Blobs.sweep` aborts abandoned ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool

from tracklet.artifacts.manifest import CHUNK_BYTES, PART_BYTES
from tracklet.errors import UsageError
from tracklet.server.blobs import (Parts, Staged, Stored, blob_key, check_part_number, consecutive, parts_key,
                                   pump, safe_path)
from tracklet.server.errors import NotFound

PART_BYTES_FIRST = 8 * 1024 * 1024  # S3's smallest part is 5 MiB; parts this size keep memory low
PART_BYTES_LATER = 64 * 1024 * 1024  # past 1,000 parts: S3 allows 10,000 parts to an object
PRESIGNED_SECONDS = 300  # how long a presigned download URL works
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
CREDENTIALS = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE / --s3-profile)"


class S3Blobs:
    """Files in ``bucket`` under ``prefix``, in the tree the package docstring describes."""

    def __init__(self, url: str, *, download: str = "proxy", endpoint_url: str | None = None,
                 region: str | None = None, profile: str | None = None) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise UsageError(f"--files {url} needs boto3: pip install 'tracklet[server,s3]'") from None
        bucket, _, prefix = url[len("s3://"):].partition("/")
        if not bucket:
            raise UsageError(f"--files {url}: name a bucket, as in s3://bucket or s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = f"s3://{bucket}/{self.prefix}"
        self.presigned = download == "presigned"
        config = Config(signature_version="s3v4", request_checksum_calculation="when_required",
                        response_checksum_validation="when_required", max_pool_connections=32,
                        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=60)
        try:
            session = boto3.Session(profile_name=profile, region_name=region)
            self.s3: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        except Exception as exc:  # an unknown profile, an endpoint that is not a URL
            raise UsageError(f"--files {url}: {exc} (check --s3-endpoint-url / AWS_ENDPOINT_URL, "
                             f"--s3-region / AWS_REGION, --s3-profile / AWS_PROFILE)") from None

    def _key(self, key: str) -> str:
        return self.prefix + key

    def check(self) -> None:
        """List the prefix, write and delete a probe: a clear error now rather than failed uploads later."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        endpoint = self.s3.meta.endpoint_url
        probe = self._key(".tracklet-check")
        try:
            self.s3.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
            self.s3.put_object(Bucket=self.bucket, Key=probe, Body=b"")
            self.s3.delete_object(Bucket=self.bucket, Key=probe)
        except NoCredentialsError:
            raise UsageError(f"--files {self.url}: no S3 credentials were found: set {CREDENTIALS}") from None
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchBucket", "404"):
                raise UsageError(f"--files {self.url}: the bucket {self.bucket!r} does not exist at {endpoint}: "
                                 "create it, or name another in --files / TRACKLET_FILES") from None
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "InvalidToken",
                        "ExpiredToken", "InvalidClientTokenId"):
                raise UsageError(f"--files {self.url}: {endpoint} refused the credentials ({code}): check {CREDENTIALS}, "
                                 "and that they may list, read, write and delete in the bucket") from None
            raise UsageError(f"--files {self.url}: {endpoint} answered {code}: {exc}") from None
        except BotoCoreError as exc:  # no connection, a timeout, a bad region name
            raise UsageError(f"--files {self.url}: cannot reach S3 at {endpoint} ({exc}): "
                             "check --s3-endpoint-url / AWS_ENDPOINT_URL and --s3-region / AWS_REGION") from None

    def _head(self, key: str, missing: str) -> Stored:
        from botocore.exceptions import ClientError

        try:
            found = self.s3.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(missing) from None
            raise
        return Stored(key, int(found["ContentLength"]))

    def _objects(self, key_prefix: str) -> Iterator[dict[str, Any]]:
        """The objects whose keys start with ``key_prefix`` (under the store's prefix)."""
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=self._key(key_prefix)):
            yield from page.get("Contents", [])

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": k} for k in keys[start:start + DELETE_BATCH]]
            answer = self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise RuntimeError(f"S3 did not delete {len(answer['Errors'])} objects, e.g. {first.get('Key')}: "
                                   f"{first.get('Code')} {first.get('Message')}")

    async def _write(self, key: str, chunks: AsyncIterator[bytes], limit: int | None, what: str) -> tuple[str, int]:
        upload = Upload(self.s3, self.bucket, self._key(key))
        try:
            digest, size = await pump(chunks, upload.write, limit, what)
            await run_in_threadpool(upload.complete)
        except BaseException:
            upload.abort()
            raise
        return digest, size

    # -- run files ------------------------------------------------------------------------------

    async def put(self, run_key: str, path: str, chunks: AsyncIterator[bytes], limit: int | None = None) -> int:
        return (await self._write(f"{run_key}/{safe_path(path)}", chunks, limit, "a file"))[1]

    def file(self, run_key: str, path: str) -> Stored:
        return self._head(f"{run_key}/{safe_path(path)}", f"no file {path!r}")

    def list(self, run_key: str) -> list[tuple[str, int]]:
        start = len(self._key(f"{run_key}/"))
        return sorted((o["Key"][start:], int(o["Size"])) for o in self._objects(f"{run_key}/"))

    def delete_run(self, run_key: str) -> None:
        self._delete([o["Key"] for o in self._objects(f"{run_key}/")])

    def read(self, stored: Stored, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        end = stored.size if end is None else end
        if end <= start:
            return iter(())
        try:  # asked now, not at the first chunk: a file deleted meanwhile is a 404, not a cut answer
            answer = self.s3.get_object(Bucket=self.bucket, Key=self._key(stored.key),
                                        Range=f"bytes={start}-{end - 1}")
        except self.s3.exceptions.NoSuchKey:
            raise NotFound(f"{stored.key} is no longer stored") from None
        return _chunks(answer["Body"])

    def download_url(self, stored: Stored, media_type: str, disposition: str | None) -> str | None:
        if not self.presigned:
            return None
        params = {"Bucket": self.bucket, "Key": self._key(stored.key), "ResponseContentType": media_type}
        if disposition:
            params["ResponseContentDisposition"] = disposition
        return str(self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=PRESIGNED_SECONDS))

    # -- content-addressed blobs ----------------------------------------------------------------

    async def stage(self, sha256: str, chunks: AsyncIterator[bytes], limit: int | None = None) -> Staged:
        upload = Upload(self.s3, self.bucket, self._key(blob_key(sha256)))
        try:
            digest, size = await pump(chunks, upload.write, limit, "a blob")
        except BaseException:
            upload.abort()
            raise
        return Staged(digest, size, upload)

    def keep(self, staged: Staged) -> None:
        assert isinstance(staged.handle, Upload) and staged.handle.key == self._key(blob_key(staged.sha256))
        staged.handle.complete()

    def discard(self, staged: Staged) -> None:
        assert isinstance(staged.handle, Upload)
        staged.handle.abort()

    async def put_part(self, sha256: str, n: int, chunks: AsyncIterator[bytes]) -> int:
        key = f"{parts_key(sha256)}/{check_part_number(n)}"
        return (await self._write(key, chunks, PART_BYTES, "a part"))[1]

    def parts(self, sha256: str) -> Parts:
        found = ((o["Key"].rsplit("/", 1)[1], int(o["Size"])) for o in self._objects(parts_key(sha256) + "/"))
        return sorted((int(name), size) for name, size in found if name.isdigit())

    def join_parts(self, sha256: str) -> tuple[Staged, int]:
        import hashlib

        found = self.parts(sha256)
        numbers, sizes = consecutive(sha256, found), dict(found)
        upload = Upload(self.s3, self.bucket, self._key(blob_key(sha256)))
        hasher, size = hashlib.sha256(), 0
        try:
            for n in numbers:
                for chunk in self.read(Stored(f"{parts_key(sha256)}/{n}", sizes[n])):
                    hasher.update(chunk)
                    upload.write(chunk)
                    size += len(chunk)
        except BaseException:
            upload.abort()
            raise
        return Staged(hasher.hexdigest(), size, upload), len(numbers)

    def drop_parts(self, sha256: str) -> None:
        self._delete([o["Key"] for o in self._objects(parts_key(sha256) + "/")])

    def blob(self, sha256: str) -> Stored:
        return self._head(blob_key(sha256), f"no blob {sha256}")

    def delete_blob(self, sha256: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self._key(blob_key(sha256)))

    def sweep(self, older_than: float) -> None:
        """Abort uploads started ``older_than`` seconds ago or more; delete parts none of which is newer."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than)
        for page in self.s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    self.s3.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        newest: dict[str, datetime] = {}
        keys: dict[str, list[str]] = {}
        for o in self._objects("blobs/parts/"):
            digest = o["Key"][len(self._key("blobs/parts/")):].split("/", 1)[0]
            newest[digest] = max(newest.get(digest, o["LastModified"]), o["LastModified"])
            keys.setdefault(digest, []).append(o["Key"])
        self._delete([k for digest, found in keys.items() if newest[digest] < cutoff for k in found])


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()  # a client that went away leaves no connection half read


class Upload:
    """One object written a piece at a time: a single PUT if it stays under a part's size, else a
    multipart upload; nothing is at ``key`` before :meth:`complete`. Not for concurrent writers."""

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.done = False

    def write(self, data: bytes) -> None:
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size >= (PART_BYTES_FIRST if len(self.parts) < 1000 else PART_BYTES_LATER):
            self._send_part()

    def _send_part(self) -> None:
        if self.upload_id is None:
            self.upload_id = self.s3.create_multipart_upload(Bucket=self.bucket, Key=self.key)["UploadId"]
        n = len(self.parts) + 1
        body, self.pending, self.pending_size = b"".join(self.pending), [], 0
        answer = self.s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=n, Body=body)
        self.parts.append({"PartNumber": n, "ETag": answer["ETag"]})

    def complete(self) -> None:
        if self.upload_id is None:
            self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=b"".join(self.pending))
        else:
            if self.pending:
                self._send_part()
            self.s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                              MultipartUpload={"Parts": self.parts})
        self.pending, self.done = [], True

    def abort(self) -> None:
        """Drop what was sent (once: an upload completed or aborted is left alone)."""
        if self.done:
            return
        self.done, self.pending = True, []
        if self.upload_id is not None:
            try:
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
            except Exception:  # sweep aborts it later; the error that brought us here matters more
                pass
