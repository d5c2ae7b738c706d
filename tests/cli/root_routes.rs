//! Root routes that only a served binary shows as a browser sees them: the Go original's `/swagger/` paths and
//! the Swagger UI configuration.

use crate::process::{Server, http, sqlite_url};

#[tokio::test]
async fn swagger_with_nothing_after_the_slash_redirects_permanently_to_swagger_ui() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&[("DATABASE_URL", &sqlite_url(dir.path(), "gospital.db"))]).await;

    for path in ["/swagger/", "/swagger", "/swagger/index.html"] {
        let (status, location, _) = http(server.addr, "GET", path, None).await;
        assert_eq!((status, location.as_deref()), (301, Some("/swagger-ui/")), "{path}");
    }
}

#[tokio::test]
async fn swagger_ui_sends_the_document_url_to_no_outside_validator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&[("DATABASE_URL", &sqlite_url(dir.path(), "gospital.db"))]).await;

    let (status, _, script) = http(server.addr, "GET", "/swagger-ui/swagger-initializer.js", None).await;

    assert_eq!(status, 200);
    assert!(script.contains(r#""validatorUrl": "none""#), "{script}");
}
