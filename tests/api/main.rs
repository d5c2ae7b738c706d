//! HTTP behaviour of the whole API on SQLite, driven in process through `tower::ServiceExt::oneshot`.

mod helpers;
