//! The HTTP face of the record protocol. A handler that utoipa documents is
//! a plain function with its own path attribute, which generic code cannot
//! produce, so these macros write the handlers of one record (or one kind of
//! child) from its types, paths and names. Every library answers alike.

/// `POST` collection, `GET`/`PATCH` item and `GET` history of record `$record`.
macro_rules! record_routes {
    (
        $record:ty, fields = $fields:ty, patch = $patch:ty, tag = $tag:literal, noun = $noun:literal,
        collection = $collection:literal, item = $item:literal, history = $history:literal,
        $create:ident / $create_id:literal, $get:ident / $get_id:literal,
        $update:ident / $update_id:literal, $history_fn:ident / $history_id:literal $(,)?
    ) => {
        #[doc = concat!("Create a ", $noun, ".")]
        #[utoipa::path(operation_id = $create_id, tag = $tag, request_body = $fields,
            responses(
                (status = 201, description = "Created", body = $record,
                    headers(("Location" = String, description = "The new record's URL"), ("ETag" = String, description = "The version, quoted"))),
                $crate::http::answers::Forbidden, $crate::http::answers::Conflict, $crate::http::answers::Unprocessable,
            ))]
        #[post($collection)]
        pub async fn $create(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            body: $crate::http::Body,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let record = $crate::db::run(&state.pool, move |conn| $crate::records::create::<$record>(conn, &caller, body.0)).await?;
            let version = $crate::records::Keyed::version(&record);
            let location = format!("/api/v1{}/{}", $collection, $crate::records::Keyed::id(&record));
            Ok($crate::http::created(&location, &<$record as $crate::records::Record>::masked(record), Some(version)))
        }

        #[doc = concat!("Read one ", $noun, ".")]
        #[utoipa::path(operation_id = $get_id, tag = $tag,
            params(("id" = uuid::Uuid, Path, description = "The record's id (UUID)")),
            responses(
                (status = 200, description = "The record", body = $record, headers(("ETag" = String, description = "The version, quoted"))),
                $crate::http::answers::NotVisible,
            ))]
        #[get($item)]
        pub async fn $get(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            id: actix_web::web::Path<String>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let id = $crate::http::parse_id(&id)?;
            let read = $crate::db::run(&state.pool, move |conn| $crate::records::read::<$record>(conn, &caller, &id)).await?;
            Ok($crate::records::answer_read::<$record>(read))
        }

        #[doc = concat!("Change some fields of a ", $noun, "; `If-Match` must carry the version read.")]
        #[utoipa::path(operation_id = $update_id, tag = $tag, request_body = $patch,
            params(
                ("id" = uuid::Uuid, Path, description = "The record's id (UUID)"),
                ("If-Match" = String, Header, description = "The ETag of the version the change is based on, e.g. \"3\""),
            ),
            responses(
                (status = 200, description = "The changed record", body = $record, headers(("ETag" = String, description = "The new version, quoted"))),
                $crate::http::answers::Forbidden, $crate::http::answers::NotVisible, $crate::http::answers::Conflict, $crate::http::answers::Stale, $crate::http::answers::Unprocessable, $crate::http::answers::IfMatchMissing,
            ))]
        #[patch($item)]
        pub async fn $update(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            req: actix_web::HttpRequest,
            id: actix_web::web::Path<String>,
            body: $crate::http::Body,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let id = $crate::http::parse_id(&id)?;
            let expected = $crate::http::required_if_match(&req)?;
            let record = $crate::db::run(&state.pool, move |conn| {
                $crate::records::update::<$record>(conn, &caller, &id, &expected, body.0)
            })
            .await?;
            let version = $crate::records::Keyed::version(&record);
            let record = <$record as $crate::records::Record>::masked(record);
            Ok($crate::http::versioned(actix_web::http::StatusCode::OK, &record, version))
        }

        #[doc = concat!("A ", $noun, "'s audit events, newest first (a deleted record's too, for its park's administrators and the province's).")]
        #[utoipa::path(operation_id = $history_id, tag = $tag,
            params(("id" = uuid::Uuid, Path, description = "The record's id (UUID)"), $crate::audit::HistoryParams),
            responses(
                (status = 200, description = "One page of events", body = $crate::http::Page<$crate::audit::AuditEvent>),
                $crate::http::answers::NotVisible,
            ))]
        #[get($history)]
        pub async fn $history_fn(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            id: actix_web::web::Path<String>,
            params: $crate::http::Query<$crate::audit::HistoryParams>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let id = $crate::http::parse_id(&id)?;
            let $crate::audit::HistoryParams { limit, cursor } = params.0;
            let page = $crate::db::run(&state.pool, move |conn| {
                $crate::records::history::<$record>(conn, &caller, &id, limit, cursor.as_deref())
            })
            .await?;
            Ok(actix_web::HttpResponse::Ok().json(page))
        }
    };
}

