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
}
