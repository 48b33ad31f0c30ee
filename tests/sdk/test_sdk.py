#!/usr/bin/env python3
"""SDK-compatibility checks for `cdnsim serve`.

Drives a running server with the two official Alibaba Cloud Python SDKs, unmodified:

  old-sdk    aliyunsdkcore AcsClient + aliyunsdkcdn typed requests (signature V1, POST)
  old-sdk-get  the same with req.set_method('GET') (a subset of the calls)
  tea-v3     alibabacloud_cdn20180510 Client (Tea; signature V3 ACS3-HMAC-SHA256, the default)
  tea-v2     the same with Config.signature_algorithm='v2' (signature V1)

and compares every answer with `cdnsim query LOG --at T Format=JSON <same params>`
(ignoring RequestId). Error answers are compared by code, HTTP status and message.

Modes (--mode):
  open          server without --access-key; arbitrary credentials must be accepted
  auth          server with --access-key ID:SECRET; the SDKs sign with that key
  wrong-secret  same server; a wrong secret and an unknown key id must be rejected
                with the real error codes (plus one control call with the right key)
  writes        server `--scenario tests/sdk/writes.toml --access-key ID:SECRET`: each SDK submits
                a refresh and a preload, polls them to Complete while moving the server clock
                (POST /_cdnsim/clock), checks DescribeRefreshQuota and the write errors; --log is
                the scenario's live log (DATA_DIR/events.cdnlog), queried at the server's clock
  rules         server `--scenario tests/sdk/writes.toml` (a fresh data dir): error rules added
                through POST /_cdnsim/rules make each SDK raise what it raises against the real
                service (Throttling.User 400 with x-acs-retry-after -> Tea ThrottlingException,
                ServiceUnavailable 503 and InternalError 500 -> ServerException; the old SDK's
                ServerException with code and status), spent after `times`; a lifecycle rule
                fails the SDK's own refresh with "Origin timeout"

Prints one line per check and exits 1 on the first failure (2 on bad usage or setup).
Run through tests/sdk/run.sh, which builds the venv, the log and the servers.
"""

import argparse
import datetime
import http.client
import json
import logging
import os
import re
import subprocess
import sys

# Only 127.0.0.1 is contacted: never send it through a proxy (darabonba reads HTTP_PROXY itself
# and ignores NO_PROXY).
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_var, None)

try:
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.acs_exception.exceptions import ClientException as OldClientException
    from aliyunsdkcore.acs_exception.exceptions import ServerException as OldServerException
    from aliyunsdkcdn.request.v20180510.DescribeRefreshTaskByIdRequest import (
        DescribeRefreshTaskByIdRequest as OldDescribeRefreshTaskById,
    )
    from aliyunsdkcdn.request.v20180510.DescribeRefreshTasksRequest import (
        DescribeRefreshTasksRequest as OldDescribeRefreshTasks,
    )
    from aliyunsdkcdn.request.v20180510.DescribeRefreshQuotaRequest import (
        DescribeRefreshQuotaRequest as OldDescribeRefreshQuota,
    )
    from aliyunsdkcdn.request.v20180510.PushObjectCacheRequest import PushObjectCacheRequest as OldPushObjectCache
    from aliyunsdkcdn.request.v20180510.RefreshObjectCachesRequest import (
        RefreshObjectCachesRequest as OldRefreshObjectCaches,
    )
    from alibabacloud_cdn20180510 import models as cdn_models
    from alibabacloud_cdn20180510.client import Client as TeaClient
    from alibabacloud_tea_openapi import exceptions as tea_exceptions
    from alibabacloud_tea_openapi import utils_models as open_api_models  # tea-openapi 0.4.x path
    from Tea.exceptions import TeaException
except ImportError as e:  # pragma: no cover - setup problem, not a server problem
    sys.stderr.write(f"test_sdk.py: cannot import the SDKs ({e}); install tests/sdk/requirements.txt\n")
    sys.exit(2)

# The old SDK logs every ServerException at ERROR level; the checks report errors themselves.
logging.disable(logging.CRITICAL)

DEFAULT_AT = "2026-11-20T10:03:00Z"
REQUEST_ID_HEADER = "x-acs-request-id"
SIGNATURE_MESSAGE = "Specified signature is not matched with our calculation. server string to sign is:"

# Request parameter name -> Tea model field.
TEA_FIELDS = {
    "Area": "area",
    "DomainName": "domain_name",
    "EndTime": "end_time",
    "Force": "force",
    "L2Preload": "l_2preload",
    "ObjectPath": "object_path",
    "ObjectType": "object_type",
    "PageNumber": "page_number",
    "PageSize": "page_size",
    "StartTime": "start_time",
    "Status": "status",
    "TaskId": "task_id",
    "WithHeader": "with_header",
}

# Action -> typed request of the old SDK.
OLD_REQUESTS = {
    "DescribeRefreshTasks": OldDescribeRefreshTasks,
    "DescribeRefreshTaskById": OldDescribeRefreshTaskById,
    "DescribeRefreshQuota": OldDescribeRefreshQuota,
    "RefreshObjectCaches": OldRefreshObjectCaches,
    "PushObjectCache": OldPushObjectCache,
}

# Action -> (Tea client method, Tea request model).
TEA_CALLS = {
    "DescribeRefreshTasks": ("describe_refresh_tasks", cdn_models.DescribeRefreshTasksRequest),
    "DescribeRefreshTaskById": ("describe_refresh_task_by_id", cdn_models.DescribeRefreshTaskByIdRequest),
    "DescribeRefreshQuota": ("describe_refresh_quota", cdn_models.DescribeRefreshQuotaRequest),
    "RefreshObjectCaches": ("refresh_object_caches", cdn_models.RefreshObjectCachesRequest),
    "PushObjectCache": ("push_object_cache", cdn_models.PushObjectCacheRequest),
}


