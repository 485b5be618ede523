"""The app's models; import them from here."""

from .batches import Batch, BatchAssembly, SkippedRecipient
from .choices import (
    AssemblyStatus,
    AssemblyType,
    BatchStatus,
    Channel,
    CommunicationStatus,
    ComplianceStatus,
    ContactMethods,
    ContactRole,
    DownloadStatus,
    Grouping,
    Hazard,
    PropertyType,
    ServiceType,
    SkipReason,
    TestResult,
)
from .communications import Communication
from .letterhead import Letterhead
from .letters import LetterChunk, LetterDownload
from .notices import NoticeTemplate
from .register import (
    SIZE_CHOICES,
    Assembly,
    AssemblyQuerySet,
    Contact,
    Location,
    LocationContact,
    ServiceArea,
)

__all__ = [
    "SIZE_CHOICES",
    "Assembly",
    "AssemblyQuerySet",
    "AssemblyStatus",
    "AssemblyType",
    "Batch",
    "BatchAssembly",
    "BatchStatus",
    "Channel",
    "Communication",
    "CommunicationStatus",
    "ComplianceStatus",
    "Contact",
    "ContactMethods",
    "ContactRole",
    "DownloadStatus",
    "Grouping",
    "Hazard",
    "LetterChunk",
    "LetterDownload",
    "Letterhead",
    "Location",
    "LocationContact",
    "NoticeTemplate",
    "PropertyType",
    "ServiceArea",
    "ServiceType",
    "SkipReason",
    "SkippedRecipient",
    "TestResult",
]