/// `DELETE` of record `$record` (soft: its history stays).
macro_rules! record_delete_route {
    ($record:ty, tag = $tag:literal, noun = $noun:literal, item = $item:literal, $delete:ident / $delete_id:literal $(,)?) => {
        #[doc = concat!("Delete a ", $noun, " (it leaves every list and read; its history stays).")]
        #[utoipa::path(operation_id = $delete_id, tag = $tag,
            params(
                ("id" = uuid::Uuid, Path, description = "The record's id (UUID)"),
                ("If-Match" = String, Header, description = "When given, the delete happens only at this version"),
            ),
            responses(
                (status = 204, description = "Deleted"),
                $crate::http::answers::Forbidden, $crate::http::answers::NotVisible, $crate::http::answers::Stale,
            ))]
        #[delete($item)]
        pub async fn $delete(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            req: actix_web::HttpRequest,
            id: actix_web::web::Path<String>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let id = $crate::http::parse_id(&id)?;
            let expected = $crate::http::if_match(&req)?;
            $crate::db::run(&state.pool, move |conn| $crate::records::delete::<$record>(conn, &caller, &id, expected.as_ref())).await?;
            Ok(actix_web::HttpResponse::NoContent().finish())
        }
    };
}

/// List, read, create, change and remove handlers of one kind of child.
macro_rules! child_routes {
    (
        $child:ty, fields = $fields:ty, patch = $patch:ty, tag = $tag:literal, parent = $parent:literal,
        collection = $collection:literal, item = $item:literal,
        docs = [$list_doc:literal, $get_doc:literal, $create_doc:literal, $update_doc:literal, $delete_doc:literal],
        $list:ident / $list_id:literal, $get:ident / $get_id:literal, $create:ident / $create_id:literal,
        $update:ident / $update_id:literal, $delete:ident / $delete_id:literal $(,)?
    ) => {
        #[utoipa::path(operation_id = $list_id, summary = $list_doc, tag = $tag,
            params(("id" = uuid::Uuid, Path, description = concat!("The ", $parent, "'s id (UUID)"))),
            responses(
                (status = 200, description = "All of them (personal data masked)", body = Items<$child>),
                (status = 404, description = concat!("No such ", $parent, " visible to the caller"), body = $crate::error::Problem, content_type = "application/problem+json"),
            ))]
        #[get($collection)]
        pub async fn $list(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            id: actix_web::web::Path<String>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let id = $crate::http::parse_id(&id)?;
            let items = $crate::db::run(&state.pool, move |conn| $crate::records::child::list::<$child>(conn, &caller, &id)).await?;
            Ok(actix_web::HttpResponse::Ok().json(items))
        }

        #[utoipa::path(operation_id = $get_id, summary = $get_doc, tag = $tag,
            params(("id" = uuid::Uuid, Path, description = concat!("The ", $parent, "'s id (UUID)")), ("child_id" = uuid::Uuid, Path, description = "Its id (UUID)")),
            responses(
                (status = 200, description = "It, with its version as ETag", body = $child, headers(("ETag" = String, description = "The version, quoted"))),
                $crate::http::answers::NotVisible,
            ))]
        #[get($item)]
        pub async fn $get(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            ids: actix_web::web::Path<(String, String)>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let (id, child) = ($crate::http::parse_id(&ids.0)?, $crate::http::parse_id(&ids.1)?);
            let item = $crate::db::run(&state.pool, move |conn| $crate::records::child::get::<$child>(conn, &caller, &id, &child)).await?;
            let version = <$child as $crate::records::Child>::version_of(&item);
            let mut response = $crate::http::versioned(actix_web::http::StatusCode::OK, &item, version);
            $crate::records::no_store(&mut response);
            Ok(response)
        }

        #[utoipa::path(operation_id = $create_id, summary = $create_doc, tag = $tag, request_body = $fields,
            params(("id" = uuid::Uuid, Path, description = concat!("The ", $parent, "'s id (UUID)"))),
            responses(
                (status = 201, description = "Created", body = $child, headers(("Location" = String), ("ETag" = String))),
                $crate::http::answers::Forbidden,
                (status = 404, description = concat!("No such ", $parent, " visible to the caller"), body = $crate::error::Problem, content_type = "application/problem+json"),
                $crate::http::answers::Conflict, $crate::http::answers::Unprocessable,
            ))]
        #[post($collection)]
        pub async fn $create(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            id: actix_web::web::Path<String>,
            body: $crate::http::Body,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let id = $crate::http::parse_id(&id)?;
            let parent = id.clone();
            let item = $crate::db::run(&state.pool, move |conn| $crate::records::child::create::<$child>(conn, &caller, &parent, body.0)).await?;
            let version = <$child as $crate::records::Child>::version_of(&item);
            let location = format!("/api/v1{}/{}", $collection.replace("{id}", &id), item.id);
            Ok($crate::http::created(&location, &item, Some(version)))
        }

        #[utoipa::path(operation_id = $update_id, summary = $update_doc, tag = $tag, request_body = $patch,
            params(("id" = uuid::Uuid, Path, description = concat!("The ", $parent, "'s id (UUID)")), ("child_id" = uuid::Uuid, Path, description = "Its id (UUID)"),
                   ("If-Match" = String, Header, description = "Its ETag as read, e.g. \"2\"")),
            responses(
                (status = 200, description = "Changed", body = $child, headers(("ETag" = String))),
                $crate::http::answers::Forbidden, $crate::http::answers::NotVisible, $crate::http::answers::Conflict, $crate::http::answers::Stale, $crate::http::answers::Unprocessable, $crate::http::answers::IfMatchMissing,
            ))]
        #[patch($item)]
        pub async fn $update(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            req: actix_web::HttpRequest,
            ids: actix_web::web::Path<(String, String)>,
            body: $crate::http::Body,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let (id, child) = ($crate::http::parse_id(&ids.0)?, $crate::http::parse_id(&ids.1)?);
            let expected = $crate::http::required_if_match(&req)?;
            let item = $crate::db::run(&state.pool, move |conn| {
                $crate::records::child::update::<$child>(conn, &caller, &id, &child, &expected, body.0)
            })
            .await?;
            let version = <$child as $crate::records::Child>::version_of(&item);
            Ok($crate::http::versioned(actix_web::http::StatusCode::OK, &item, version))
        }

        #[utoipa::path(operation_id = $delete_id, summary = $delete_doc, tag = $tag,
            params(("id" = uuid::Uuid, Path, description = concat!("The ", $parent, "'s id (UUID)")), ("child_id" = uuid::Uuid, Path, description = "Its id (UUID)"),
                   ("If-Match" = String, Header, description = "When given, only at this version")),
            responses(
                (status = 204, description = "Removed"),
                $crate::http::answers::Forbidden, $crate::http::answers::NotVisible, $crate::http::answers::Stale,
            ))]
        #[delete($item)]
        pub async fn $delete(
            state: actix_web::web::Data<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            req: actix_web::HttpRequest,
            ids: actix_web::web::Path<(String, String)>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            let (id, child) = ($crate::http::parse_id(&ids.0)?, $crate::http::parse_id(&ids.1)?);
            let expected = $crate::http::if_match(&req)?;
            $crate::db::run(&state.pool, move |conn| {
                $crate::records::child::delete::<$child>(conn, &caller, &id, &child, expected.as_ref())
            })
            .await?;
            Ok(actix_web::HttpResponse::NoContent().finish())
        }
    };
}

pub(crate) use {child_routes, record_delete_route, record_routes};
