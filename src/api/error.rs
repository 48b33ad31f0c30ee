//! API errors: HTTP status, code and message, as the real service sends them.

use std::borrow::Cow;

use crate::scenario::rule::InjectableError;

/// What went wrong, as the API's error `Code` and HTTP status say it. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400 `InvalidTaskId.Malformed`.
    InvalidTaskIdMalformed,
    /// 400 `InvalidObjectPath.Malformed`.
    InvalidObjectPathMalformed,
    /// 400 `InvalidObjectType.ValueNotSupported`.
    InvalidObjectTypeValueNotSupported,
    /// 400 `InvalidStatus.ValueNotSupported`.
    InvalidStatusValueNotSupported,
    /// 400 `MissingParameter.ObjectType`.
    MissingParameterObjectType,
    /// 400 `InvalidStartTime.Malformed`.
    InvalidStartTimeMalformed,
    /// 400 `InvalidEndTime.Malformed`.
    InvalidEndTimeMalformed,
    /// 400 `MissingTimeParameter`.
    MissingTimeParameter,
    /// 400 `InvalidEndTime.Mismatch`.
    InvalidEndTimeMismatch,
    /// 400 `InvalidTime`.
    InvalidTime,
    /// 400 `InvalidParameter.PageSize`.
    InvalidParameterPageSize,
    /// 400 `InvalidParameter.PageNumber`.
    InvalidParameterPageNumber,
    /// 400 `InvalidParameter.Format`.
    InvalidParameterFormat,
    /// 404 `InvalidAction.NotFound`.
    InvalidActionNotFound,
    /// 400 `MissingTaskId`.
    MissingTaskId,
    /// 400 `InvalidTaskId`.
    InvalidTaskId,
    /// 400 `InvalidParameter.Encoding`.
    InvalidParameterEncoding,
    /// 400 `InvalidVersion`.
    InvalidVersion,
    /// 400 `UnsupportedHTTPMethod`.
    UnsupportedHttpMethod,
    /// 413 `RequestEntityTooLarge`.
    RequestEntityTooLarge,
    /// 400 `InvalidReplayTime`.
    InvalidReplayTime,
    /// 400 `InvalidAfterSeq` (the `x-cdnsim-after-seq` header).
    InvalidAfterSeq,
    /// 403 `Forbidden.ReadOnly`.
    ForbiddenReadOnly,
    /// 404 `InvalidAccessKeyId.NotFound`.
    InvalidAccessKeyIdNotFound,
    /// 400 `SignatureDoesNotMatch`.
    SignatureDoesNotMatch,
    /// 400 `IncompleteSignature`.
    IncompleteSignature,
    /// 400 `InvalidSignatureMethod`.
    InvalidSignatureMethod,
    /// 400 `InvalidTimeStamp.Format`.
    InvalidTimeStampFormat,
    /// 400 `InvalidTimeStamp.Expired`.
    InvalidTimeStampExpired,
    /// 400 `SignatureNonceUsed`.
    SignatureNonceUsed,
    /// 408 `RequestTimeout`.
    RequestTimeout,
    /// 400 `MalformedBody`: a body that is not valid HTTP (a bad chunk, cut short).
    MalformedBody,
    /// 400 `InvalidObjectType.Malformed`.
    InvalidObjectTypeMalformed,
    /// 400 `InvalidParameter.Boolean`.
    InvalidParameterBoolean,
    /// 400 `InvalidArea.ValueNotSupported`.
    InvalidAreaValueNotSupported,
    /// 400 `InvalidCustomHeader`.
    InvalidCustomHeader,
    /// 400 `SingleRequest.OverLimit`.
    SingleRequestOverLimit,
    /// 404 `InvalidDomain.NotFound`.
    InvalidDomainNotFound,
    /// 400 `QuotaExceeded.Refresh`.
    QuotaExceededRefresh,
    /// 400 `QuotaExceeded.Preload`.
    QuotaExceededPreload,
    /// 503 `ServiceUnavailable`.
    ServiceUnavailable,
    /// 400 `InvalidParameter.TooMany`.
    InvalidParameterTooMany,
    /// 400: a mandatory parameter is absent; the code names it (`MissingAction`,
    /// `MissingParameter`, `MissingSignature`, ...).
    Missing(&'static str),
    /// An error an error rule injects, with its code, status and message.
    Injected(&'static InjectableError),
}

impl ErrorKind {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::ForbiddenReadOnly => 403,
            ErrorKind::InvalidActionNotFound
            | ErrorKind::InvalidAccessKeyIdNotFound
            | ErrorKind::InvalidDomainNotFound => 404,
            ErrorKind::RequestTimeout => 408,
            ErrorKind::RequestEntityTooLarge => 413,
            ErrorKind::ServiceUnavailable => 503,
            ErrorKind::Injected(e) => e.status,
            _ => 400,
        }
    }

    /// The `Code` field.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidTaskIdMalformed => "InvalidTaskId.Malformed",
            ErrorKind::InvalidObjectPathMalformed => "InvalidObjectPath.Malformed",
            ErrorKind::InvalidObjectTypeValueNotSupported => "InvalidObjectType.ValueNotSupported",
            ErrorKind::InvalidStatusValueNotSupported => "InvalidStatus.ValueNotSupported",
            ErrorKind::MissingParameterObjectType => "MissingParameter.ObjectType",
            ErrorKind::InvalidStartTimeMalformed => "InvalidStartTime.Malformed",
            ErrorKind::InvalidEndTimeMalformed => "InvalidEndTime.Malformed",
            ErrorKind::MissingTimeParameter => "MissingTimeParameter",
            ErrorKind::InvalidEndTimeMismatch => "InvalidEndTime.Mismatch",
            ErrorKind::InvalidTime => "InvalidTime",
            ErrorKind::InvalidParameterPageSize => "InvalidParameter.PageSize",
            ErrorKind::InvalidParameterPageNumber => "InvalidParameter.PageNumber",
            ErrorKind::InvalidParameterFormat => "InvalidParameter.Format",
            ErrorKind::InvalidActionNotFound => "InvalidAction.NotFound",
            ErrorKind::MissingTaskId => "MissingTaskId",
            ErrorKind::InvalidTaskId => "InvalidTaskId",
            ErrorKind::InvalidParameterEncoding => "InvalidParameter.Encoding",
            ErrorKind::InvalidVersion => "InvalidVersion",
            ErrorKind::UnsupportedHttpMethod => "UnsupportedHTTPMethod",
            ErrorKind::RequestEntityTooLarge => "RequestEntityTooLarge",
            ErrorKind::InvalidReplayTime => "InvalidReplayTime",
            ErrorKind::InvalidAfterSeq => "InvalidAfterSeq",
            ErrorKind::ForbiddenReadOnly => "Forbidden.ReadOnly",
            ErrorKind::InvalidAccessKeyIdNotFound => "InvalidAccessKeyId.NotFound",
            ErrorKind::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            ErrorKind::IncompleteSignature => "IncompleteSignature",
            ErrorKind::InvalidSignatureMethod => "InvalidSignatureMethod",
            ErrorKind::InvalidTimeStampFormat => "InvalidTimeStamp.Format",
            ErrorKind::InvalidTimeStampExpired => "InvalidTimeStamp.Expired",
            ErrorKind::SignatureNonceUsed => "SignatureNonceUsed",
            ErrorKind::RequestTimeout => "RequestTimeout",
            ErrorKind::MalformedBody => "MalformedBody",
            ErrorKind::InvalidObjectTypeMalformed => "InvalidObjectType.Malformed",
            ErrorKind::InvalidParameterBoolean => "InvalidParameter.Boolean",
            ErrorKind::InvalidAreaValueNotSupported => "InvalidArea.ValueNotSupported",
            ErrorKind::InvalidCustomHeader => "InvalidCustomHeader",
            ErrorKind::SingleRequestOverLimit => "SingleRequest.OverLimit",
            ErrorKind::InvalidDomainNotFound => "InvalidDomain.NotFound",
            ErrorKind::QuotaExceededRefresh => "QuotaExceeded.Refresh",
            ErrorKind::QuotaExceededPreload => "QuotaExceeded.Preload",
            ErrorKind::ServiceUnavailable => "ServiceUnavailable",
            ErrorKind::InvalidParameterTooMany => "InvalidParameter.TooMany",
            ErrorKind::Missing(code) => code,
            ErrorKind::Injected(e) => e.code,
        }
    }

    /// The message the real service sends with this code when it says nothing more specific.
    pub fn message(self) -> &'static str {
        match self {
            ErrorKind::InvalidTaskIdMalformed => "The specified TaskId is invalid.",
            ErrorKind::InvalidObjectPathMalformed => "The specified ObjectPath is invalid.",
            ErrorKind::InvalidObjectTypeValueNotSupported => {
                "The specified ObjectType is not supported."
            }
            ErrorKind::InvalidStatusValueNotSupported => "The specified Status is not supported.",
            ErrorKind::MissingParameterObjectType => {
                "The ObjectType parameter is required if DomainName or Status is specified."
            }
            ErrorKind::InvalidStartTimeMalformed => "The specified StartTime is invalid.",
            ErrorKind::InvalidEndTimeMalformed => "The specified EndTime is invalid.",
            ErrorKind::MissingTimeParameter => "The StartTime and EndTime must be both specified.",
            ErrorKind::InvalidEndTimeMismatch => {
                "The specified EndTime is earlier than the StartTime."
            }
            ErrorKind::InvalidTime => "The query time cannot exceed the last 3 days.",
            ErrorKind::InvalidParameterPageSize => "The specified PageSize is invalid.",
            ErrorKind::InvalidParameterPageNumber => "The specified PageNumber is invalid.",
            ErrorKind::InvalidParameterFormat => "Specified parameter format is not valid.",
            ErrorKind::InvalidActionNotFound => {
                "Specified api is not found, please check your url and method."
            }
            ErrorKind::MissingTaskId => "TaskId is mandatory for this action.",
            ErrorKind::InvalidTaskId => "The number of TaskIds is above the limit.",
            ErrorKind::InvalidParameterEncoding => "The request is not well encoded.",
            ErrorKind::InvalidVersion => "Specified parameter Version is not valid.",
            ErrorKind::UnsupportedHttpMethod => "This http method not supported.",
            ErrorKind::RequestEntityTooLarge => "The request body is too large.",
            ErrorKind::InvalidReplayTime => "The x-cdnsim-replay-time header is invalid.",
            ErrorKind::InvalidAfterSeq => "The x-cdnsim-after-seq header is invalid.",
            ErrorKind::ForbiddenReadOnly => "This server answers reads only.",
            ErrorKind::InvalidAccessKeyIdNotFound => "Specified access key is not found.",
            ErrorKind::SignatureDoesNotMatch => {
                "The request signature does not conform to Aliyun standards."
            }
            ErrorKind::IncompleteSignature => "The request signature is incomplete.",
            ErrorKind::InvalidSignatureMethod => "Specified signature method is not valid.",
            ErrorKind::InvalidTimeStampFormat => {
                "Specified time stamp or date value is not well formatted."
            }
            ErrorKind::InvalidTimeStampExpired => "Specified time stamp or date value is expired.",
            ErrorKind::SignatureNonceUsed => "Specified signature nonce was used already.",
            ErrorKind::RequestTimeout => "The request body was not received in time.",
            ErrorKind::MalformedBody => "The request body is malformed.",
            ErrorKind::InvalidObjectTypeMalformed => {
                "The specified ObjectType is invalid: use File, Directory, Regex or IgnoreParams."
            }
            ErrorKind::InvalidParameterBoolean => "A boolean parameter is neither true nor false.",
            ErrorKind::InvalidAreaValueNotSupported => {
                "The specified Area is not supported: use domestic or overseas."
            }
            ErrorKind::InvalidCustomHeader => "Parse preload header failed.",
            ErrorKind::SingleRequestOverLimit => "The request is over its limit.",
            ErrorKind::InvalidDomainNotFound => "The domain does not belong to you.",
            ErrorKind::QuotaExceededRefresh => {
                "Your refresh attempts have exceeded the daily limit."
            }
            ErrorKind::QuotaExceededPreload => {
                "Your preload attempts have exceeded the daily limit."
            }
            ErrorKind::ServiceUnavailable => {
                "The request has failed due to a temporary failure of the server."
            }
            ErrorKind::InvalidParameterTooMany => "The request carries too many parameters.",
            ErrorKind::Missing(_) => "A mandatory parameter is missing.",
            ErrorKind::Injected(e) => e.message,
        }
    }
}

