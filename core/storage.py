"""Invoice bytes in GridFS, stored once as binary."""

from __future__ import annotations

from bson import ObjectId
from gridfs import AsyncGridFSBucket, NoFile
from pymongo.asynchronous.database import AsyncDatabase

BUCKET = "invoice_files"


def bucket(database: AsyncDatabase) -> AsyncGridFSBucket:
    return AsyncGridFSBucket(database, bucket_name=BUCKET)


async def put_file(database: AsyncDatabase, data: bytes, filename: str, content_type: str, sha256: str) -> ObjectId:
    return await bucket(database).upload_from_stream(
        filename, data, metadata={"content_type": content_type, "sha256": sha256}
    )


async def read_file(database: AsyncDatabase, file_id: ObjectId) -> bytes:
    stream = await bucket(database).open_download_stream(file_id)
    return await stream.read()


async def delete_file(database: AsyncDatabase, file_id: ObjectId) -> None:
    """Delete, tolerating a file that is already gone (deletes are retried after crashes)."""
    try:
        await bucket(database).delete(file_id)
    except NoFile:
        pass