# --- mode writes -------------------------------------------------------------------------------
# Facts of tests/sdk/writes.toml the checks rely on (keep in step with that file).
WRITES_DOMAINS = ("static.example.com", "img.example.com")  # img.example.com is https
WRITES_QUEUE_DELAY = datetime.timedelta(seconds=2)           # [lifecycle] queue_delay
WRITES_PROCESSING = {                                         # [lifecycle.processing]
    "file": datetime.timedelta(minutes=5),
    "preload": datetime.timedelta(minutes=20),
}
WRITES_QUOTA_DAY_END = "2026-11-20T16:00:00Z"  # quotas reset at midnight +08:00; the run stays before
POLL_STEP = "2m"                                # clock advance before every poll
POLL_STEP_DELTA = datetime.timedelta(minutes=2)
MAX_POLLS = 15                                  # 30 simulated minutes: preloads end after 20m 2s
UNKNOWN_DOMAIN = "nosuch.example.org"
QUOTA_KINDS = ("Url", "Dir", "Regex", "IgnoreParams", "Preload", "PreloadEdge", "Block")
MSG_QUOTA_REFRESH = "Your refresh attempts have exceeded the daily limit."
MSG_QUOTA_PRELOAD = "Your preload attempts have exceeded the daily limit."
MSG_DOMAIN_NOT_FOUND = f"The domain [{UNKNOWN_DOMAIN}] does not belong to you."
MSG_OVER_LIMIT_REFRESH = "A maximum of 1000 URLs are supported for each request."  # [limits] defaults
MSG_OVER_LIMIT_PRELOAD = "A maximum of 100 URLs are supported for each request."
MSG_MALFORMED_PREFIX = "The specified ObjectPath is invalid"
PROCESS_RE = re.compile(r"(\d+(?:\.\d+)?)%")


def parse_time(text):
    """An RFC 3339 UTC time as the server prints it ('...Z', with or without milliseconds)."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def row_time(moment):
    """A time as rows show it (CreationTime): whole seconds, 'Z'."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CheckFailed(Exception):
    pass


