"""Which extract failures no retry can fix: a wrong, expired or revoked credential.

Dagster's retry policy on the extracts is for transient trouble; retrying an authentication
failure only waits (twice, 30 s) and then fails the same way, and a real org may lock the user
after repeated failed logins. Such a failure ends the step at once, saying what to fix.
"""

from __future__ import annotations

from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from aeglobal_pipeline.sources.account_engagement import AccountEngagementError
from aeglobal_pipeline.sources.salesforce_client import SourceConnectionError


def is_authentication_error(error: BaseException) -> bool:
    if isinstance(error, SalesforceAuthenticationFailed | SalesforceExpiredSession | SourceConnectionError):
        return True
    return isinstance(error, AccountEngagementError) and error.status == 401
