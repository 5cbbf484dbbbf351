//! What `pools_graphql_operations_total` and `pools_graphql_operation_seconds`
//! learn of an HTTP operation: its label, chosen before it runs as
//! async-graphql will choose the operation, and its outcome code, read from
//! the answer. The label is bounded: client-chosen names by
//! [`Metrics::operation_label`], an unnamed operation by the schema's root
//! fields (a root field the schema lacks makes the operation invalid).

use std::{collections::HashSet, sync::OnceLock, time::Instant};

use async_graphql::{
    Request, Response, Value,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet, TypeKind,
        TypeSystemDefinition,
    },
};

use crate::metrics::{Metrics, Operation};

/// The label of the operation `request` runs (its query already parsed, or
/// not parsable).
pub fn label(metrics: &Metrics, request: &mut Request) -> String {
    metrics.operation_label(&operation(request, root_fields()))
}

/// Counts an answered operation, with the code of its first error or `OK`.
pub fn record(metrics: &Metrics, label: &str, response: &Response, started: Instant) {
    metrics.graphql_operation(label, outcome_code(response), started.elapsed());
}

pub(crate) fn outcome_code(response: &Response) -> &str {
    let Some(first) = response.errors.first() else {
        return "OK";
    };
    // Every error has its code by now (`http::finalize`).
    match first.extensions.as_ref().and_then(|e| e.get("code")) {
        Some(Value::String(code)) => code,
        _ => crate::error::code::INTERNAL,
    }
}

/// The root fields of each operation type, from the schema's SDL: the same
/// in every server of the process, so read once.
struct RootFields {
    query: HashSet<String>,
    mutation: HashSet<String>,
    subscription: HashSet<String>,
}

fn root_fields() -> &'static RootFields {
    static ROOTS: OnceLock<RootFields> = OnceLock::new();
    ROOTS.get_or_init(|| RootFields::from_sdl(&super::sdl()))
}

impl RootFields {
    fn from_sdl(sdl: &str) -> Self {
        let mut roots = Self {
            query: HashSet::new(),
            mutation: HashSet::new(),
            subscription: HashSet::new(),
        };
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            tracing::error!(
                "the schema's own SDL does not parse; unnamed operations are counted as invalid"
            );
            return roots;
        };
        let mut names = (
            "Query".to_owned(),
            "Mutation".to_owned(),
            "Subscription".to_owned(),
        );
        for definition in &document.definitions {
            if let TypeSystemDefinition::Schema(schema) = definition {
                let schema = &schema.node;
                let name = |n: &Option<async_graphql::Positioned<async_graphql::Name>>| {
                    n.as_ref().map(|n| n.node.to_string())
                };
                names.0 = name(&schema.query).unwrap_or(names.0);
                names.1 = name(&schema.mutation).unwrap_or(names.1);
                names.2 = name(&schema.subscription).unwrap_or(names.2);
            }
        }
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let TypeKind::Object(object) = &ty.node.kind else {
                continue;
            };
            let name = ty.node.name.node.as_str();
            let set = if name == names.0 {
                &mut roots.query
            } else if name == names.1 {
                &mut roots.mutation
            } else if name == names.2 {
                &mut roots.subscription
            } else {
                continue;
            };
            set.extend(object.fields.iter().map(|f| f.node.name.node.to_string()));
        }
        roots
    }

    fn has(&self, ty: OperationType, field: &str) -> bool {
        match ty {
            OperationType::Query => {
                matches!(field, "__typename" | "__schema" | "__type") || self.query.contains(field)
            }
            OperationType::Mutation => field == "__typename" || self.mutation.contains(field),
            OperationType::Subscription => self.subscription.contains(field),
        }
    }
}

/// The operation async-graphql will run: the one named, or the only one.
fn operation(request: &mut Request, roots: &RootFields) -> Operation {
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return Operation::Invalid;
    };
    match (&document.operations, name) {
        (DocumentOperations::Multiple(ops), Some(name)) if ops.contains_key(name.as_str()) => {
            Operation::Named(name)
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .keys()
            .next()
            .map_or(Operation::Invalid, |n| Operation::Named(n.to_string())),
        (DocumentOperations::Single(op), None) => {
            let ty = op.node.ty;
            match first_root_field(document, &op.node.selection_set.node, 0) {
                Some(field) if roots.has(ty, field) => Operation::Unnamed {
                    ty: type_name(ty),
                    root_field: field.to_owned(),
                },
                _ => Operation::Invalid,
            }
        }
        // A name the document lacks, a name for an unnamed operation, or
        // several operations and no name: async-graphql refuses them all.
        _ => Operation::Invalid,
    }
}

