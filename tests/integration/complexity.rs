//! The complexity budget against the page sizes the schema documents:
//! every list with a `first` argument, read through the served schema's
//! introspection, is asked for its largest page (100) with every field of
//! its rows and of the objects they link to, and must be accepted; a page
//! of pages at that size must be refused, saying what it cost.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_databases!(
    every_list_serves_its_largest_page_with_every_field,
    pages_of_pages_are_refused_with_their_cost,
);

/// The largest page the schema documents (`first`/`last`).
const MAX_PAGE: usize = 100;

const INTROSPECTION: &str = "{ __schema { queryType { name } types {
    name kind enumValues { name }
    inputFields { name defaultValue type { ...T } }
    fields { name type { ...T } args { name description defaultValue type { ...T } } } } } }
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// The served schema's types, by name.
struct Types(HashMap<String, Value>);

/// The named type under the list and non-null wrappers.
fn named(t: &Value) -> &Value {
    if t["ofType"].is_object() {
        named(&t["ofType"])
    } else {
        t
    }
}

fn required(input: &Value) -> bool {
    input["type"]["kind"] == "NON_NULL" && input["defaultValue"].is_null()
}

impl Types {
    async fn served(app: &TestApp, token: &str) -> (Self, String) {
        let data = app.ok(Some(token), INTROSPECTION, json!({})).await;
        let types = data["__schema"]["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
            .collect();
        let query = data["__schema"]["queryType"]["name"].as_str().unwrap();
        (Self(types), query.to_owned())
    }

    fn get(&self, name: &str) -> &Value {
        &self.0[name]
    }

    fn fields<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Value> {
        self.get(name)["fields"].as_array().into_iter().flatten()
    }

    fn is_page(field: &Value) -> bool {
        field["args"]
            .as_array()
            .is_some_and(|args| args.iter().any(|a| a["name"] == "first"))
    }

    /// A literal of type `t` that passes validation (its meaning aside).
    fn literal(&self, t: &Value) -> String {
        match t["kind"].as_str().unwrap() {
            "NON_NULL" => self.literal(&t["ofType"]),
            "LIST" => "[]".into(),
            "ENUM" => self.get(t["name"].as_str().unwrap())["enumValues"][0]["name"]
                .as_str()
                .unwrap()
                .to_owned(),
            "INPUT_OBJECT" => {
                let input = self.get(t["name"].as_str().unwrap());
                let fields: Vec<String> = input["inputFields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| required(f))
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f["name"].as_str().unwrap(),
                            self.literal(&f["type"])
                        )
                    })
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }
            _ => match t["name"].as_str().unwrap() {
                "Int" => "1".into(),
                "Float" => "1.0".into(),
                "Boolean" => "false".into(),
                "DateTime" => "\"2026-01-01T00:00:00Z\"".into(),
                "JSON" => "{}".into(),
                _ => "\"0190a000-0000-7000-8000-000000000000\"".into(),
            },
        }
    }

    /// `(a: …, b: …)` for the required arguments of `field`, and `extra`.
    fn arguments(&self, field: &Value, extra: &str) -> String {
        let mut args: Vec<String> = field["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| required(a))
            .map(|a| {
                format!(
                    "{}: {}",
                    a["name"].as_str().unwrap(),
                    self.literal(&a["type"])
                )
            })
            .collect();
        if !extra.is_empty() {
            args.push(extra.to_owned());
        }
        if args.is_empty() {
            String::new()
        } else {
            format!("({})", args.join(", "))
        }
    }

    /// Every field of a row that needs no argument and is no page of its
    /// own; with `nested`, the objects it links to with their own fields.
    fn selection(&self, name: &str, nested: bool) -> String {
        let mut picked = Vec::new();
        for field in self.fields(name) {
            let has_required = field["args"].as_array().unwrap().iter().any(required);
            if has_required || Self::is_page(field) {
                continue;
            }
            let field_name = field["name"].as_str().unwrap();
            let inner = named(&field["type"]);
            match inner["kind"].as_str().unwrap() {
                "SCALAR" | "ENUM" => picked.push(field_name.to_owned()),
                "OBJECT" if nested => {
                    let sub = self.selection(inner["name"].as_str().unwrap(), false);
                    if !sub.is_empty() {
                        picked.push(format!("{field_name} {{ {sub} }}"));
                    }
                }
                _ => {}
            }
        }
        picked.join(" ")
    }

    /// The shortest way from the query root to an object of type `target`,
    /// through fields that are not pages: each step as `field(args)`.
    fn path_to(&self, root: &str, target: &str) -> Option<Vec<String>> {
        let mut seen = HashSet::from([root.to_owned()]);
        let mut queue = VecDeque::from([(root.to_owned(), Vec::new())]);
        while let Some((name, path)) = queue.pop_front() {
            if name == target {
                return Some(path);
            }
            for field in self.fields(&name) {
                let inner = named(&field["type"]);
                let next = inner["name"].as_str().unwrap_or_default();
                if inner["kind"] != "OBJECT" || Self::is_page(field) || !seen.insert(next.into()) {
                    continue;
                }
                let mut step = path.clone();
                step.push(format!(
                    "{}{}",
                    field["name"].as_str().unwrap(),
                    self.arguments(field, "")
                ));
                queue.push_back((next.to_owned(), step));
            }
        }
        None
    }
}