def first_difference(expected, actual, path="$"):
    """A one-line description of the first place where two JSON values differ, or None."""
    if type(expected) is not type(actual):
        return f"{path}: expected {expected!r} ({type(expected).__name__}), got {actual!r} ({type(actual).__name__})"
    if isinstance(expected, dict):
        for key in expected:
            if key not in actual:
                return f"{path}.{key}: missing (expected {expected[key]!r})"
        for key in actual:
            if key not in expected:
                return f"{path}.{key}: unexpected field ({actual[key]!r})"
        for key in expected:
            diff = first_difference(expected[key], actual[key], f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(expected, list):
        for i, (e, a) in enumerate(zip(expected, actual)):
            diff = first_difference(e, a, f"{path}[{i}]")
            if diff:
                return diff
        if len(expected) != len(actual):
            return f"{path}: expected {len(expected)} items, got {len(actual)}"
        return None
    if expected != actual:
        return f"{path}: expected {expected!r}, got {actual!r}"
    return None


class ApiError(Exception):
    """An error answer as one SDK reported it."""

    def __init__(self, code, status, message, request_id, kind, data=None, retry_after=None):
        super().__init__(f"{kind} HTTP {status} {code}: {message}")
        self.code = code
        self.status = status
        self.message = message
        self.request_id = request_id
        self.kind = kind
        self.data = data
        self.retry_after = retry_after


class Reply:
    """A success answer: the parsed body, plus status and headers when the SDK exposes them."""

    def __init__(self, body, status=None, headers=None):
        self.body = body
        self.status = status
        self.headers = headers


# ---------------------------------------------------------------------------------------------
# SDK adapters: each turns (action, params) into a Reply or raises ApiError / CheckFailed.


class OldSdk:
    """aliyun-python-sdk-core AcsClient with the typed aliyunsdkcdn requests (signature V1)."""

    def __init__(self, endpoint, key_id, secret, method="POST"):
        self.name = "old-sdk" if method == "POST" else f"old-sdk-{method.lower()}"
        self.endpoint = endpoint
        self.method = method
        self.client = AcsClient(key_id, secret, "cn-hangzhou", auto_retry=False, connect_timeout=5, timeout=30)

    def call(self, action, params):
        req = OLD_REQUESTS[action]()
        req.set_endpoint(self.endpoint)
        req.set_protocol_type("http")
        req.set_method(self.method)
        for key, value in params.items():
            getattr(req, "set_" + key)(value)
        try:
            raw = self.client.do_action_with_exception(req)
        except OldServerException as e:
            raise ApiError(
                e.get_error_code(), e.get_http_status(), e.get_error_msg(), e.get_request_id(), type(e).__name__
            )
        except OldClientException as e:
            raise CheckFailed(f"client-side error (no server answer?): {e.get_error_code()}: {e.get_error_msg()}")
        try:
            return Reply(json.loads(raw))
        except ValueError as e:
            raise CheckFailed(f"success body is not JSON ({e}): {raw[:500]!r}")


class TeaSdk:
    """alibabacloud-cdn20180510 (Tea, tea-openapi 0.4.x): V3 by default, V1 with signature_algorithm='v2'."""

    def __init__(self, endpoint, key_id, secret, v2=False):
        self.name = "tea-v2" if v2 else "tea-v3"
        config = open_api_models.Config(
            access_key_id=key_id,
            access_key_secret=secret,
            endpoint=endpoint,
            protocol="http",
            connect_timeout=5000,
            read_timeout=30000,
        )
        if v2:
            config.signature_algorithm = "v2"
        self.client = TeaClient(config)

    def call(self, action, params):
        kwargs = {TEA_FIELDS[k]: v for k, v in params.items()}
        method, model = TEA_CALLS[action]
        try:
            resp = getattr(self.client, method)(model(**kwargs))
        except tea_exceptions.AlibabaCloudException as e:
            data = dict(e.data) if isinstance(e.data, dict) else e.data
            raise ApiError(e.code, e.status_code, e.message, e.request_id, type(e).__name__, data,
                           getattr(e, "retry_after", None))
        except TeaException as e:
            # Transport failures, or an error/success body Tea could not parse.
            raise CheckFailed(f"Tea raised {type(e).__name__} (no parsable answer?): {e}")
        except ValueError as e:
            raise CheckFailed(f"Tea could not parse the answer: {type(e).__name__}: {e}")
        return Reply(resp.body.to_map(), resp.status_code, resp.headers)


# ---------------------------------------------------------------------------------------------


class Harness:
    def __init__(self, args):
        self.args = args
        self.endpoint = f"{args.host}:{args.port}"
        self.checks = 0
        # What `cdnsim query` reads: the log and the time. Mode writes moves `at` with the
        # server's clock.
        self.log = args.log
        self.at = args.at

    # -- output ---------------------------------------------------------------------------

    def ok(self, label):
        self.checks += 1
        print(f"ok   {label}", flush=True)

    def fail(self, label, detail):
        print(f"FAIL {label}", flush=True)
        for line in str(detail).splitlines():
            print(f"     {line}", flush=True)
        print(f"test_sdk.py --mode {self.args.mode}: FAILED after {self.checks} passing checks", flush=True)
        sys.exit(1)

    # -- reference ------------------------------------------------------------------------

    def query(self, action, params):
        """(exit code, parsed body) of `cdnsim query` for the same request."""
        cmd = [self.args.cdnsim, "query", self.log, "--at", self.at, "Format=JSON", f"Action={action}"]
        cmd += [f"{k}={v}" for k, v in params.items()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise CheckFailed(f"cannot run {' '.join(cmd)}: {e}")
        if proc.returncode not in (0, 2):
            raise CheckFailed(f"{' '.join(cmd)} exited {proc.returncode}\nstderr: {proc.stderr}")
        try:
            return proc.returncode, json.loads(proc.stdout)
        except ValueError:
            raise CheckFailed(f"{' '.join(cmd)} printed no JSON:\n{proc.stdout}\nstderr: {proc.stderr}")

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def describe(action, params):
        shown = " ".join(f"{k}={v}" for k, v in params.items()) or "(no filters)"
        return f"{action} {shown}"

    @staticmethod
    def without_request_id(body):
        body = dict(body)
        body.pop("RequestId", None)
        return body

    @staticmethod
    def dumps(obj):
        return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False)

    @staticmethod
    def check_reply_meta(reply):
        """Status 200, x-acs-request-id == body RequestId and a JSON Content-Type (when exposed)."""
        rid = reply.body.get("RequestId")
        if not isinstance(rid, str) or not rid:
            raise CheckFailed(f"missing/empty RequestId in the answer: {reply.body!r}")
        if reply.status is not None and reply.status != 200:
            raise CheckFailed(f"HTTP status {reply.status}, expected 200")
        if reply.headers is not None:
            headers = {k.lower(): v for k, v in reply.headers.items()}
            if headers.get(REQUEST_ID_HEADER) != rid:
                raise CheckFailed(
                    f"header {REQUEST_ID_HEADER}={headers.get(REQUEST_ID_HEADER)!r} "
                    f"does not equal body RequestId {rid!r}"
                )
            ctype = headers.get("content-type", "")
            if not ctype.lower().startswith("application/json"):
                raise CheckFailed(f"Content-Type {ctype!r}, expected application/json;charset=utf-8")

    def run_check(self, label, fn):
        try:
            note = fn()
        except CheckFailed as e:
            self.fail(label, e)
        except ApiError as e:
            self.fail(label, f"unexpected error answer: {e}")
        self.ok(f"{label}{' ' + note if note else ''}")

    # -- success checks -------------------------------------------------------------------

    def expect_same(self, sdk, action, params, label=None):
        """The SDK's answer equals `cdnsim query` minus RequestId. Returns the SDK body."""
        result = {}

        def check():
            rc, expected = self.query(action, params)
            if rc != 0:
                raise CheckFailed(f"fixture problem: cdnsim query answered an error: {expected}")
            reply = sdk.call(action, params)
            body = reply.body
            rid = body.get("RequestId")
            if not isinstance(rid, str) or not rid:
                raise CheckFailed(f"missing/empty RequestId in the answer: {self.dumps(body)}")
            if self.without_request_id(body) != self.without_request_id(expected):
                raise CheckFailed(
                    "answer differs from cdnsim query (RequestId ignored): "
                    f"{first_difference(self.without_request_id(expected), self.without_request_id(body))}"
                    "\n--- cdnsim query\n"
                    f"{self.dumps(self.without_request_id(expected))}\n--- {sdk.name}\n"
                    f"{self.dumps(self.without_request_id(body))}"
                )
            self.check_reply_meta(reply)
            result["body"] = body
            if action == "DescribeRefreshTasks":
                return f"({len(body['Tasks']['CDNTask'])} of {body['TotalCount']} rows)"
            return f"({body['TotalCount']} rows)"

        self.run_check(f"[{sdk.name}] {label or self.describe(action, params)}", check)
        return result["body"]

    # -- error checks ---------------------------------------------------------------------

    def expect_error(self, sdk, action, params, code, status, compare_query=True, message_prefix=None, label=None,
                     message=None):
        """The SDK reports error `code` with HTTP `status`; with compare_query, the body matches cdnsim query.

        With `message`, the error's Message must be exactly that (old SDK: get_error_msg(); Tea:
        the Code and Message of .data, the whole error body)."""

        def check():
            expected = None
            if compare_query:
                rc, expected = self.query(action, params)
                if rc != 2 or expected.get("Code") != code:
                    raise CheckFailed(f"fixture problem: cdnsim query answered {expected}, expected Code {code}")
            try:
                reply = sdk.call(action, params)
            except ApiError as e:
                err = e
            else:
                raise CheckFailed(f"expected error {code} (HTTP {status}), got success: {self.dumps(reply.body)}")
            problems = []
            if err.code != code:
                problems.append(f"code {err.code!r}, expected {code!r}")
            if err.status != status:
                problems.append(f"HTTP status {err.status!r}, expected {status}")
            if not err.request_id or err.request_id == "None":
                problems.append(f"no RequestId reported ({err.request_id!r})")
            if sdk.name.startswith("tea"):
                want_kind = "ClientException" if 400 <= status < 500 else "ServerException"
                if err.kind != want_kind:
                    problems.append(f"Tea raised {err.kind}, expected {want_kind}")
            if message_prefix is not None:
                # Tea formats message as "code: <status>, <Message> request id: <RequestId>".
                text = err.message or ""
                if sdk.name.startswith("tea"):
                    text = text.split(", ", 1)[1] if ", " in text else text
                if not text.startswith(message_prefix):
                    problems.append(f"message {err.message!r} does not start with {message_prefix!r}")
            if message is not None:
                if sdk.name.startswith("old"):
                    if err.message != message:
                        problems.append(f"message {err.message!r}, expected {message!r}")
                else:
                    data = err.data if isinstance(err.data, dict) else {}
                    if data.get("Code") != code or data.get("Message") != message:
                        problems.append(f"error body Code/Message {data.get('Code')!r}/{data.get('Message')!r}, "
                                        f"expected {code!r}/{message!r}")
            if expected is not None:
                if sdk.name.startswith("old"):
                    if err.message != expected.get("Message"):
                        problems.append(f"message {err.message!r}, expected {expected.get('Message')!r}")
                else:
                    data = dict(err.data or {})
                    data.pop("statusCode", None)  # added by darabonba
                    if self.without_request_id(data) != self.without_request_id(expected):
                        problems.append(
                            "error body differs from cdnsim query (RequestId ignored): "
                            f"{first_difference(self.without_request_id(expected), self.without_request_id(data))}"
                            "\n--- cdnsim query\n"
                            f"{self.dumps(self.without_request_id(expected))}\n--- {sdk.name}\n"
                            f"{self.dumps(self.without_request_id(data))}"
                        )
            if problems:
                raise CheckFailed("\n".join(problems) + f"\nSDK reported: {err}")
            return None

        shown = label or self.describe(action, params)
        self.run_check(f"[{sdk.name}] {shown} -> HTTP {status} {code}", check)

    # -- suites ---------------------------------------------------------------------------

    def full_suite(self, sdk, get_variant=None):
        first = self.expect_same(sdk, "DescribeRefreshTasks", {})
        rows = first["Tasks"]["CDNTask"]
        ids = []
        for row in rows:
            if row["TaskId"] not in ids:
                ids.append(row["TaskId"])
        if len(ids) < 3:
            self.fail(f"[{sdk.name}] fixture", f"expected >= 3 distinct TaskIds at {self.args.at}, got {ids}")
        regex_row = next((r for r in rows if r["ObjectType"] == "regex"), None)

        param_sets = [
            {"ObjectType": "file", "Status": "Complete"},
            {"DomainName": "img.example.com", "ObjectType": "preload"},
            {"DomainName": "static.example.com", "ObjectType": "regex", "Status": "Refreshing"},
            {"ObjectType": "preload", "Status": "Failed", "PageSize": 1, "PageNumber": 2},
            {"TaskId": ids[1]},
            {"TaskId": ids[0], "PageSize": 5},
            {"StartTime": "2026-11-20T09:00:00Z", "EndTime": "2026-11-20T09:30:00Z"},
            {"StartTime": "2026-11-20T09:30:00Z", "EndTime": "2026-11-20T09:30:00Z"},
            {"ObjectPath": rows[-1]["ObjectPath"]},
        ]
        if regex_row is not None:
            # '*' and '\' exercise the percent-encoding of both signatures.
            param_sets.append({"ObjectPath": regex_row["ObjectPath"]})
        for params in param_sets:
            self.expect_same(sdk, "DescribeRefreshTasks", params)

        # Paging: every page equals cdnsim query, the pages add up to the unfiltered list, and the
        # page after the last one is empty with the true TotalCount.
        total = first["TotalCount"]
        size = 2
        paged = []
        for number in range(1, (total + size - 1) // size + 2):
            body = self.expect_same(sdk, "DescribeRefreshTasks", {"PageSize": size, "PageNumber": number})
            paged.extend(body["Tasks"]["CDNTask"])

        def pages_add_up():
            if paged != rows:
                raise CheckFailed(f"pages:\n{self.dumps(paged)}\nunfiltered:\n{self.dumps(rows)}")
            return f"({len(paged)} rows over {(total + size - 1) // size} pages)"

        self.run_check(f"[{sdk.name}] PageSize={size} pages add up to the unfiltered answer", pages_add_up)

        self.expect_same(sdk, "DescribeRefreshTaskById", {"TaskId": ids[0]})
        self.expect_same(sdk, "DescribeRefreshTaskById", {"TaskId": ",".join(ids[:3])})
        self.expect_same(sdk, "DescribeRefreshTaskById", {"TaskId": ",".join(ids)})

        self.expect_error(sdk, "DescribeRefreshTasks", {"PageSize": 0}, "InvalidParameter.PageSize", 400)
        self.expect_error(sdk, "DescribeRefreshTasks", {"ObjectType": "bogus"}, "InvalidObjectType.ValueNotSupported", 400)
        self.expect_error(sdk, "DescribeRefreshTasks", {"DomainName": "static.example.com"}, "MissingParameter.ObjectType", 400)
        self.expect_error(
            sdk,
            "DescribeRefreshTaskById",
            {"TaskId": ",".join(str(9000000000 + i) for i in range(11))},
            "InvalidTaskId",
            400,
            label="DescribeRefreshTaskById TaskId=<11 ids>",
        )

        if get_variant is not None:
            self.expect_same(get_variant, "DescribeRefreshTasks", {})
            self.expect_same(get_variant, "DescribeRefreshTasks", {"ObjectType": "file", "Status": "Complete"})
            if regex_row is not None:
                self.expect_same(get_variant, "DescribeRefreshTasks", {"ObjectPath": regex_row["ObjectPath"]})
            self.expect_same(get_variant, "DescribeRefreshTaskById", {"TaskId": ",".join(ids[:3])})
            self.expect_error(get_variant, "DescribeRefreshTasks", {"PageSize": 0}, "InvalidParameter.PageSize", 400)

    def rejection_suite(self, key_id, secret):
        good = [
            OldSdk(self.endpoint, key_id, secret),
            TeaSdk(self.endpoint, key_id, secret),
            TeaSdk(self.endpoint, key_id, secret, v2=True),
        ]
        for sdk in good:  # control: the right key is accepted by this server
            self.expect_same(sdk, "DescribeRefreshTasks", {"PageSize": 3})

        wrong = secret + "-wrong"
        requests = [
            ("DescribeRefreshTasks", {}),
            ("DescribeRefreshTasks", {"ObjectPath": "http://static.example.com/img/.*\\.png", "PageSize": 5}),
            ("DescribeRefreshTaskById", {"TaskId": "9000000000,9000000002"}),
        ]
        expectations = [
            # The old SDK rewrites SignatureDoesNotMatch to InvalidAccessKeySecret only when the
            # server's echoed string to sign equals its own, byte for byte.
            (OldSdk(self.endpoint, key_id, wrong), "InvalidAccessKeySecret",
             "The AccessKeySecret is incorrect."),
            (OldSdk(self.endpoint, key_id, wrong, method="GET"), "InvalidAccessKeySecret",
             "The AccessKeySecret is incorrect."),
            (TeaSdk(self.endpoint, key_id, wrong), "SignatureDoesNotMatch", SIGNATURE_MESSAGE + "ACS3-HMAC-SHA256\n"),
            (TeaSdk(self.endpoint, key_id, wrong, v2=True), "SignatureDoesNotMatch", SIGNATURE_MESSAGE + "POST&%2F&"),
        ]
        for sdk, code, prefix in expectations:
            for action, params in requests:
                self.expect_error(sdk, action, params, code, 400, compare_query=False, message_prefix=prefix,
                                  label=f"wrong secret: {self.describe(action, params)}")

        unknown_id = "cdnsimNoSuchKeyId"
        for sdk in (
            OldSdk(self.endpoint, unknown_id, secret),
            OldSdk(self.endpoint, unknown_id, secret, method="GET"),
            TeaSdk(self.endpoint, unknown_id, secret),
            TeaSdk(self.endpoint, unknown_id, secret, v2=True),
        ):
            for action, params in requests[::2]:
                self.expect_error(sdk, action, params, "InvalidAccessKeyId.NotFound", 404, compare_query=False,
                                  label=f"unknown key id: {self.describe(action, params)}")

    # -- mode writes ----------------------------------------------------------------------

    def admin(self, method, path, body=None):
        """A call to the server's admin endpoints (no SDK, no signature): the parsed JSON answer."""
        conn = http.client.HTTPConnection(self.args.host, self.args.port, timeout=120)
        data = None if body is None else json.dumps(body).encode()
        try:
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise CheckFailed(f"{method} {path}: {type(e).__name__}: {e}")
        finally:
            conn.close()
        if resp.status != 200:
            raise CheckFailed(f"{method} {path} {body or ''} -> HTTP {resp.status}: {raw[:500]!r}")
        try:
            return json.loads(raw)
        except ValueError:
            raise CheckFailed(f"{method} {path} answered no JSON: {raw[:500]!r}")

    def admin_status(self, method, path, body=None):
        """(HTTP status, raw body) of an admin call."""
        conn = http.client.HTTPConnection(self.args.host, self.args.port, timeout=120)
        data = None if body is None else json.dumps(body).encode()
        try:
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise CheckFailed(f"{method} {path}: {type(e).__name__}: {e}")
        finally:
            conn.close()

    def add_rule(self, rule):
        status, raw = self.admin_status("POST", "/_cdnsim/rules", rule)
        if status != 201:
            raise CheckFailed(f"POST /_cdnsim/rules {rule} -> HTTP {status}: {raw[:500]!r}")
        return json.loads(raw)

    def advance_clock(self, step, delta):
        """POST /_cdnsim/clock {"advance": step}; the new `now` must be the old one plus `delta`."""
        before = parse_time(self.at)
        answer = self.admin("POST", "/_cdnsim/clock", {"advance": step})
        now = answer.get("now")
        if not isinstance(now, str) or parse_time(now) != before + delta:
            raise CheckFailed(f"clock answered {answer}, expected now = {before + delta}")
        self.at = now
        return now

    def read_quota(self, sdk, label, expect=None):
        """DescribeRefreshQuota: the shape (every value a string of digits), quotas that never
        change, and with `expect` ({kind: remain}) the remains. Returns {kind: remain} as ints."""
        out = {}

        def check():
            reply = sdk.call("DescribeRefreshQuota", {})
            self.check_reply_meta(reply)
            body = reply.body
            want = {f"{kind}{part}" for kind in QUOTA_KINDS for part in ("Quota", "Remain")} | {"RequestId"}
            if set(body) != want:
                raise CheckFailed(f"fields {sorted(body)}, expected {sorted(want)}")
            for key in sorted(want - {"RequestId"}):
                if not isinstance(body[key], str) or not body[key].isdigit():
                    raise CheckFailed(f"{key}={body[key]!r}: expected a string of digits")
            quotas = {kind: int(body[f"{kind}Quota"]) for kind in QUOTA_KINDS}
            remains = {kind: int(body[f"{kind}Remain"]) for kind in QUOTA_KINDS}
            for kind in QUOTA_KINDS:
                if remains[kind] > quotas[kind]:
                    raise CheckFailed(f"{kind}Remain {remains[kind]} > {kind}Quota {quotas[kind]}")
            if self.quota_totals is None:
                self.quota_totals = quotas
            elif quotas != self.quota_totals:
                raise CheckFailed(f"quotas changed: {quotas}, first seen {self.quota_totals}")
            if expect is not None and remains != expect:
                wrong = [f"{k}Remain {remains[k]} (expected {expect[k]})" for k in QUOTA_KINDS if remains[k] != expect[k]]
                raise CheckFailed("; ".join(wrong))
            out.update(remains)
            return f"(UrlRemain={remains['Url']}/{quotas['Url']} PreloadRemain={remains['Preload']}/{quotas['Preload']})"

        self.run_check(f"[{sdk.name}] DescribeRefreshQuota {label}", check)
        return out

    def expect_write(self, sdk, action, params, id_field, count, label):
        """A write succeeds with {id_field, RequestId} only; id_field holds `count` distinct
        numeric TaskIds joined with ','. Returns the ids."""
        result = {}

        def check():
            reply = sdk.call(action, params)
            self.check_reply_meta(reply)
            body = reply.body
            if set(body) != {id_field, "RequestId"}:
                raise CheckFailed(f"fields {sorted(body)}, expected {sorted([id_field, 'RequestId'])}: {body}")
            value = body[id_field]
            if not isinstance(value, str) or not re.fullmatch(r"[0-9]+(,[0-9]+)*", value):
                raise CheckFailed(f"{id_field}={value!r}: expected numeric TaskIds joined with ','")
            ids = value.split(",")
            if len(ids) != count or len(set(ids)) != count:
                raise CheckFailed(f"{id_field}={value!r}: expected {count} distinct TaskIds")
            result["ids"] = ids
            return f"({id_field}={value})"

        self.run_check(f"[{sdk.name}] {label}", check)
        return result["ids"]

    def check_rows(self, rows, spec, created, now):
        """Rows of one submission cycle as of `now`. spec: ObjectPath -> (ObjectType, TaskId).
        writes.toml fixes the lifecycle: Pending for the 2s queue delay, then Refreshing, then
        Complete exactly when processing is over (failures are off in writes.toml)."""
        paths = sorted(row["ObjectPath"] for row in rows)
        if paths != sorted(spec):
            raise CheckFailed(f"rows {paths}, expected exactly {sorted(spec)}")
        counts = {"Pending": 0, "Refreshing": 0, "Complete": 0}
        for row in rows:
            path = row["ObjectPath"]
            object_type, task_id = spec[path]
            where = f"row {path}"
            if row["TaskId"] != task_id:
                raise CheckFailed(f"{where}: TaskId {row['TaskId']}, expected {task_id}")
            if row["ObjectType"] != object_type:
                raise CheckFailed(f"{where}: ObjectType {row['ObjectType']!r}, expected {object_type!r}")
            if row["CreationTime"] != row_time(created):
                raise CheckFailed(f"{where}: CreationTime {row['CreationTime']}, expected {row_time(created)}")
            if row["Description"] != "":
                raise CheckFailed(f"{where}: Description {row['Description']!r}, expected ''")
            match = PROCESS_RE.fullmatch(row["Process"])
            if not match:
                raise CheckFailed(f"{where}: Process {row['Process']!r} is not a percentage")
            process = float(match.group(1))
            end = created + WRITES_QUEUE_DELAY + WRITES_PROCESSING[object_type]
            if now >= end:
                want, ok = "Complete", row["Process"] == "100%"
            elif now >= created + WRITES_QUEUE_DELAY:
                want, ok = "Refreshing", process < 100
            else:
                want, ok = "Pending", row["Process"] == "0%"
            if row["Status"] != want or not ok:
                raise CheckFailed(f"{where}: Status {row['Status']} Process {row['Process']} at {row_time(now)}, "
                                  f"expected {want} (created {row_time(created)}, ends {end})")
            previous = self.process_seen.get(path)
            if previous is not None and process < previous:
                raise CheckFailed(f"{where}: Process went down from {previous}% to {process}%")
            self.process_seen[path] = process
            counts[want] += 1
        return "(" + ", ".join(f"{n} {status}" for status, n in counts.items() if n) + ")"

    def write_cycle(self, sdk, object_type, force):
        """One SDK: submit, see the rows, poll them to Complete, quotas, then the write errors."""
        tag = sdk.name
        static, img = WRITES_DOMAINS
        created = parse_time(self.at)
        self.process_seen = {}

        listing = self.expect_same(sdk, "DescribeRefreshTasks", {"PageSize": 100},
                                   label="DescribeRefreshTasks PageSize=100 (before submitting)")
        if listing["TotalCount"] > 100:
            self.fail(f"[{tag}] fixture", f"{listing['TotalCount']} rows: the known TaskIds do not fit one page")
        known_ids = {row["TaskId"] for row in listing["Tasks"]["CDNTask"]}
        total_before = listing["TotalCount"]
        q0 = self.read_quota(sdk, "before submitting")

        # '%', '?', '&' and '=' in a path exercise the encoding of query strings (old SDK) and
        # form bodies (Tea puts RefreshObjectCaches in one) in both signatures.
        static_paths = [f"http://{static}/sdk/{tag}/a%20b.js?v=1&x=2", f"http://{static}/sdk/{tag}/b.js"]
        img_paths = [f"https://{img}/sdk/{tag}/c.png"]
        params = {"ObjectPath": "\n".join(static_paths + img_paths), "ObjectType": object_type}
        shown = f"ObjectType={object_type}"
        if force is not None:
            params["Force"] = force
            shown += f" Force={force}"
        refresh_ids = self.expect_write(sdk, "RefreshObjectCaches", params, "RefreshTaskId", 2,
                                        f"RefreshObjectCaches {shown} (2 URLs on {static}, 1 on {img})")
        preload_path = f"https://{img}/sdk/{tag}/hero.jpg"
        push_params = {"ObjectPath": preload_path, "Area": "domestic", "L2Preload": True,
                       "WithHeader": json.dumps({"Accept-Encoding": ["gzip"]})}
        (push_id,) = self.expect_write(sdk, "PushObjectCache", push_params, "PushTaskId", 1,
                                       "PushObjectCache Area=domestic L2Preload=True WithHeader=... (1 URL)")

        def ids_are_new():
            reused = [i for i in refresh_ids + [push_id] if i in known_ids]
            if reused:
                raise CheckFailed(f"TaskIds {reused} already existed before the submissions")
            if push_id in refresh_ids:
                raise CheckFailed(f"PushTaskId {push_id} is also a RefreshTaskId")
            return f"({','.join(refresh_ids)} and {push_id} not among {len(known_ids)} earlier ids)"

        self.run_check(f"[{tag}] the new TaskIds are new", ids_are_new)
        q1 = self.read_quota(sdk, "after submitting 3 URLs and 1 preload",
                             expect=dict(q0, Url=q0["Url"] - 3, Preload=q0["Preload"] - 1))

        # Which refresh id is whose: the two static.example.com rows share one, img the other.
        by_id = self.expect_same(sdk, "DescribeRefreshTaskById", {"TaskId": ",".join(refresh_ids)},
                                 label="DescribeRefreshTaskById TaskId=<the 2 refresh ids> (right after)")
        owner = {row["ObjectPath"]: row["TaskId"] for row in by_id["Tasks"]}

        def ids_per_domain():
            got = sorted(owner)
            if got != sorted(static_paths + img_paths):
                raise CheckFailed(f"rows {got}, expected {sorted(static_paths + img_paths)}")
            static_ids = {owner[p] for p in static_paths}
            if len(static_ids) != 1 or owner[img_paths[0]] in static_ids:
                raise CheckFailed(f"TaskIds by path {owner}: expected one for {static}, another for {img}")
            return f"({static}: {owner[static_paths[0]]}, {img}: {owner[img_paths[0]]})"

        self.run_check(f"[{tag}] one RefreshTaskId per domain", ids_per_domain)
        spec = {p: ("file", owner[p]) for p in static_paths + img_paths}
        spec[preload_path] = ("preload", push_id)
        all_ids = ",".join(refresh_ids + [push_id])

        body = self.expect_same(sdk, "DescribeRefreshTaskById", {"TaskId": all_ids},
                                label="DescribeRefreshTaskById TaskId=<3 new ids> (right after)")
        self.run_check(f"[{tag}] rows right after submitting",
                       lambda: self.check_rows(body["Tasks"], spec, created, parse_time(self.at)))

        for poll in range(1, MAX_POLLS + 1):
            self.run_check(f"[{tag}] poll {poll}: POST /_cdnsim/clock advance {POLL_STEP}",
                           lambda: "-> " + self.advance_clock(POLL_STEP, POLL_STEP_DELTA))
            body = self.expect_same(sdk, "DescribeRefreshTaskById", {"TaskId": all_ids},
                                    label=f"poll {poll}: DescribeRefreshTaskById TaskId=<3 new ids>")
            now = parse_time(self.at)
            self.run_check(f"[{tag}] poll {poll}: rows at {row_time(now)} follow the lifecycle",
                           lambda: self.check_rows(body["Tasks"], spec, created, now))
            if all(row["Status"] == "Complete" for row in body["Tasks"]):
                break
        else:
            self.fail(f"[{tag}] polling", f"rows not all Complete after {MAX_POLLS} polls: {self.dumps(body)}")

        finished = []
        for task_id in refresh_ids + [push_id]:
            body = self.expect_same(sdk, "DescribeRefreshTasks", {"TaskId": task_id})
            finished.extend(body["Tasks"]["CDNTask"])
        self.run_check(f"[{tag}] DescribeRefreshTasks TaskId=<each new id>: all rows Complete",
                       lambda: self.check_rows(finished, spec, created, parse_time(self.at)))
        self.expect_same(sdk, "DescribeRefreshTasks", {"ObjectPath": static_paths[0]})
        self.expect_same(sdk, "DescribeRefreshTasks", {"DomainName": img, "ObjectType": "preload", "Status": "Complete"})
        self.read_quota(sdk, "after completion (unchanged)", expect=q1)

        # Errors: none of them may use quota or create rows.
        def urls(domain, scheme, n, kind):
            return "\n".join(f"{scheme}://{domain}/sdk/{tag}/{kind}/{i}.js" for i in range(n))

        n = q1["Url"] + 1
        self.expect_error(sdk, "RefreshObjectCaches", {"ObjectPath": urls(static, "http", n, "quota"), "ObjectType": object_type},
                          "QuotaExceeded.Refresh", 400, compare_query=False, message=MSG_QUOTA_REFRESH,
                          label=f"RefreshObjectCaches {n} URLs (UrlRemain + 1)")
        n = q1["Preload"] + 1
        self.expect_error(sdk, "PushObjectCache", {"ObjectPath": urls(img, "https", n, "quota")},
                          "QuotaExceeded.Preload", 400, compare_query=False, message=MSG_QUOTA_PRELOAD,
                          label=f"PushObjectCache {n} URLs (PreloadRemain + 1)")
        unknown = f"http://{UNKNOWN_DOMAIN}/sdk/{tag}/x.js"
        self.expect_error(sdk, "RefreshObjectCaches", {"ObjectPath": unknown, "ObjectType": object_type},
                          "InvalidDomain.NotFound", 404, compare_query=False, message=MSG_DOMAIN_NOT_FOUND,
                          label=f"RefreshObjectCaches ObjectPath={unknown}")
        mixed = f"http://{static}/sdk/{tag}/mixed.js\n{unknown}"
        self.expect_error(sdk, "RefreshObjectCaches", {"ObjectPath": mixed, "ObjectType": object_type},
                          "InvalidDomain.NotFound", 404, compare_query=False, message=MSG_DOMAIN_NOT_FOUND,
                          label=f"RefreshObjectCaches one URL on {static} + one on {UNKNOWN_DOMAIN}")
        self.expect_error(sdk, "PushObjectCache", {"ObjectPath": unknown},
                          "InvalidDomain.NotFound", 404, compare_query=False, message=MSG_DOMAIN_NOT_FOUND,
                          label=f"PushObjectCache ObjectPath={unknown}")
        # 1001 short URLs: the old SDK sends them in the query string (under the 64 KiB a URI
        # may have in cdnsim, see the README's fidelity notes), Tea in the form body; both
        # must reach the per-request check.
        many = "\n".join(f"{static}/c/{i}.js" for i in range(1001))
        self.expect_error(sdk, "RefreshObjectCaches", {"ObjectPath": many, "ObjectType": object_type},
                          "SingleRequest.OverLimit", 400, compare_query=False, message=MSG_OVER_LIMIT_REFRESH,
                          label="RefreshObjectCaches 1001 URLs")
        self.expect_error(sdk, "PushObjectCache", {"ObjectPath": urls(img, "https", 101, "many")},
                          "SingleRequest.OverLimit", 400, compare_query=False, message=MSG_OVER_LIMIT_PRELOAD,
                          label="PushObjectCache 101 URLs")
        self.expect_error(sdk, "RefreshObjectCaches", {"ObjectPath": "https://broken-path", "ObjectType": object_type},
                          "InvalidObjectPath.Malformed", 400, compare_query=False, message_prefix=MSG_MALFORMED_PREFIX,
                          label="RefreshObjectCaches ObjectPath=https://broken-path")
        self.read_quota(sdk, "after the refused writes (unchanged)", expect=q1)
        after = self.expect_same(sdk, "DescribeRefreshTasks", {"PageSize": 1},
                                 label="DescribeRefreshTasks PageSize=1 (after the refused writes)")

        def row_count():
            if after["TotalCount"] != total_before + 4:
                raise CheckFailed(f"TotalCount {after['TotalCount']}, expected {total_before} + 4")
            return f"({total_before} + 4 rows)"

        self.run_check(f"[{tag}] only the 4 accepted rows were added", row_count)

    def drain_quotas(self, sdks):
        """Use up what is left of the URL and preload quotas, then every SDK gets QuotaExceeded."""
        first = sdks[0]
        static, img = WRITES_DOMAINS
        q = self.read_quota(first, "before draining")
        if q["Url"] < 1 or q["Preload"] < 1:
            self.fail(f"[{first.name}] fixture", f"expected some quota left to drain, got {q}")
        paths = "\n".join(f"http://{static}/sdk/drain/{i}.js" for i in range(q["Url"]))
        self.expect_write(first, "RefreshObjectCaches", {"ObjectPath": paths, "ObjectType": "File"}, "RefreshTaskId", 1,
                          f"RefreshObjectCaches {q['Url']} URLs (all of UrlRemain)")
        paths = "\n".join(f"https://{img}/sdk/drain/{i}.js" for i in range(q["Preload"]))
        self.expect_write(first, "PushObjectCache", {"ObjectPath": paths}, "PushTaskId", 1,
                          f"PushObjectCache {q['Preload']} URLs (all of PreloadRemain)")
        drained = dict(q, Url=0, Preload=0)
        for sdk in sdks:
            self.read_quota(sdk, "after draining", expect=drained)
            self.expect_error(sdk, "RefreshObjectCaches", {"ObjectPath": f"http://{static}/sdk/drain/more.js"},
                              "QuotaExceeded.Refresh", 400, compare_query=False, message=MSG_QUOTA_REFRESH,
                              label="RefreshObjectCaches 1 URL with UrlRemain 0")
            self.expect_error(sdk, "PushObjectCache", {"ObjectPath": f"https://{img}/sdk/drain/more.js"},
                              "QuotaExceeded.Preload", 400, compare_query=False, message=MSG_QUOTA_PRELOAD,
                              label="PushObjectCache 1 URL with PreloadRemain 0")
        self.read_quota(sdks[-1], "at the end (still drained)", expect=drained)

    def writes_suite(self, key_id, secret):
        self.quota_totals = None

        def clock_at_start():
            answer = self.admin("GET", "/_cdnsim/clock")
            if answer.get("mode") != "manual" or parse_time(answer.get("now", "")) != parse_time(self.at):
                raise CheckFailed(f"clock {answer}, expected mode manual at {self.at}")
            self.at = answer["now"]
            return f"({self.at})"

        self.run_check("GET /_cdnsim/clock: manual, at --at", clock_at_start)
        sdks = [
            OldSdk(self.endpoint, key_id, secret),
            TeaSdk(self.endpoint, key_id, secret),
            TeaSdk(self.endpoint, key_id, secret, v2=True),
        ]
        # The old SDK's RefreshObjectCachesRequest has no Force; ObjectType in three casings.
        for sdk, object_type, force in zip(sdks, ("File", "file", "FILE"), (None, True, False)):
            self.write_cycle(sdk, object_type, force)
        self.drain_quotas(sdks)

        def still_same_quota_day():
            if parse_time(self.at) >= parse_time(WRITES_QUOTA_DAY_END):
                raise CheckFailed(f"clock {self.at} passed the quota reset {WRITES_QUOTA_DAY_END}")
            return f"({self.at})"

        self.run_check("the run stayed inside one quota day", still_same_quota_day)

    # -- mode rules -----------------------------------------------------------------------

    # (action, params, code, status, Tea's exception, x-acs-retry-after in ms or None)
    INJECTED = (
        ("RefreshObjectCaches", {"ObjectPath": "http://static.example.com/rules/a.js"},
         "Throttling.User", 400, "ThrottlingException", 1000),
        ("DescribeRefreshTasks", {"PageSize": 5}, "ServiceUnavailable", 503, "ServerException", None),
        ("DescribeRefreshQuota", {}, "InternalError", 500, "ServerException", None),
        ("PushObjectCache", {"ObjectPath": "http://static.example.com/rules/p.js"},
         "Throttling.User", 400, "ThrottlingException", 2500),
    )

    def rules_suite(self, key_id, secret):
        sdks = [
            OldSdk(self.endpoint, key_id, secret),
            TeaSdk(self.endpoint, key_id, secret),
            TeaSdk(self.endpoint, key_id, secret, v2=True),
        ]
        for sdk in sdks:
            for i, (action, params, code, status, tea_kind, retry_ms) in enumerate(self.INJECTED):
                self.injected_error(sdk, i, action, params, code, status, tea_kind, retry_ms)
        for sdk in sdks:
            self.origin_down(sdk)

    def injected_error(self, sdk, i, action, params, code, status, tea_kind, retry_ms):
        name = f"{sdk.name}-{i}"
        label = f"{sdk.name}: {action} with an error rule {code} (times 2)"

        def check():
            rule = {"name": name, "action": action, "error": code, "times": 2}
            if retry_ms is not None and retry_ms != 1000:
                rule["retry_after"] = f"{retry_ms}ms"
            stored = self.add_rule(rule)
            if stored.get("remaining") != 2:
                raise CheckFailed(f"stored {stored}, expected remaining 2")
            for attempt in (1, 2):
                try:
                    sdk.call(action, params)
                except ApiError as e:
                    if (e.code, e.status) != (code, status):
                        raise CheckFailed(f"attempt {attempt}: {e}, expected HTTP {status} {code}")
                    if sdk.name.startswith("tea"):
                        if e.kind != tea_kind:
                            raise CheckFailed(f"attempt {attempt}: Tea raised {e.kind}, expected {tea_kind}")
                        if e.retry_after != retry_ms:
                            raise CheckFailed(f"retry_after {e.retry_after}, expected {retry_ms}")
                    elif e.kind != "ServerException":
                        raise CheckFailed(f"the old SDK raised {e.kind}, expected ServerException")
                    continue
                raise CheckFailed(f"attempt {attempt} succeeded; the rule should have answered {code}")
            sdk.call(action, params)  # spent: the third call runs
            status_now, raw = self.admin_status("GET", "/_cdnsim/rules")
            listed = [r for r in json.loads(raw)["rules"] if r["name"] == name]
            if status_now != 200 or len(listed) != 1 or listed[0].get("remaining") != 0:
                raise CheckFailed(f"GET /_cdnsim/rules -> {status_now} {listed}, expected remaining 0")
            return f"({code}, then the call runs)"

        self.run_check(label, check)

    def origin_down(self, sdk):
        label = f"{sdk.name}: a lifecycle rule fails the SDK's own refresh with Origin timeout"

        def check():
            path = f"http://img.example.com/down-{sdk.name}/app.js"
            self.add_rule({"name": f"down-{sdk.name}", "match": {"path": path},
                           "outcome": "failed", "reason": "origin_timeout", "processing": "1m"})
            reply = sdk.call("RefreshObjectCaches", {"ObjectPath": path})
            task_id = reply.body.get("RefreshTaskId")
            for _ in range(40):
                self.admin("POST", "/_cdnsim/clock", {"advance": "30s"})
                rows = sdk.call("DescribeRefreshTaskById", {"TaskId": task_id}).body.get("Tasks") or []
                rows = [r for r in rows if r.get("ObjectPath") == path]
                if rows and rows[0].get("Status") in ("Complete", "Failed"):
                    break
            else:
                raise CheckFailed(f"task {task_id} never ended")
            if (rows[0]["Status"], rows[0]["Description"]) != ("Failed", "Origin timeout"):
                raise CheckFailed(f"row {rows[0]}, expected Failed / Origin timeout")
            return f"(task {task_id})"

        self.run_check(label, check)

    def run(self):
        mode = self.args.mode
        key_id, _, secret = self.args.access_key.partition(":")
        if not key_id or not secret:
            sys.stderr.write("--access-key must be ID:SECRET\n")
            sys.exit(2)
        print(f"# test_sdk.py --mode {mode}: server {self.endpoint}, log {self.args.log}, at {self.args.at}", flush=True)
        if mode == "open":
            # Auth off: any credentials pass, including ones the server has never heard of.
            key_id, secret = "cdnsimAnyKeyId", "anySecret"
        if mode in ("open", "auth"):
            self.full_suite(OldSdk(self.endpoint, key_id, secret),
                            get_variant=OldSdk(self.endpoint, key_id, secret, method="GET"))
            self.full_suite(TeaSdk(self.endpoint, key_id, secret))
            self.full_suite(TeaSdk(self.endpoint, key_id, secret, v2=True))
        elif mode == "writes":
            self.writes_suite(key_id, secret)
        elif mode == "rules":
            self.rules_suite(key_id, secret)
        else:
            self.rejection_suite(key_id, secret)
        print(f"# test_sdk.py --mode {mode}: all {self.checks} checks passed", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", required=True, choices=["open", "auth", "wrong-secret", "writes", "rules"])
    parser.add_argument("--port", required=True, type=int, help="port of the running cdnsim serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log", required=True,
                        help="the log the server serves (for cdnsim query); mode writes: DATA_DIR/events.cdnlog")
    parser.add_argument("--cdnsim", required=True, help="the cdnsim binary (for cdnsim query)")
    parser.add_argument("--at", default=DEFAULT_AT, help="the server's replay time (its --at; mode writes: where its clock starts)")
    parser.add_argument("--access-key", default="testAKID:testSecret",
                        help="ID:SECRET the server was given (modes auth, wrong-secret and writes)")
    Harness(parser.parse_args()).run()


if __name__ == "__main__":
    main()