/// An error answer of the CDN API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}: {message}", kind.status(), kind.code())]
pub struct ApiError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The `Message` field.
    pub message: Cow<'static, str>,
}

impl From<ErrorKind> for ApiError {
    /// The error with the kind's usual message.
    fn from(kind: ErrorKind) -> ApiError {
        ApiError {
            kind,
            message: Cow::Borrowed(kind.message()),
        }
    }
}

impl ApiError {
    /// An error with its own message.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The `Code` field.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// 400 `InvalidParameter.PageSize`.
    pub fn page_size(max: u32) -> ApiError {
        ApiError::new(
            ErrorKind::InvalidParameterPageSize,
            format!("The specified PageSize is invalid: it must be an integer from 1 to {max}."),
        )
    }

    /// 400 `InvalidParameter.PageNumber`.
    pub fn page_number(max: u32) -> ApiError {
        ApiError::new(
            ErrorKind::InvalidParameterPageNumber,
            format!("The specified PageNumber is invalid: it must be an integer from 1 to {max}."),
        )
    }

    /// 400 `InvalidTaskId` (more TaskIds than allowed).
    pub fn too_many_task_ids(max: u32) -> ApiError {
        ApiError::new(
            ErrorKind::InvalidTaskId,
            format!("The maximum number of taskIds is {max}."),
        )
    }

