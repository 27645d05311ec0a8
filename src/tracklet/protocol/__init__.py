"""The HTTP contract between the SDK, the agent, the CLI, ``tracklet.Api`` and the server.

Every request and response body of ``/api/v1`` is one of these structs; the server's
OpenAPI document is generated from them. JSON everywhere, except record uploads, which
are MessagePack (the records themselves are run log payloads, see ``tracklet.runlog``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import math

import msgspec

API_PREFIX = "/api/v1"
RECORDS_CONTENT_TYPE = "application/vnd.tracklet.records+msgpack"

# What the stores' integer columns hold: a larger number is a 400 naming the field, not a 500.
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class Problem(msgspec.Struct, kw_only=True):
    """An error response (RFC 9457 style): what went wrong and, for bad input, where."""

    status: int
    title: str
    detail: str = ""


class Health(msgspec.Struct, kw_only=True):
    status: str
    version: str
    schema_revision: str


class Entity(msgspec.Struct, kw_only=True):
    name: str
    kind: str  # "user" | "team"
    role: str = "member"


class Viewer(msgspec.Struct, kw_only=True):
    user: str
    is_admin: bool
    is_anonymous: bool
    default_entity: str
    entities: list[Entity]
    local_folder: str | None = None  # `tracklet ui`: the folder whose runs it shows


class ProjectInfo(msgspec.Struct, kw_only=True):
    entity: str
    name: str
    run_count: int
    last_activity: float | None


class MetricDefinition(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A run's ``define_metric`` definition of a metric (or of a glob such as ``"val/*"``)."""

    name: str
    step_metric: str | None = None  # the UI draws this metric against it by default
    step_sync: bool | None = None
    hidden: bool | None = None  # no chart panel of its own
    summary: list[str] | None = None


class RunInfo(msgspec.Struct, kw_only=True):
    entity: str
    project: str
    run_id: str
    name: str | None
    state: str  # running | finished | failed | crashed
    notes: str | None
    tags: list[str]
    group: str
    job_type: str
    host: str | None
    config: dict[str, Any]
    summary: dict[str, Any]
    metadata: dict[str, Any]
    branch: dict[str, Any] | None
    exit_code: int | None
    created_at: float
    updated_at: float
    heartbeat_at: float
    last_seq: int
    metrics: list[MetricDefinition] = msgspec.field(default_factory=list)


