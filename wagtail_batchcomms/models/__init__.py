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
    ExportStatus,
    Grouping,
    Hazard,
    ImportStatus,
    LogKind,
    PropertyType,
    RuleRunStatus,
    RunMode,
    ServiceType,
    SkipReason,
    TestResult,
    Trigger,
)
from .communications import Communication
from .compliance import AssemblyQuerySet
from .imports import ExportRun, ImportRun
from .letterhead import Letterhead
from .letters import LetterChunk, LetterDownload
from .notices import NoticeTemplate
from .register import (
    SIZE_CHOICES,
    Assembly,
    Contact,
    Location,
    LocationContact,
    ServiceArea,
)
from .rules import ONCE_CYCLE, AutomaticNotice, CommunicationType, RuleRun, RuleRunType

__all__ = [
    "ONCE_CYCLE",
    "SIZE_CHOICES",
    "Assembly",
    "AssemblyQuerySet",
    "AssemblyStatus",
    "AssemblyType",
    "AutomaticNotice",
    "Batch",
    "BatchAssembly",
    "BatchStatus",
    "Channel",
    "Communication",
    "CommunicationStatus",
    "CommunicationType",
    "ComplianceStatus",
    "Contact",
    "ContactMethods",
    "ContactRole",
    "DownloadStatus",
    "ExportRun",
    "ExportStatus",
    "Grouping",
    "Hazard",
    "ImportRun",
    "ImportStatus",
    "LetterChunk",
    "LetterDownload",
    "Letterhead",
    "Location",
    "LocationContact",
    "LogKind",
    "NoticeTemplate",
    "PropertyType",
    "RuleRun",
    "RuleRunStatus",
    "RuleRunType",
    "RunMode",
    "ServiceArea",
    "ServiceType",
    "SkipReason",
    "SkippedRecipient",
    "TestResult",
    "Trigger",
]
