//! API errors: HTTP status, code and message, as the real service sends them
//! (`ALIBABA-CDN-API.md` §2.4, §3, §12).

/// An error answer of the CDN API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The `Code` field.
    pub code: &'static str,
    /// The `Message` field.
    pub message: String,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `InvalidTaskId.Malformed`.
    pub fn task_id_malformed() -> ApiError {
        ApiError::new(
            400,
            "InvalidTaskId.Malformed",
            "The specified TaskId is invalid.",
        )
    }

    /// 400 `InvalidObjectPath.Malformed`.
    pub fn object_path_malformed() -> ApiError {
        ApiError::new(
            400,
            "InvalidObjectPath.Malformed",
            "The specified ObjectPath is invalid.",
        )
    }

    /// 400 `InvalidObjectType.ValueNotSupported`.
    pub fn object_type_not_supported() -> ApiError {
        ApiError::new(
            400,
            "InvalidObjectType.ValueNotSupported",
            "The specified ObjectType is not supported.",
        )
    }

    /// 400 `InvalidStatus.ValueNotSupported`.
    pub fn status_not_supported() -> ApiError {
        ApiError::new(
            400,
            "InvalidStatus.ValueNotSupported",
            "The specified Status is not supported.",
        )
    }

    /// 400 `MissingParameter.ObjectType`.
    pub fn missing_object_type() -> ApiError {
        ApiError::new(
            400,
            "MissingParameter.ObjectType",
            "The ObjectType parameter is required if DomainName or Status is specified.",
        )
    }

    /// 400 `InvalidStartTime.Malformed`.
    pub fn start_time_malformed() -> ApiError {
        ApiError::new(
            400,
            "InvalidStartTime.Malformed",
            "The specified StartTime is invalid.",
        )
    }

    /// 400 `InvalidEndTime.Malformed`.
    pub fn end_time_malformed() -> ApiError {
        ApiError::new(
            400,
            "InvalidEndTime.Malformed",
            "The specified EndTime is invalid.",
        )
    }

    /// 400 `MissingTimeParameter`.
    pub fn missing_time_parameter() -> ApiError {
        ApiError::new(
            400,
            "MissingTimeParameter",
            "The StartTime and EndTime must be both specified.",
        )
    }

    /// 400 `InvalidEndTime.Mismatch`.
    pub fn end_time_mismatch() -> ApiError {
        ApiError::new(
            400,
            "InvalidEndTime.Mismatch",
            "The specified EndTime is earlier than the StartTime.",
        )
    }

    /// 400 `InvalidTime`.
    pub fn invalid_time() -> ApiError {
        ApiError::new(
            400,
            "InvalidTime",
            "The query time cannot exceed the last 3 days.",
        )
    }

    /// 400 `InvalidParameter.PageSize`.
    pub fn page_size(max: u32) -> ApiError {
        ApiError::new(
            400,
            "InvalidParameter.PageSize",
            format!("The specified PageSize is invalid: it must be an integer from 1 to {max}."),
        )
    }

    /// 400 `InvalidParameter.PageNumber`.
    pub fn page_number(max: u32) -> ApiError {
        ApiError::new(
            400,
            "InvalidParameter.PageNumber",
            format!("The specified PageNumber is invalid: it must be an integer from 1 to {max}."),
        )
    }

    /// 400 `InvalidParameter.Format`.
    pub fn bad_format() -> ApiError {
        ApiError::new(
            400,
            "InvalidParameter.Format",
            "Specified parameter format is not valid.",
        )
    }

    /// 404 `InvalidAction.NotFound`.
    pub fn action_not_found() -> ApiError {
        ApiError::new(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )
    }

    /// 400 `MissingTaskId` (DescribeRefreshTaskById without TaskId).
    pub fn missing_task_id() -> ApiError {
        ApiError::new(400, "MissingTaskId", "TaskId is mandatory for this action.")
    }

    /// 400 `InvalidTaskId` (more TaskIds than allowed).
    pub fn too_many_task_ids(max: u32) -> ApiError {
        ApiError::new(
            400,
            "InvalidTaskId",
            format!("The maximum number of taskIds is {max}."),
        )
    }

    /// 400 `InvalidParameter.Encoding`: bad percent-encoding or non-UTF-8 bytes.
    pub fn bad_encoding(what: &str, problem: &str) -> ApiError {
        ApiError::new(
            400,
            "InvalidParameter.Encoding",
            format!("The request is not well encoded: {what} has {problem}."),
        )
    }

    /// 400 `InvalidVersion`.
    pub fn bad_version() -> ApiError {
        ApiError::new(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        )
    }

    /// 400 `UnsupportedHTTPMethod`.
    pub fn unsupported_method() -> ApiError {
        ApiError::new(
            400,
            "UnsupportedHTTPMethod",
            "This http method not supported.",
        )
    }

    /// 413 `RequestEntityTooLarge`.
    pub fn body_too_large(max_bytes: usize) -> ApiError {
        ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!("The request body is larger than {max_bytes} bytes."),
        )
    }

    /// 400 `InvalidReplayTime` (the `x-cdnsim-replay-time` header).
    pub fn bad_replay_time(problem: &str) -> ApiError {
        ApiError::new(
            400,
            "InvalidReplayTime",
            format!("x-cdnsim-replay-time {problem}."),
        )
    }

    /// 403 `Forbidden.ReadOnly`: a write action against a finished log.
    pub fn read_only(action: &str) -> ApiError {
        ApiError::new(
            403,
            "Forbidden.ReadOnly",
            format!("{action} is not allowed: this server serves a finished log read-only."),
        )
    }

    /// 400 `Missing{Name}`: a required signature parameter is absent. `code` is the full code.
    pub fn missing(code: &'static str, name: &str) -> ApiError {
        ApiError::new(400, code, format!("{name} is mandatory for this action."))
    }

    /// 404 `InvalidAccessKeyId.NotFound`.
    pub fn access_key_not_found() -> ApiError {
        ApiError::new(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    }

    /// 400 `SignatureDoesNotMatch`, echoing the server's string to sign as the gateway does
    /// (the old Python SDK compares it with its own and reports `InvalidAccessKeySecret`).
    pub fn signature_mismatch(string_to_sign: &str) -> ApiError {
        // Bounded: a huge form body would otherwise come back five times over.
        const ECHO_BYTES_MAX: usize = 64 * 1024;
        let mut end = string_to_sign.len().min(ECHO_BYTES_MAX);
        while !string_to_sign.is_char_boundary(end) {
            end -= 1;
        }
        let string_to_sign = &string_to_sign[..end];
        ApiError::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        )
    }

    /// 400 `IncompleteSignature`.
    pub fn incomplete_signature(problem: &str) -> ApiError {
        ApiError::new(
            400,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards: {problem}."),
        )
    }

    /// 400 `InvalidSignatureMethod`.
    pub fn bad_signature_method() -> ApiError {
        ApiError::new(
            400,
            "InvalidSignatureMethod",
            "Specified signature method is not valid.",
        )
    }

    /// 400 `InvalidTimeStamp.Format`.
    pub fn timestamp_format() -> ApiError {
        ApiError::new(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    }

    /// 400 `InvalidTimeStamp.Expired`.
    pub fn timestamp_expired() -> ApiError {
        ApiError::new(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        )
    }

    /// 400 `SignatureNonceUsed`.
    pub fn nonce_used() -> ApiError {
        ApiError::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        )
    }

    /// 408 `RequestTimeout`: the body did not arrive in time.
    pub fn body_timeout() -> ApiError {
        ApiError::new(
            408,
            "RequestTimeout",
            "The request body was not received in time.",
        )
    }

    /// 400 `InvalidObjectType.Malformed` (write actions).
    pub fn write_object_type() -> ApiError {
        ApiError::new(
            400,
            "InvalidObjectType.Malformed",
            "The specified ObjectType is invalid: use File, Directory, Regex or IgnoreParams.",
        )
    }

    /// 400 `InvalidParameter.Boolean`.
    pub fn bad_boolean(name: &str) -> ApiError {
        ApiError::new(
            400,
            "InvalidParameter.Boolean",
            format!("The specified {name} is invalid: use true or false."),
        )
    }

    /// 400 `InvalidArea.ValueNotSupported`.
    pub fn area_not_supported() -> ApiError {
        ApiError::new(
            400,
            "InvalidArea.ValueNotSupported",
            "The specified Area is not supported: use domestic or overseas.",
        )
    }

    /// 400 `InvalidCustomHeader`.
    pub fn custom_header() -> ApiError {
        ApiError::new(400, "InvalidCustomHeader", "Parse preload header failed.")
    }

    /// 400 `InvalidObjectPath.Malformed`, naming the path.
    pub fn path_malformed(path: &str, problem: &crate::objpath::PathError) -> ApiError {
        let shown: String = path.chars().take(200).collect();
        ApiError::new(
            400,
            "InvalidObjectPath.Malformed",
            format!("The specified ObjectPath is invalid: {shown:?}: {problem}."),
        )
    }

    /// 400 `InvalidObjectPath.Malformed`: a preload URL over its length limit.
    pub fn preload_path_too_long(path: &str, max: usize) -> ApiError {
        let shown: String = path.chars().take(200).collect();
        ApiError::new(
            400,
            "InvalidObjectPath.Malformed",
            format!(
                "The specified ObjectPath is invalid: {shown:?}: a preload URL has at most {max} characters."
            ),
        )
    }

    /// 400 `InvalidObjectPath.Malformed`: a directory must end with `/`.
    pub fn directory_without_slash(path: &str) -> ApiError {
        let shown: String = path.chars().take(200).collect();
        ApiError::new(
            400,
            "InvalidObjectPath.Malformed",
            format!(
                "The specified ObjectPath is invalid: {shown:?}: a directory must end with \"/\"."
            ),
        )
    }

    /// 400 `SingleRequest.OverLimit`: too many paths.
    pub fn over_limit(max: usize, object_type: crate::event::ObjectType) -> ApiError {
        use crate::event::ObjectType as T;
        let what = match (object_type, max) {
            (T::File | T::IgnoreParams | T::Preload, 1) => "URL is",
            (T::File | T::IgnoreParams | T::Preload, _) => "URLs are",
            (T::Directory, 1) => "directory is",
            (T::Directory, _) => "directories are",
            (T::Regex, 1) => "regular expression is",
            (T::Regex, _) => "regular expressions are",
        };
        ApiError::new(
            400,
            "SingleRequest.OverLimit",
            format!("A maximum of {max} {what} supported for each request."),
        )
    }

    /// 400 `SingleRequest.OverLimit`: too many domains.
    pub fn too_many_domains(max: u32) -> ApiError {
        ApiError::new(
            400,
            "SingleRequest.OverLimit",
            format!("The URLs of one request may span at most {max} domains."),
        )
    }

    /// 404 `InvalidDomain.NotFound`.
    pub fn domain_not_found(domain: &str) -> ApiError {
        ApiError::new(
            404,
            "InvalidDomain.NotFound",
            format!("The domain [{domain}] does not belong to you."),
        )
    }

    /// 400 `QuotaExceeded.Refresh` / `QuotaExceeded.Preload`.
    pub fn quota_exceeded(preload: bool) -> ApiError {
        if preload {
            ApiError::new(
                400,
                "QuotaExceeded.Preload",
                "Your preload attempts have exceeded the daily limit.",
            )
        } else {
            ApiError::new(
                400,
                "QuotaExceeded.Refresh",
                "Your refresh attempts have exceeded the daily limit.",
            )
        }
    }

    /// 503 `ServiceUnavailable`: the log cannot be written.
    pub fn unavailable(detail: &str) -> ApiError {
        ApiError::new(
            503,
            "ServiceUnavailable",
            format!("The request has failed due to a temporary failure of the server: {detail}."),
        )
    }

    /// 400 `InvalidParameter.TooMany`: more parameters than any action takes.
    pub fn too_many_params(max: usize) -> ApiError {
        ApiError::new(
            400,
            "InvalidParameter.TooMany",
            format!("The request carries more than {max} parameters."),
        )
    }
}
