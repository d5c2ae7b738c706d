//! The OpenAPI document against the server itself (API.md §5.2): every route of the contract is documented and
//! answers, nothing else is documented, and every request body and query schema agrees with the parser that reads
//! it: the documented example parses, the parser reads exactly the documented members, and every constraint the
//! document states (required, types, lengths, ranges, enums, patterns, formats, nullability) is one the parser
//! enforces, and the reverse for the values at its bounds.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request};
use gospital::http::json::reads;
use serde_json::{Value, json};

use crate::helpers::{Res, TestApp, s};

/// API.md §3.0, written out here independently of the server's own routes: (method, path).
const CONTRACT_ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/swagger-ui/"),
    ("get", "/swagger/doc.json"),
    ("post", "/api/v1/patients"),
    ("get", "/api/v1/patients"),
    ("get", "/api/v1/patients/{patientId}"),
    ("put", "/api/v1/patients/{patientId}"),
    ("delete", "/api/v1/patients/{patientId}"),
    ("get", "/api/v1/patients/{patientId}/medical-records"),
    ("get", "/api/v1/patients/{patientId}/invoices"),
    ("post", "/api/v1/doctors"),
    ("get", "/api/v1/doctors"),
    ("get", "/api/v1/doctors/{doctorId}"),
    ("put", "/api/v1/doctors/{doctorId}"),
    ("get", "/api/v1/doctors/{doctorId}/availability"),
    ("post", "/api/v1/appointments"),
    ("get", "/api/v1/appointments"),
    ("get", "/api/v1/appointments/{appointmentId}"),
    ("put", "/api/v1/appointments/{appointmentId}"),
    ("delete", "/api/v1/appointments/{appointmentId}"),
    ("get", "/api/v1/departments"),
    ("post", "/api/v1/departments"),
    ("get", "/api/v1/departments/{departmentId}"),
    ("put", "/api/v1/departments/{departmentId}"),
    ("get", "/api/v1/departments/{departmentId}/doctors"),
    ("post", "/api/v1/medical-records"),
    ("get", "/api/v1/medical-records/{recordId}"),
    ("put", "/api/v1/medical-records/{recordId}"),
    ("get", "/api/v1/medical-records/{recordId}/history"),
    ("post", "/api/v1/billing/invoices"),
    ("get", "/api/v1/billing/invoices/{invoiceId}"),
    // SECURITY.md §2, §4.
    ("get", "/api/v1/audit-events"),
    ("get", "/api/v1/patients/{patientId}/access-log"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/admin/revocations"),
    ("get", "/api/v1/admin/revocations"),
    ("put", "/api/v1/billing/invoices/{invoiceId}/payment"),
];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document(app: &TestApp) -> Value {
    let res = app.get("/openapi.json").await;
    res.assert(200);
    res.body
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_has_every_contract_route_and_nothing_else() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    let contract: BTreeSet<(String, String)> =
        CONTRACT_ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(
        documented.difference(&contract).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not in the contract"
    );
    assert_eq!(
        contract.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "in the contract but not documented"
    );
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    for (method, path, _) in operations(&document(&app).await) {
        let uri = w.fill(&path);
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let res = app.request(m, &uri, matches!(method.as_str(), "post" | "put").then_some(&json!({}))).await;
        let unrouted = res.status == 405 || (res.status == 404 && res.code() == "NOT_FOUND");
        assert!(!unrouted, "{method} {uri} is documented but not routed: {} {}", res.status, res.text);
    }
}