class RunHandshake(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Create, resume, rewind or fork a run: what ``init`` (or ``sync``) asks before uploading.

    ``first_seq`` is the sequence number of the first record the client will send; if the
    server already holds it, this segment was set up before (a repeated sync) and nothing
    is created or rewound again.
    """

    entity: str | None = None
    project: str
    run_id: str
    resume: str | None = None  # allow | must | never (auto is allow on the server)
    resume_from: str | None = None  # "<run_id>?_step=<n>"
    fork_from: str | None = None
    first_seq: Int64 | None = None


class RunHandshakeReply(msgspec.Struct, kw_only=True):
    entity: str
    project: str
    run_id: str
    name: str | None
    resumed: bool
    starting_step: int
    runtime: float
    last_seq: int  # the client numbers its records from last_seq + 1
    restore: dict[str, Any] | None  # config, summary, metrics, aggregates to continue from
    branch: dict[str, Any] | None
    url: str


class RecordBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Records of one run, consecutive from ``first_seq``; an empty batch is a heartbeat.

    ``writer_gone``: the training process ended without an exit record (it crashed).
    """

    first_seq: Int64
    records: list[bytes]
    writer_gone: bool = False


class RecordAck(msgspec.Struct, kw_only=True):
    last_seq: int  # every record up to this one is stored


class RunUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | None = None
    notes: str | None = None
    tags: list[str] | None = None


class HistoryKeys(msgspec.Struct, kw_only=True):
    keys: list[str]
    media: dict[str, str] = {}  # media keys and their type ("image-file", "histogram", ...; docs/media.md)


class MediaValue(msgspec.Struct, kw_only=True):
    step: int
    value: Any  # the reference logged at that step (docs/media.md)


class ProjectMedia(msgspec.Struct, kw_only=True):
    """Every value logged under one media key by several runs, in step order."""

    key: str
    runs: dict[str, list[MediaValue]]
    missing: list[str]


class HistoryRows(msgspec.Struct, kw_only=True):
    rows: list[dict[str, Any]]


class Series(msgspec.Struct, kw_only=True):
    """One metric downsampled into buckets (M4): each bucket's first, last, min and max.

    With ``columns=`` a request names the columns it wants and the others are left out
    (the UI fills those with empty lists).
    """

    key: str
    buckets: int
    downsampled: bool
    bucket_start: list[float]
    first_step: list[int]
    first: list[float | str]  # non-finite values as "NaN", "Infinity", "-Infinity"
    last_step: list[int]
    last: list[float | str]
    min_step: list[int]
    min: list[float | str]
    max_step: list[int]
    max: list[float | str]
    count: list[int]


class RunFile(msgspec.Struct, kw_only=True):
    path: str
    size: int


class ProjectSeries(msgspec.Struct, kw_only=True):
    """One metric of several runs, downsampled like :class:`Series` (its columns per run)."""

    key: str
    buckets: int
    runs: dict[str, dict[str, Any]]
    missing: list[str]


class UserCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    admin: bool = False


class TeamCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str


class MemberAdd(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    user: str
    role: str = "member"


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    user: str | None = None  # admins may create keys for other users


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    user: str
    prefix: str
    api_key: str  # shown once; only its hash is stored


class ApiKeyInfo(msgspec.Struct, kw_only=True):
    prefix: str
    created_at: float
    revoked_at: float | None


# -- artifacts (docs/artifacts.md) -----------------------------------------------------------


class ArtifactCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A version of ``…/{name}/versions``: the same ``digest`` as an existing version is that version.

    ``manifest`` is ``{"version": 1, "entries": {path: {"digest", "size", "ref"?}}}``
    (``tracklet.artifacts.manifest``); ``digest`` must be ``manifest.digest_of(entries)``.
    ``run_id``: the run of the same project that logged it.
    """

    type: str
    description: str | None = None
    metadata: dict[str, Any] = {}
    aliases: list[str] = []
    manifest: dict[str, Any]
    digest: str
    run_id: str | None = None


class ArtifactVersion(msgspec.Struct, kw_only=True):
    """One version of an artifact. ``manifest`` is null in listings. ``logged_by`` and ``used_by`` are
    run ids; a run of another project than the artifact's is written ``entity/project/run_id``."""

    entity: str
    project: str
    name: str
    type: str
    version: str  # "v3"
    index: int  # 3
    digest: str
    description: str | None
    metadata: dict[str, Any]
    aliases: list[str]  # "latest" (the server's) on the newest version, then the users' aliases
    size: int  # bytes of every entry, references included
    file_count: int
    created_at: float
    logged_by: str | None
    used_by: list[str]
    manifest: dict[str, Any] | None


class ArtifactSummary(msgspec.Struct, kw_only=True):
    """An artifact (a collection of versions) in a project's listing."""

    name: str
    type: str
    description: str | None
    versions: int
    latest: str | None  # "v3"; null once every version is deleted
    updated_at: float


class ArtifactUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A PATCH of a version. ``aliases``: the version's aliases from now on (each moves from the version
    that had it; ``latest`` is the server's: naming it on another version than the newest is a 400)."""

    aliases: list[str] | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


class BlobsMissing(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    digests: list[str]  # SHA-256 hex digests


class BlobsMissingReply(msgspec.Struct, kw_only=True):
    missing: list[str]  # those of the request's digests the server lacks, in the request's order


class BlobInfo(msgspec.Struct, kw_only=True):
    """The answer of ``PUT /blobs/{sha256}`` (201 stored, 200 already there)."""

    digest: str
    size: int


class BlobPart(msgspec.Struct, kw_only=True):
    n: int
    size: int


class BlobParts(msgspec.Struct, kw_only=True):
    parts: list[BlobPart]  # by n


class BlobComplete(msgspec.Struct, kw_only=True):
    parts: int  # how many parts were joined


class GcReport(msgspec.Struct, kw_only=True):
    """Blobs no version references (and older than ``older_than``): how many, their bytes, and
    whether they were deleted (false on a dry run)."""

    blobs: int
    bytes: int
    deleted: bool



# -- a project's workspace layout (docs/ui.md: Workspace layout) -----------------------------------

MAX_PANEL_COLUMNS = 6  # the widest a panel is, in grid columns (a wider grid draws it this wide)
MAX_LAYOUT_SECTIONS = 200
MAX_SECTION_PANELS = 1000
MAX_LAYOUT_PANELS = 5000  # order and sizes entries of every section together
MAX_LAYOUT_BYTES = 256 * 1024
LayoutName = Annotated[str, msgspec.Meta(max_length=512)]  # a section name or a panel's key
# Media panels' sections are named this + their key prefix ("_media:samples"); chart sections are their
# keys' prefix, never starting with "_" (such keys are internal, with no panel). Other "_" names are refused.
MEDIA_SECTION_PREFIX = "_media:"


class PanelSize(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A resized panel: its width in grid columns and its height in pixels (null: the density's)."""

    columns: Annotated[int, msgspec.Meta(ge=1, le=MAX_PANEL_COLUMNS)] = 1
    height: Annotated[int, msgspec.Meta(ge=120, le=1200)] | None = None


class SectionLayout(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One section of panels (a key prefix): its panels' order (keys not listed follow, by name) and sizes."""

    order: Annotated[list[LayoutName], msgspec.Meta(max_length=MAX_SECTION_PANELS)] = []
    sizes: Annotated[dict[LayoutName, PanelSize], msgspec.Meta(max_length=MAX_SECTION_PANELS)] = {}


class WorkspaceLayout(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A project's workspace layout, shared by everyone who sees the project (``GET``/``PUT
    /projects/{entity}/{project}/workspace``). ``density`` sets how wide a grid column is at least
    (compact, comfortable, large) and the panels' default height; ``sections`` by name: a chart
    section is its metric keys' prefix ("" for keys without one), a media section is
    ``"_media:"`` + its media keys' prefix (``MEDIA_SECTION_PREFIX``; other names starting with "_" are refused)."""

    density: Literal["compact", "comfortable", "large"] = "comfortable"
    sidebar_collapsed: bool = False
    sections: Annotated[dict[LayoutName, SectionLayout], msgspec.Meta(max_length=MAX_LAYOUT_SECTIONS)] = {}
    updated_at: float | None = None  # set by the server when saved (ignored in a PUT); null: never saved


def json_safe(value: Any) -> Any:
    """JSON cannot hold NaN or infinities: they travel as the strings "NaN", "Infinity", "-Infinity"."""
    if type(value) is float and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if type(value) is dict:
        return {k: json_safe(v) for k, v in value.items()}
    if type(value) is list:
        return [json_safe(v) for v in value]
    return value


NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def from_json_safe(value: Any) -> Any:
    """The inverse of :func:`json_safe`: "NaN", "Infinity" and "-Infinity" back to floats."""
    if type(value) is str:
        return NON_FINITE.get(value, value)
    if type(value) is dict:
        return {k: from_json_safe(v) for k, v in value.items()}
    if type(value) is list:
        return [from_json_safe(v) for v in value]
    return value
