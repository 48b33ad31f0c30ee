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

    def __init__(self, code, status, message, request_id, kind, data=None):
        super().__init__(f"{kind} HTTP {status} {code}: {message}")
        self.code = code
        self.status = status
        self.message = message
        self.request_id = request_id
        self.kind = kind
        self.data = data


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
            raise ApiError(e.code, e.status_code, e.message, e.request_id, type(e).__name__, data)
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
        else:
            self.rejection_suite(key_id, secret)
        print(f"# test_sdk.py --mode {mode}: all {self.checks} checks passed", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", required=True, choices=["open", "auth", "wrong-secret"])
    parser.add_argument("--port", required=True, type=int, help="port of the running cdnsim serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log", required=True, help="the log the server serves (for cdnsim query)")
    parser.add_argument("--cdnsim", required=True, help="the cdnsim binary (for cdnsim query)")
    parser.add_argument("--at", default=DEFAULT_AT, help="the server's replay time (its --at)")
    parser.add_argument("--access-key", default="testAKID:testSecret",
                        help="ID:SECRET the server was given (modes auth and wrong-secret)")
    Harness(parser.parse_args()).run()


if __name__ == "__main__":
    main()
