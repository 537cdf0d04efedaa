"""Recognising the API errors that no retry in this run can fix: a spent daily allowance.

Salesforce answers 403 `REQUEST_LIMIT_EXCEEDED` "TotalRequests Limit exceeded." once the org's
rolling 24-hour allocation is spent (the same code with another message is a concurrency limit,
which passes); Account Engagement answers code 122 "Daily API rate limit met". Retrying either
only burns the calls other integrations need, so the source stops for this run and the next run
resumes from the kept high-water mark.
"""

from __future__ import annotations

from simple_salesforce.exceptions import SalesforceError

from aeglobal_pipeline.sources.account_engagement import DAILY_LIMIT_CODE, AccountEngagementError


def salesforce_error_code(error: SalesforceError) -> tuple[str | None, str]:
    content = error.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode"), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return content.get("errorCode"), str(content.get("message", ""))
    return None, str(content)[:300]


def is_daily_limit(error: BaseException) -> bool:
    if isinstance(error, AccountEngagementError):
        return error.code == DAILY_LIMIT_CODE
    if isinstance(error, SalesforceError):
        code, message = salesforce_error_code(error)
        return code == "REQUEST_LIMIT_EXCEEDED" and "TotalRequests" in message
    return False


def daily_limit_message(source: str, object_name: str, error: BaseException) -> str:
    what = "Account Engagement daily API limit (code 122)" if isinstance(
        error, AccountEngagementError) else "Salesforce daily API allocation (REQUEST_LIMIT_EXCEEDED)"
    return (
        f"{source}.{object_name}: stopped, the {what} is spent; nothing was retried and the "
        "high-water mark is kept, so the next run resumes where the last complete one ended "
        "(raise the allocation or spread the load: see README, 'Pointing it at real orgs')"
    )