/// `selection` wrapped in the fields of `path`.
fn nest(path: &[String], selection: String) -> String {
    path.iter()
        .rev()
        .fold(selection, |inner, step| format!("{step} {{ {inner} }}"))
}

/// A whole page of a connection: its page info, and each edge's cursor and
/// row.
fn page_selection(row: &str) -> String {
    format!(
        "pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} \
         edges {{ cursor node {{ {row} }} }}"
    )
}

async fn every_list_serves_its_largest_page_with_every_field(app: TestApp) {
    let (token, _) = app.sign_up("reader@example.org").await;
    let (types, root) = Types::served(&app, &token).await;
    let mut hosts: Vec<&String> = types
        .0
        .keys()
        .filter(|name| !name.starts_with("__"))
        .filter(|name| types.get(name)["kind"] == "OBJECT")
        .collect();
    hosts.sort();
    let mut asked = Vec::new();
    for host in hosts {
        for field in types.fields(host).filter(|f| Types::is_page(f)) {
            let list = format!("{host}.{}", field["name"].as_str().unwrap());
            for arg in field["args"].as_array().unwrap() {
                if arg["name"] == "first" || arg["name"] == "last" {
                    let said = arg["description"].as_str().unwrap_or_default();
                    assert!(
                        said.contains(&format!("1 to {MAX_PAGE}")),
                        "{list}({}) does not say its limit: {said:?}",
                        arg["name"]
                    );
                }
            }
            let path = types
                .path_to(&root, host)
                .unwrap_or_else(|| panic!("{list}: no way to it from the query root"));
            let connection = named(&field["type"])["name"].as_str().unwrap();
            let edge = types
                .fields(connection)
                .find(|f| f["name"] == "edges")
                .map(|f| named(&f["type"])["name"].as_str().unwrap().to_owned())
                .expect("a connection has edges");
            let row = types
                .fields(&edge)
                .find(|f| f["name"] == "node")
                .map(|f| named(&f["type"])["name"].as_str().unwrap().to_owned())
                .expect("an edge has a node");
            let page = format!(
                "{}{} {{ {} }}",
                field["name"].as_str().unwrap(),
                types.arguments(field, &format!("first: {MAX_PAGE}")),
                page_selection(&types.selection(&row, true))
            );
            let query = format!("{{ {} }}", nest(&path, page));
            let res = app.gql(Some(&token), &query, json!({})).await;
            for error in res["errors"].as_array().into_iter().flatten() {
                let code = error["extensions"]["code"].as_str().unwrap_or_default();
                // Made-up ids and arguments may be refused when the query
                // runs; the query itself must be valid and within the limits.
                assert!(
                    matches!(code, "NOT_FOUND" | "FORBIDDEN" | "VALIDATION"),
                    "{list}: a full page is refused: {error:#}\n{query}"
                );
            }
            asked.push(list);
        }
    }
    assert!(
        asked.len() >= 20,
        "every list was asked for a full page: {asked:?}"
    );
}

async fn pages_of_pages_are_refused_with_their_cost(app: TestApp) {
    let nested = "{ parentEntities(first: 100) { edges { node { id
        pools(first: 100) { edges { node { id name
            members(first: 100) { edges { node { id email } } } } } } } } } }";
    let res = app.gql(None, nested, json!({})).await;
    assert_eq!(error_code(&res), "QUERY_TOO_COMPLEX", "{res:#}");
    assert!(res["data"].is_null());
    let message = res["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("the query costs ")
            && message.contains(&format!(
                "more than the limit of {}",
                api::graphql::MAX_COMPLEXITY
            )),
        "{message}"
    );
    // Two levels are refused too, even with one field per row.
    let two = "{ parentEntities(first: 100) { edges { node {
        pools(first: 100) { edges { node { id } } } } } } }";
    let res = app.gql(None, two, json!({})).await;
    assert_eq!(error_code(&res), "QUERY_TOO_COMPLEX", "{res:#}");
}