    /// 400 `InvalidParameter.Encoding`: bad percent-encoding or non-UTF-8 bytes.
    pub fn bad_encoding(what: &str, problem: &str) -> ApiError {
        ApiError::new(
            ErrorKind::InvalidParameterEncoding,
            format!("The request is not well encoded: {what} has {problem}."),
        )
    }

    /// 413 `RequestEntityTooLarge`.
    pub fn body_too_large(max_bytes: usize) -> ApiError {
        ApiError::new(
            ErrorKind::RequestEntityTooLarge,
            format!("The request body is larger than {max_bytes} bytes."),
        )
    }

    /// 400 `InvalidReplayTime` (the `x-cdnsim-replay-time` header).
    pub fn bad_replay_time(problem: &str) -> ApiError {
        ApiError::new(
            ErrorKind::InvalidReplayTime,
            format!("x-cdnsim-replay-time {problem}."),
        )
    }

    /// 403 `Forbidden.ReadOnly`: a write action against a finished log.
    pub fn read_only(action: &str) -> ApiError {
        ApiError::new(
            ErrorKind::ForbiddenReadOnly,
            format!("{action} is not allowed: this server serves a finished log read-only."),
        )
    }

    /// 400 `Missing{Name}`: a required signature parameter is absent. `code` is the full code.
    pub fn missing(code: &'static str, name: &str) -> ApiError {
        ApiError::new(
            ErrorKind::Missing(code),
            format!("{name} is mandatory for this action."),
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
            ErrorKind::SignatureDoesNotMatch,
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        )
    }