/// A method added to a documented path without its `#[utoipa::path]` would answer instead of 405: every method the
/// document does not list answers 405, and `Allow` names exactly the documented ones (HEAD aside, which axum adds
/// to every GET).
#[tokio::test]
async fn every_undocumented_method_on_a_documented_path_is_405_with_the_documented_allow() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let doc = document(&app).await;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let documented: BTreeSet<String> =
            METHODS.iter().filter(|m| item.get(**m).is_some()).map(|m| m.to_uppercase()).collect();
        let uri = w.fill(path);
        for method in METHODS.iter().filter(|m| item.get(**m).is_none()) {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app.request(m, &uri, None).await;
            assert_eq!(res.status, 405, "{method} {uri} is not documented but answers {} {}", res.status, res.text);
            let allow: BTreeSet<String> = res
                .header("allow")
                .unwrap_or_else(|| panic!("{method} {uri}: 405 without Allow"))
                .split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty() && m != "HEAD")
                .collect();
            assert_eq!(allow, documented, "{method} {uri}: Allow against the documented methods");
        }
    }
}

/// A new path added with a plain `.route(...)` is routed but not documented, and no request can find it; the API
/// modules register handlers only through `utoipa_axum::routes!`, which documents them, and this keeps it so.
/// (`docs.rs` owns the root redirects, which the document lists by hand and the contract test checks.)
#[test]
fn the_api_modules_add_routes_only_through_the_documenting_macro() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") || path.file_name().is_some_and(|n| n == "docs.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        checked += 1;
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            assert!(
                !code.contains(".route(") && !code.contains(".route_service(") && !code.contains(".nest("),
                "{}:{}: a route outside routes!() is not in the document: {}",
                path.display(),
                n + 1,
                line.trim()
            );
        }
    }
    assert!(checked >= 8, "only {checked} files in {}", dir.display());
}

/// A `$ref` to a missing component is skipped by generators (schemathesis drops that part of the body) and turns
/// into an untyped member in generated clients, so the document would silently say less than the server does.
#[tokio::test]
async fn every_reference_names_a_component_of_the_document() {
    fn refs<'a>(v: &'a Value, out: &mut BTreeSet<&'a str>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.insert(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let mut found = BTreeSet::new();
    refs(&doc, &mut found);
    assert!(found.len() > 20, "too few references to be the real document: {found:?}");
    let missing: Vec<&&str> = found
        .iter()
        .filter(|r| {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("non-schema reference {r}"));
            doc["components"]["schemas"].get(name).is_none()
        })
        .collect();
    assert!(missing.is_empty(), "references without a component: {missing:?}");
}

#[tokio::test]
async fn every_api_operation_documents_its_errors_with_the_envelope_and_its_codes() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let catalogue: Vec<Value> = doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
        .as_array()
        .expect("the error codes are an enum")
        .clone();
    for (method, path, op) in operations(&doc).into_iter().filter(|(_, p, _)| p.starts_with("/api/")) {
        let responses = op["responses"].as_object().unwrap();
        // Every /api operation needs a token (SECURITY.md §2).
        let mut expected = vec!["401", "403", "429", "500", "503", "504"];
        if matches!(method.as_str(), "post" | "put") {
            expected.extend(["400", "413", "415"]);
        }
        match method.as_str() {
            // A revocation takes no Idempotency-Key (revoking twice is harmless).
            "post" if path != "/api/v1/admin/revocations" => expected.extend(["409", "422"]),
            "put" | "delete" => expected.push("412"),
            _ => {}
        }
        for status in expected {
            let r = &responses.get(status).unwrap_or_else(|| panic!("{method} {path} lacks {status}"));
            assert_eq!(r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorEnvelope");
            let described = r["description"].as_str().unwrap();
            for code in described.split('`').skip(1).step_by(2) {
                assert!(catalogue.contains(&json!(code)), "{method} {path} {status}: unknown code {code}");
            }
        }
        assert!(responses["503"]["headers"]["Retry-After"].is_object(), "{method} {path}: 503 without Retry-After");
    }
}

