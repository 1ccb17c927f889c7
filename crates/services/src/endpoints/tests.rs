//! Unit tests of route matching, the request object and the response mapping.

use super::request::{IncomingRequest, request_object};
use super::response::{InvalidResponse, ResponseBody, map_output};
use super::routes::{Lookup, TenantRoutes};
use domain::script::{HttpMethod, Script, ScriptInput, ScriptRules};
use domain::{ScriptId, TenantId};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn http_script(path: &str, methods: &[&str], auth: &str, status: &str) -> Script {
    let input = ScriptInput {
        name: format!("route {path} {methods:?}"),
        source: "export default (req) => req".into(),
        script_type: "http".into(),
        status: Some(status.into()),
        http_path: Some(path.into()),
        http_methods: methods.iter().map(|m| m.to_string()).collect(),
        endpoint_auth: Some(auth.into()),
        ..ScriptInput::default()
    };
    let spec = ScriptRules::default().parse(&input).expect("valid script");
    Script::create(TenantId::new(), spec, None, chrono::DateTime::UNIX_EPOCH)
}

fn table(scripts: Vec<Script>) -> TenantRoutes {
    TenantRoutes::build_for_tests(scripts)
}

fn found(lookup: Lookup) -> (ScriptId, BTreeMap<String, String>) {
    match lookup {
        Lookup::Found(found) => (found.script.id, found.params),
        other => panic!("expected a route, got {other:?}"),
    }
}

#[test]
fn literal_segments_win_and_parameters_bind() {
    let by_id = http_script("/orders/:id", &["GET", "DELETE"], "authenticated", "active");
    let new = http_script("/orders/new", &["GET"], "authenticated", "active");
    let items = http_script("/orders/:id/items/:item", &["POST"], "public", "active");
    let (by_id_id, new_id, items_id) = (by_id.id, new.id, items.id);
    let routes = table(vec![by_id, new, items]);
    assert_eq!(found(routes.lookup("GET", "/orders/new", false)).0, new_id);
    let (id, params) = found(routes.lookup("get", "/orders/42", false));
    assert_eq!((id, params["id"].as_str()), (by_id_id, "42"));
    let (id, params) = found(routes.lookup("POST", "/orders/7/items/x", true));
    assert_eq!((id, params.len()), (items_id, 2));
    assert!(matches!(
        routes.lookup("PUT", "/orders/42", false),
        Lookup::MethodNotAllowed(allow) if allow == vec![HttpMethod::Get, HttpMethod::Delete]
    ));
    assert!(matches!(
        routes.lookup("GET", "/orders", false),
        Lookup::NotFound
    ));
    assert!(matches!(
        routes.lookup("GET", "/orders/42", true),
        Lookup::NotFound
    ));
    assert!(matches!(
        routes.lookup("HEAD", "/orders/new", false),
        Lookup::MethodNotAllowed(_)
    ));
}

#[test]
fn only_active_scripts_are_served() {
    let paused = http_script("/paused", &["GET"], "public", "paused");
    let routes = table(vec![paused]);
    assert!(matches!(
        routes.lookup("GET", "/paused", false),
        Lookup::NotFound
    ));
}

#[test]
fn the_request_object_parses_bodies_by_content_type() {
    let incoming = |content_type: &str, body: &str| IncomingRequest {
        method: "POST".into(),
        path: "/p".into(),
        query: "a=1&b=2&b=3".into(),
        headers: vec![
            ("Content-Type".into(), content_type.into()),
            ("Authorization".into(), "Bearer secret".into()),
            ("X-Twice".into(), "1".into()),
            ("x-twice".into(), "2".into()),
        ],
        body: body.as_bytes().to_vec(),
    };
    let params = BTreeMap::from([("id".to_owned(), "9".to_owned())]);
    let json_request =
        request_object(&incoming("application/json", r#"{"n":1}"#), &params, true).expect("json");
    assert_eq!(json_request["body"], json!({"n": 1}));
    assert_eq!(json_request["query"], json!({"a": "1", "b": ["2", "3"]}));
    assert_eq!(json_request["params"], json!({"id": "9"}));
    assert_eq!(json_request["headers"]["x-twice"], json!("1, 2"));
    assert_eq!(json_request["headers"].get("authorization"), None);
    assert_eq!(json_request["rawBody"], json!(r#"{"n":1}"#));
    let form = request_object(
        &incoming(
            "application/x-www-form-urlencoded; charset=utf-8",
            "x=a+b&y=%21",
        ),
        &params,
        false,
    )
    .expect("form");
    assert_eq!(form["body"], json!({"x": "a b", "y": "!"}));
    assert_eq!(form["headers"]["authorization"], json!("Bearer secret"));
    let text = request_object(&incoming("text/plain", "hello"), &params, true).expect("text");
    assert_eq!(text["body"], json!("hello"));
    assert!(request_object(&incoming("application/json", "{nope"), &params, true).is_err());
}

#[test]
fn outputs_map_to_responses() {
    let map = |value: Value| map_output(Some(&value));
    let plain = map(json!([1, 2])).expect("plain");
    assert_eq!(
        (plain.status, plain.body),
        (200, ResponseBody::Json(json!([1, 2])))
    );
    let no_status = map(json!({"status": "201", "body": "x"})).expect("object");
    assert_eq!(no_status.status, 200);
    let text = map(
        json!({"status": 201, "headers": {"X-A": "1", "Connection": "close",
        "Set-Cookie": ["a=1", "b=2"], "x-execution-id": "forged"}, "body": "made"}),
    )
    .expect("text");
    assert_eq!(text.status, 201);
    assert_eq!(text.body, ResponseBody::Text("made".into()));
    assert_eq!(
        text.headers,
        vec![
            ("set-cookie".to_owned(), "a=1".to_owned()),
            ("set-cookie".to_owned(), "b=2".to_owned()),
            ("x-a".to_owned(), "1".to_owned()),
        ]
    );
    assert_eq!(text.dropped, vec!["connection", "x-execution-id"]);
    let empty = map(json!({"status": 204})).expect("empty");
    assert_eq!(empty.body, ResponseBody::Empty);
    let cases = [
        (json!({"status": 99}), InvalidResponse::Status("99".into())),
        (
            json!({"status": 1.5}),
            InvalidResponse::Status("1.5".into()),
        ),
        (
            json!({"status": 200, "headers": []}),
            InvalidResponse::HeadersShape,
        ),
        (
            json!({"status": 200, "headers": {"a b": "1"}}),
            InvalidResponse::HeaderName("a b".into()),
        ),
        (
            json!({"status": 200, "headers": {"x": "a\r\nb: c"}}),
            InvalidResponse::HeaderValue("x".into()),
        ),
        (
            json!({"status": 200, "headers": {"x": {"y": 1}}}),
            InvalidResponse::HeadersShape,
        ),
    ];
    for (output, expected) in cases {
        assert_eq!(map(output.clone()), Err(expected), "{output}");
    }
    assert_eq!(
        map_output(None).expect("none").body,
        ResponseBody::Json(Value::Null)
    );
}