    /// 400 `IncompleteSignature`.
    pub fn incomplete_signature(problem: &str) -> ApiError {
        ApiError::new(
            ErrorKind::IncompleteSignature,
            format!("The request signature does not conform to Aliyun standards: {problem}."),
        )
    }

    /// 400 `InvalidParameter.Boolean`.
    pub fn bad_boolean(name: &str) -> ApiError {
        ApiError::new(
            ErrorKind::InvalidParameterBoolean,
            format!("The specified {name} is invalid: use true or false."),
        )
    }

    /// 400 `InvalidObjectPath.Malformed`, naming the path.
    pub fn path_malformed(path: &str, problem: &crate::objpath::PathError) -> ApiError {
        let shown: String = path.chars().take(200).collect();
        ApiError::new(
            ErrorKind::InvalidObjectPathMalformed,
            format!("The specified ObjectPath is invalid: {shown:?}: {problem}."),
        )
    }

    /// 400 `InvalidObjectPath.Malformed`: a preload URL over its length limit.
    pub fn preload_path_too_long(path: &str, max: usize) -> ApiError {
        let shown: String = path.chars().take(200).collect();
        ApiError::new(
            ErrorKind::InvalidObjectPathMalformed,
            format!(
                "The specified ObjectPath is invalid: {shown:?}: a preload URL has at most {max} characters."
            ),
        )
    }

    /// 400 `InvalidObjectPath.Malformed`: a directory must end with `/`.
    pub fn directory_without_slash(path: &str) -> ApiError {
        let shown: String = path.chars().take(200).collect();
        ApiError::new(
            ErrorKind::InvalidObjectPathMalformed,
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
            ErrorKind::SingleRequestOverLimit,
            format!("A maximum of {max} {what} supported for each request."),
        )
    }

    /// 400 `SingleRequest.OverLimit`: too many domains.
    pub fn too_many_domains(max: u32) -> ApiError {
        ApiError::new(
            ErrorKind::SingleRequestOverLimit,
            format!("The URLs of one request may span at most {max} domains."),
        )
    }

    /// 404 `InvalidDomain.NotFound`.
    pub fn domain_not_found(domain: &str) -> ApiError {
        ApiError::new(
            ErrorKind::InvalidDomainNotFound,
            format!("The domain [{domain}] does not belong to you."),
        )
    }

    /// 400 `QuotaExceeded.Refresh` / `QuotaExceeded.Preload`.
    pub fn quota_exceeded(preload: bool) -> ApiError {
        ApiError::from(if preload {
            ErrorKind::QuotaExceededPreload
        } else {
            ErrorKind::QuotaExceededRefresh
        })
    }

    /// 400 `MalformedBody`, saying what is wrong with the body.
    pub fn malformed_body(problem: &str) -> ApiError {
        ApiError::new(
            ErrorKind::MalformedBody,
            format!("The request body is malformed: {problem}."),
        )
    }

    /// 503 `ServiceUnavailable`: the log cannot be written.
    pub fn unavailable(detail: &str) -> ApiError {
        ApiError::new(
            ErrorKind::ServiceUnavailable,
            format!("The request has failed due to a temporary failure of the server: {detail}."),
        )
    }

    /// The error an error rule answers with.
    pub fn injected(error: &'static InjectableError) -> ApiError {
        ApiError::from(ErrorKind::Injected(error))
    }

    /// 400 `InvalidParameter.TooMany`: more parameters than any action takes.
    pub fn too_many_params(max: usize) -> ApiError {
        ApiError::new(
            ErrorKind::InvalidParameterTooMany,
            format!("The request carries more than {max} parameters."),
        )
    }
}