#[tokio::test]
async fn every_create_links_to_what_it_created() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    for (collection, id, targets) in [
        ("/api/v1/patients", "patientId", &["get_patient", "update_patient", "deactivate_patient"][..]),
        ("/api/v1/doctors", "doctorId", &["get_doctor", "update_doctor", "doctor_availability"]),
        ("/api/v1/departments", "departmentId", &["get_department", "update_department"]),
        ("/api/v1/appointments", "appointmentId", &["get_appointment", "update_appointment", "cancel_appointment"]),
        ("/api/v1/medical-records", "recordId", &["get_record", "amend_record", "record_history"]),
        ("/api/v1/billing/invoices", "invoiceId", &["get_invoice", "update_payment"]),
    ] {
        let links = doc["paths"][collection]["post"]["responses"]["201"]["links"].as_object().expect("links");
        for target in targets {
            let link = links.values().find(|l| l["operationId"] == *target);
            let link = link.unwrap_or_else(|| panic!("POST {collection} does not link to {target}: {links:?}"));
            assert_eq!(link["parameters"][id], format!("$response.body#/{id}"));
        }
    }
}

// ---- request schemas against the parsers -----------------------------------------------------------------

/// One of every resource, so path parameters name things that exist and bodies reach their parser.
struct World {
    ids: Vec<(&'static str, String)>,
}

impl World {
    async fn new(app: &TestApp) -> Self {
        let patient = s(&app.create_patient("schema-world@example.org").await, "patientId").to_owned();
        let doctor = s(&app.create_doctor("LIC-SCHEMA-WORLD", "DEPT-001").await, "doctorId").to_owned();
        let res = app.book(&patient, &doctor, "2099-06-01", "10:00", "10:30").await;
        let appointment = s(&res.body, "appointmentId").to_owned();
        let res = app
            .post(
                "/api/v1/medical-records",
                &json!({"patientId": patient, "doctorId": doctor, "visitDate": "2026-11-20T09:00:00Z",
                        "chiefComplaint": "Cough"}),
            )
            .await;
        let record = s(&res.body, "recordId").to_owned();
        let res = app
            .post(
                "/api/v1/billing/invoices",
                &json!({"patientId": patient, "invoiceDate": "2026-11-25", "dueDate": "2026-12-25",
                        "items": [{"description": "Consultation", "quantity": 1, "unitPrice": 150}]}),
            )
            .await;
        let invoice = s(&res.body, "invoiceId").to_owned();
        Self {
            ids: vec![
                ("patientId", patient),
                ("doctorId", doctor),
                ("appointmentId", appointment),
                ("recordId", record),
                ("invoiceId", invoice),
                ("departmentId", "DEPT-001".to_owned()),
            ],
        }
    }

    fn fill(&self, path: &str) -> String {
        self.ids.iter().fold(path.to_owned(), |p, (name, id)| p.replace(&format!("{{{name}}}"), id))
    }
}

/// Follows a `$ref` into the document's components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// A schema's alternatives (`anyOf`/`oneOf`), each resolved; a plain schema is its own one alternative.
fn branches<'a>(doc: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let schema = resolve(doc, schema);
    match schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Value::as_array) {
        Some(list) => list.iter().flat_map(|b| branches(doc, b)).collect(),
        None => vec![schema],
    }
}

fn types(schema: &Value) -> Vec<String> {
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// The documented members of a body, as dotted paths (array elements as `[0]`), for comparison with what the
/// parser read.
fn member_paths(doc: &Value, schema: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    for branch in branches(doc, schema) {
        if let Some(props) = branch["properties"].as_object() {
            for (name, sub) in props {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                out.insert(path.clone());
                member_paths(doc, sub, &path, out);
            }
        }
        if branch.get("items").is_some() {
            member_paths(doc, &branch["items"], &format!("{prefix}[0]"), out);
        }
    }
}

/// A value as a JSON pointer path: `items[0].quantity` → `/items/0/quantity`.
fn pointer(path: &str) -> String {
    path.split('.').flat_map(|part| part.split('[')).map(|p| format!("/{}", p.trim_end_matches(']'))).collect()
}

fn with(base: &Value, path: &str, value: Option<Value>) -> Value {
    let mut body = base.clone();
    let ptr = pointer(path);
    let (parent, last) = ptr.rsplit_once('/').unwrap();
    let container = if parent.is_empty() { &mut body } else { body.pointer_mut(parent).expect("parent in example") };
    match (container, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(last.to_owned(), v);
        }
        (Value::Object(map), None) => {
            map.remove(last);
        }
        (Value::Array(items), Some(v)) => items[last.parse::<usize>().unwrap()] = v,
        (other, _) => panic!("cannot set {path} in {other}"),
    }
    body
}

