"""Files by content hash: stored once per organisation, found again by their SHA-256."""

import hashlib

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.errors import RuleViolation
from domain.models import StoredFile


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def store(session: Session, *, organization_id: int, content: bytes) -> str:
    """The file's hash, its bytes written unless the organisation already holds them."""
    digest = sha256_of(content)
    session.execute(
        insert(StoredFile)
        .values(organization_id=organization_id, sha256=digest, size=len(content), content=content)
        .on_conflict_do_nothing(index_elements=["organization_id", "sha256"])
    )
    return digest


def size_of(session: Session, *, organization_id: int, sha256: str) -> int:
    """The stored file's size; refused when nothing is stored under that hash."""
    size = session.scalar(
        select(StoredFile.size).where(
            StoredFile.organization_id == organization_id, StoredFile.sha256 == sha256
        )
    )
    if size is None:
        raise RuleViolation("no file is stored under that hash: upload it first", field="file")
    return size


def content_of(session: Session, *, organization_id: int, sha256: str) -> bytes | None:
    return session.scalar(
        select(StoredFile.content).where(
            StoredFile.organization_id == organization_id, StoredFile.sha256 == sha256
        )
    )