fn type_name(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// Fragments nest at most this deep before the first field; validation,
/// which runs later, refuses loops between fragments.
const MAX_FRAGMENT_DEPTH: usize = 8;

/// The name (not the alias) of the first field the operation selects, into
/// fragments if it starts with one.
fn first_root_field<'d>(
    document: &'d ExecutableDocument,
    selection: &'d SelectionSet,
    depth: usize,
) -> Option<&'d str> {
    if depth > MAX_FRAGMENT_DEPTH {
        return None;
    }
    match &selection.items.first()?.node {
        Selection::Field(field) => Some(field.node.name.node.as_str()),
        Selection::InlineFragment(fragment) => {
            first_root_field(document, &fragment.node.selection_set.node, depth + 1)
        }
        Selection::FragmentSpread(spread) => {
            let fragment = document.fragments.get(&spread.node.fragment_name.node)?;
            first_root_field(document, &fragment.node.selection_set.node, depth + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(query: &str, name: Option<&str>) -> Operation {
        let mut request = Request::new(query);
        request.operation_name = name.map(str::to_owned);
        operation(&mut request, root_fields())
    }

    fn unnamed(ty: &'static str, field: &str) -> Operation {
        Operation::Unnamed {
            ty,
            root_field: field.to_owned(),
        }
    }

    #[test]
    fn the_root_fields_are_the_schemas() {
        let roots = root_fields();
        assert!(roots.query.contains("me"));
        assert!(roots.mutation.contains("signUp"));
        assert!(roots.subscription.contains("poolEvents"));
        assert!(!roots.query.contains("signUp"));
    }

    #[test]
    fn a_named_operation_is_its_name() {
        assert_eq!(
            of("query Me { me { id } }", None),
            Operation::Named("Me".into())
        );
        let two = "query A { me { id } } mutation B { signOut }";
        assert_eq!(of(two, Some("B")), Operation::Named("B".into()));
        assert_eq!(of(two, Some("A")), Operation::Named("A".into()));
    }

    #[test]
    fn an_unnamed_operation_is_its_type_and_first_root_field() {
        assert_eq!(of("{ me { id } }", None), unnamed("query", "me"));
        assert_eq!(
            of("{ alias: me { id } viewer { id } }", None),
            unnamed("query", "me")
        );
        assert_eq!(
            of(
                "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
                None
            ),
            unnamed("mutation", "signUp")
        );
        assert_eq!(
            of("{ ...F } fragment F on Query { me { id } }", None),
            unnamed("query", "me")
        );
        assert_eq!(
            of("{ ... on Query { __typename } }", None),
            unnamed("query", "__typename")
        );
    }

    #[test]
    fn what_async_graphql_would_refuse_is_invalid() {
        for (query, name) in [
            ("{ me { id ", None),
            ("", None),
            // A root field the schema lacks: the client could choose any.
            ("{ attackerChosen123 }", None),
            ("mutation { me { id } }", None),
            ("query Me { me { id } }", Some("NotInTheDocument")),
            ("{ me { id } }", Some("Named")),
            ("query A { me { id } } query B { me { id } }", None),
            // A loop of fragments ends.
            (
                "{ ...F } fragment F on Query { ...G } fragment G on Query { ...F }",
                None,
            ),
        ] {
            assert_eq!(of(query, name), Operation::Invalid, "{query}");
        }
    }

    #[test]
    fn the_outcome_is_the_first_errors_code() {
        assert_eq!(outcome_code(&Response::new(Value::Null)), "OK");
        let coded = |code: &str| {
            let mut err = async_graphql::ServerError::new("no", None);
            err.extensions
                .get_or_insert_with(Default::default)
                .set("code", code);
            err
        };
        let response = Response::from_errors(vec![coded("NOT_FOUND"), coded("FORBIDDEN")]);
        assert_eq!(outcome_code(&response), "NOT_FOUND");
    }
}
