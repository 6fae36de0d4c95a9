"""Errors the join job raises; each message names the path, column or reference at fault.

They reach people unchanged: Glue shows the message as the run's ErrorMessage, the workflow puts
it in the failure notification, and the local runner prints it.
"""

from __future__ import annotations


class JobError(Exception):
    """Base of every error the job raises on purpose."""


class JobArgumentError(JobError):
    """A job argument is missing or invalid."""


class JobInputError(JobError):
    """The batch or the reference data cannot be processed as configured (fail fast)."""


class DuplicateReferenceKeyError(JobInputError):
    """A reference has several rows for one join key, which would multiply batch rows."""


class RowCountMismatchError(JobError):
    """Rows were lost or multiplied: input rows != output rows + quarantined rows."""


class SchemaDriftError(JobError):
    """A column the catalog table has arrives with another type; nothing was committed."""


class CatalogConflictError(JobError):
    """The catalog table kept changing under the run; nothing was committed."""


class CommitError(JobError):
    """The batch could not be switched to the new run; readers still see the previous one."""


class InputCountMismatchError(JobInputError):
    """The files hold another number of records than the reader produced rows."""