/// A leaf of a body schema and what its schema promises.
struct Leaf {
    path: String,
    required: bool,
    branches: Vec<Value>,
}

impl Leaf {
    fn nullable(&self) -> bool {
        self.branches.iter().any(|b| types(b).contains(&"null".to_owned()))
    }

    fn main(&self) -> Option<&Value> {
        self.branches.iter().find(|b| {
            let t = types(b);
            !(t == ["null"] || (t == ["string"] && b["pattern"].as_str().is_some_and(|p| p.starts_with("^[\\t"))))
        })
    }
}

fn leaves(doc: &Value, schema: &Value, prefix: &str, example: &Value, out: &mut Vec<Leaf>) {
    for branch in branches(doc, schema) {
        let required: Vec<&str> =
            branch["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let Some(props) = branch["properties"].as_object() else { continue };
        for (name, sub) in props {
            let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            let present = example.pointer(&pointer(&path));
            let subs: Vec<Value> = branches(doc, sub).into_iter().cloned().collect();
            let object = subs.iter().find(|b| b.get("properties").is_some()).cloned();
            let array_of_objects = subs.iter().find_map(|b| {
                let items = resolve(doc, &b["items"]);
                items.get("properties").map(|_| items.clone())
            });
            out.push(Leaf { path: path.clone(), required: required.contains(&name.as_str()), branches: subs });
            // Members of nested objects and of array elements, when the example has them to mutate.
            if let (Some(obj), Some(Value::Object(_))) = (object, present) {
                leaves(doc, &obj, &path, example, out);
            }
            if let (Some(item), Some(Value::Array(items))) = (array_of_objects, present)
                && !items.is_empty()
            {
                leaves(doc, &item, &format!("{path}[0]"), example, out);
            }
        }
    }
}

/// A value the schema refuses, named; `None` is the member left out.
type Refused = (String, Option<Value>);

/// The values the schema refuses for `leaf`, and the values at its bounds it accepts.
fn mutations(leaf: &Leaf) -> (Vec<Refused>, Vec<(String, Value)>) {
    let mut refused: Vec<Refused> = Vec::new();
    let mut accepted: Vec<(String, Value)> = Vec::new();
    if leaf.required {
        refused.push(("absent".into(), None));
    }
    if !leaf.nullable() {
        refused.push(("null".into(), Some(Value::Null)));
    } else {
        accepted.push(("null".into(), Value::Null));
    }
    let Some(main) = leaf.main() else { return (refused, accepted) };
    let t = types(main);
    let has = |k: &str| t.iter().any(|x| x == k);
    if has("string") {
        refused.push(("a number".into(), Some(json!(12345))));
        let pattern = main["pattern"].as_str().unwrap_or("");
        let free_text = pattern.is_empty() || pattern.starts_with("[^");
        if main["minLength"].as_u64() == Some(1) && free_text {
            refused.push(("blank".into(), Some(json!("   "))));
        }
        if let Some(max) = main["maxLength"].as_u64()
            && free_text
            && main.get("format").is_none()
        {
            let max = usize::try_from(max).unwrap();
            refused.push((format!("{} characters", max + 1), Some(json!("x".repeat(max + 1)))));
            accepted.push((format!("{max} characters"), json!("x".repeat(max))));
        }
        if !free_text {
            refused.push(("off the pattern".into(), Some(json!("!~!"))));
        }
        match main["format"].as_str() {
            Some("date") => refused.push(("not a calendar date".into(), Some(json!("2026-02-30")))),
            Some("date-time") => refused.push(("not a timestamp".into(), Some(json!("yesterday")))),
            _ => {}
        }
        if let Some(values) = main["enum"].as_array() {
            refused.push(("off the enum".into(), Some(json!("zz-not-a-value"))));
            accepted.extend(values.iter().map(|v| (format!("{v}"), v.clone())));
        }
    }
    if has("integer") || has("number") {
        refused.push(("a string".into(), Some(json!("5"))));
        if let Some(min) = main["minimum"].as_f64() {
            refused.push(("below the minimum".into(), Some(json!(min - 1.0))));
        }
        if let Some(max) = main["maximum"].as_f64() {
            refused.push(("above the maximum".into(), Some(json!(max + 1.0))));
        }
        if has("integer") {
            refused.push(("a fraction".into(), Some(json!(1.5))));
            for bound in ["minimum", "maximum"] {
                if let Some(v) = main[bound].as_i64() {
                    accepted.push((bound.into(), json!(v)));
                }
            }
        }
        if main["multipleOf"].as_f64() == Some(0.01) {
            refused.push(("three decimals".into(), Some(json!(1.005))));
        }
    }
    if has("array") {
        refused.push(("not an array".into(), Some(json!("x"))));
        if let Some(max) = main["maxItems"].as_u64() {
            let item = if main["items"]["type"] == "string" { json!("x") } else { Value::Null };
            if !item.is_null() {
                refused
                    .push((format!("{} items", max + 1), Some(json!(vec![item; usize::try_from(max + 1).unwrap()]))));
            }
        }
        if main["minItems"].as_u64() == Some(1) {
            refused.push(("no items".into(), Some(json!([]))));
        }
    }
    if main.get("properties").is_some() {
        refused.push(("not an object".into(), Some(json!("x"))));
    }
    (refused, accepted)
}

async fn send(app: &TestApp, method: &str, uri: &str, body: &Value) -> (Res, BTreeSet<String>) {
    let req = Request::builder()
        .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap();
    reads::recording(app.send(req)).await
}

/// Member paths with any array index as `[0]`, as [`member_paths`] writes them.
fn normalised(read: &BTreeSet<String>) -> BTreeSet<String> {
    read.iter()
        .filter(|r| !r.starts_with('?'))
        .map(|r| {
            let mut out = String::new();
            let mut chars = r.chars().peekable();
            while let Some(c) = chars.next() {
                out.push(c);
                if c == '[' {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('0');
                }
            }
            out
        })
        .collect()
}

#[tokio::test]
async fn every_request_body_schema_agrees_with_its_parser() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let doc = document(&app).await;
    let mut checked = 0;
    for (method, path, op) in operations(&doc) {
        let Some(schema) = op["requestBody"]["content"]["application/json"]["schema"].as_object() else { continue };
        let schema = Value::Object(schema.clone());
        let resolved = resolve(&doc, &schema);
        let example = resolved.get("example").or_else(|| resolved["examples"].get(0)).cloned();
        let example = example.unwrap_or_else(|| panic!("{method} {path}: the body schema has no example"));
        let uri = w.fill(&path);

        // The example parses, and the parser reads exactly the documented members.
        let (res, read) = send(&app, &method, &uri, &example).await;
        assert!(res.code() != "VALIDATION_ERROR", "{method} {path}: the documented example is refused: {}", res.text);
        let mut documented = BTreeSet::new();
        member_paths(&doc, &schema, "", &mut documented);
        let read = normalised(&read);
        let undocumented: Vec<&String> = read.difference(&documented).collect();
        assert!(undocumented.is_empty(), "{method} {path}: the parser reads undocumented {undocumented:?}");
        let unread: Vec<&String> = documented.difference(&read).collect();
        assert!(unread.is_empty(), "{method} {path}: documented but never read by the parser: {unread:?}");

        let mut all = Vec::new();
        leaves(&doc, &schema, "", &example, &mut all);
        for leaf in &all {
            let (refused, accepted) = mutations(leaf);
            for (what, value) in refused {
                let body = with(&example, &leaf.path, value);
                let (res, _) = send(&app, &method, &uri, &body).await;
                let prefix = format!("{}: ", leaf.path);
                assert!(
                    res.status == 400 && res.details().iter().any(|d| d.starts_with(&prefix)),
                    "{method} {path}: {} {what}: the schema refuses it, the server answered {} {}",
                    leaf.path,
                    res.status,
                    res.text
                );
                checked += 1;
            }
            for (what, value) in accepted {
                let body = with(&example, &leaf.path, Some(value));
                let (res, _) = send(&app, &method, &uri, &body).await;
                assert!(
                    res.code() != "VALIDATION_ERROR",
                    "{method} {path}: {} {what}: the schema accepts it, the parser refused: {}",
                    leaf.path,
                    res.text
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "only {checked} mutations: the walk found too little");
}

#[tokio::test]
async fn every_query_schema_agrees_with_its_parser() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let doc = document(&app).await;
    for (method, path, op) in operations(&doc).into_iter().filter(|(m, p, _)| m == "get" && p.starts_with("/api/")) {
        let params: Vec<Value> = op["parameters"].as_array().cloned().unwrap_or_default();
        let query: Vec<&Value> = params.iter().filter(|p| p["in"] == "query").collect();
        let uri = w.fill(&path);
        let (res, read) = reads::recording(app.get(&uri)).await;
        assert!(res.status.is_success(), "{method} {path}: {}", res.text);
        let read: BTreeSet<String> = read.iter().filter_map(|r| r.strip_prefix('?').map(str::to_owned)).collect();
        let documented: BTreeSet<String> = query.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect();
        assert_eq!(read, documented, "{method} {path}: the parameters the handler reads vs the documented ones");
        for p in query {
            let name = p["name"].as_str().unwrap();
            assert_eq!(p["allowEmptyValue"], true, "{path} {name}: an empty value counts as absent");
            let schema = branches(&doc, &p["schema"]).into_iter().find(|b| types(b) != ["null"]).unwrap().clone();
            let mut refused: Vec<String> = Vec::new();
            let mut accepted: Vec<String> = vec![String::new()];
            match schema["type"].as_str() {
                Some("integer") => {
                    refused.push("abc".into());
                    refused.push("1.5".into());
                    if let Some(min) = schema["minimum"].as_i64() {
                        refused.push((min - 1).to_string());
                        accepted.push(min.to_string());
                    }
                    if let Some(max) = schema["maximum"].as_i64() {
                        refused.push((max + 1).to_string());
                        accepted.push(max.to_string());
                    }
                }
                Some("boolean") => {
                    refused.push("yes".into());
                    accepted.extend(["true".into(), "false".into()]);
                }
                Some("string") => {
                    if let Some(values) = schema["enum"].as_array() {
                        refused.push("zz-not-a-value".into());
                        accepted.extend(values.iter().filter_map(|v| v.as_str().map(str::to_owned)));
                    }
                    if schema["format"] == "date" {
                        refused.push("2026-02-30".into());
                    }
                    if let Some(max) = schema["maxLength"].as_u64() {
                        refused.push("x".repeat(usize::try_from(max).unwrap() + 1));
                        accepted.push("x".repeat(usize::try_from(max).unwrap()));
                    }
                }
                _ => {}
            }
            for value in refused {
                let res = app.get(&format!("{uri}?{name}={value}")).await;
                assert!(
                    res.status == 400 && res.details().iter().any(|d| d.starts_with(&format!("{name}: "))),
                    "{path}?{name}={value}: the schema refuses it, the server answered {} {}",
                    res.status,
                    res.text
                );
            }
            for value in accepted {
                let res = app.get(&format!("{uri}?{name}={value}")).await;
                assert!(res.code() != "VALIDATION_ERROR", "{path}?{name}={value}: refused: {}", res.text);
            }
        }
    }
}
